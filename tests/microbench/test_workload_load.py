"""How fast workload files load (the "≥ 500k records/s" aim in docs/workloads.md).

Run: .venv/bin/pytest -m microbench tests/microbench/test_workload_load.py --benchmark-only
Each benchmark first checks that what it times is right (the records equal the generated ones).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.workloads import format as fmt
from bench.workloads import generator

pytestmark = pytest.mark.microbench

EVENTS = 20_000


@pytest.fixture(scope="module", params=["general", "hot-key"])
def workload_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    workload = generator.generate(request.param, EVENTS, 1)
    path = tmp_path_factory.mktemp("bench") / f"{request.param}.pbw"
    fmt.save(workload, path)
    return request.param, path, workload


def _report(benchmark, path: Path, records: int, raw_bytes: int) -> None:
    mean = benchmark.stats.stats.mean
    benchmark.extra_info.update({
        "records": records, "records_per_s": round(records / mean),
        "raw_mb_per_s": round(raw_bytes / mean / 1e6, 1), "file_mb": round(path.stat().st_size / 1e6, 2),
        "raw_bytes_per_record": round(raw_bytes / records),
    })


def test_load(benchmark, workload_file) -> None:
    profile, path, expected = workload_file
    assert fmt.load(path).records == expected.records  # verify before timing
    result = benchmark.pedantic(fmt.load, args=(path,), rounds=7, iterations=1, warmup_rounds=1)
    assert len(result.records) == EVENTS
    _report(benchmark, path, EVENTS, sum(len(r.value or b"") + len(r.key or b"") for r in expected.records))


def test_load_one_thread(benchmark, workload_file) -> None:
    profile, path, expected = workload_file
    result = benchmark.pedantic(fmt.load, args=(path,), kwargs={"threads": 1}, rounds=7, iterations=1,
                                warmup_rounds=1)
    assert result.records == expected.records
    _report(benchmark, path, EVENTS, sum(len(r.value or b"") + len(r.key or b"") for r in expected.records))


def test_stream(benchmark, workload_file) -> None:
    profile, path, expected = workload_file

    def count() -> int:
        return sum(len(block) for block in fmt.iter_record_blocks(path))

    assert benchmark.pedantic(count, rounds=7, iterations=1, warmup_rounds=1) == EVENTS
    _report(benchmark, path, EVENTS, sum(len(r.value or b"") + len(r.key or b"") for r in expected.records))
