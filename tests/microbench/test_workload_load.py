"""How fast workload files load (the "≥ 500k records/s" aim in docs/workloads.md).

Run: .venv/bin/pytest -m microbench tests/microbench/test_workload_load.py --benchmark-only
Each benchmark first checks that what it times is right (the records equal the generated ones).
Under plain `pytest` (make test) each body runs once, untimed, on a small workload: the
`stage_benchmark` fixture (conftest.py) disables timing unless --benchmark-only or
--benchmark-enable was given.
Besides wall-clock time (what the aim is about), each reports in `extra_info` the process CPU time
per round (every thread, user + system), which a shared machine disturbs much less: on a busy
machine the wall-clock rate can be half the CPU-time one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.workloads import format as fmt
from bench.workloads import generator
from tests.microbench.conftest import benchmarking

pytestmark = pytest.mark.microbench

EVENTS = 20_000
SMOKE_EVENTS = 300  # plain `pytest`: one untimed pass over a small file
ROUNDS = 9


@pytest.fixture(scope="module", params=["general", "hot-key"])
def workload_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    events = EVENTS if benchmarking(request.config) else SMOKE_EVENTS
    workload = generator.generate(request.param, events, 1)
    path = tmp_path_factory.mktemp("bench") / f"{request.param}.pbw"
    fmt.save(workload, path)
    return request.param, path, workload


def _run(benchmark, fn: Callable[[], Any]) -> Any:
    """Time `fn` (ROUNDS rounds after a warm-up), recording each round's process CPU time."""
    cpu: list[float] = []

    def timed() -> Any:
        start = time.process_time()
        try:
            return fn()
        finally:
            cpu.append(time.process_time() - start)

    result = benchmark.pedantic(timed, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    benchmark.extra_info["cpu_s"] = cpu[1:]  # without the warm-up round
    return result


def _report(benchmark, path: Path, expected) -> None:
    if benchmark.disabled:  # plain pytest: one untimed call, nothing to report
        return
    records = len(expected.records)
    raw_bytes = sum(len(r.value or b"") + len(r.key or b"") for r in expected.records)
    stats = benchmark.stats.stats
    cpu = benchmark.extra_info.pop("cpu_s")
    benchmark.extra_info.update({
        "records": records,
        "records_per_s_median": round(records / stats.median), "records_per_s_best": round(records / stats.min),
        "records_per_cpu_s_median": round(records / statistics.median(cpu)),
        "raw_mb_per_s_median": round(raw_bytes / stats.median / 1e6, 1),
        "file_mb": round(path.stat().st_size / 1e6, 2), "raw_bytes_per_record": round(raw_bytes / records),
    })


def test_load(stage_benchmark, workload_file) -> None:
    benchmark = stage_benchmark
    profile, path, expected = workload_file
    assert fmt.load(path).records == expected.records  # verify before timing
    result = _run(benchmark, lambda: fmt.load(path))
    assert len(result.records) == len(expected.records)
    _report(benchmark, path, expected)


def test_load_one_thread(stage_benchmark, workload_file) -> None:
    benchmark = stage_benchmark
    profile, path, expected = workload_file
    result = _run(benchmark, lambda: fmt.load(path, threads=1))
    assert result.records == expected.records
    _report(benchmark, path, expected)


def test_stream(stage_benchmark, workload_file) -> None:
    benchmark = stage_benchmark
    profile, path, expected = workload_file

    def count() -> int:
        return sum(len(block) for block in fmt.iter_record_blocks(path))

    assert _run(benchmark, count) == len(expected.records)
    _report(benchmark, path, expected)
