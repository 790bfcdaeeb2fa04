"""The Rust prototype reproduces the reference record for record on every generated profile,
`hostile` included, across several batches (state carried between them), and reports a time for
every stage when instrumented. Needs `make rust`."""

from __future__ import annotations

import pytest

from bench.verification.compare import verify
from bench.verification.process import run
from bench.workloads import generator
from impls import registry
from impls.base import STAGES

pytestmark = [pytest.mark.rust, pytest.mark.slow]


@pytest.fixture(scope="module")
def rust_available() -> None:
    reason = registry.get("rust").unavailable_reason()
    if reason is not None:
        pytest.fail(f"rust unavailable: {reason}")


@pytest.mark.parametrize("profile", list(generator.PROFILES))
def test_rust_matches_reference(profile: str, rust_available: None) -> None:
    workload = generator.generate(profile, 800, 11)
    result = verify("rust", workload, batch_size=150)  # several batches: stores and buckets persist
    assert result.status == "passed", result.detail
    assert sum(result.outcomes.values()) == 800


@pytest.mark.parametrize("batch_size", [1, 5])
def test_rust_matches_reference_across_block_boundaries(batch_size: int, rust_available: None) -> None:
    """The child takes records through the stages four at a time: batches of one record, and of
    one block plus one, give the reference's outputs too."""
    workload = generator.generate("general", 60, 13)
    result = verify("rust", workload, batch_size=batch_size)
    assert result.status == "passed", result.detail


def test_rust_is_byte_identical_on_hostile(rust_available: None) -> None:
    """Stronger than the canonical check: the same bytes, so digests and float spelling agree."""
    workload = generator.generate("hostile", 600, 5)
    ref = run(registry.get("reference"), workload, batch_size=200)
    got = run(registry.get("rust"), workload, batch_size=200)
    assert got.outcomes == ref.outcomes
    for stream, rows in ref.streams.items():
        assert got.streams[stream] == rows, stream


def test_rust_stage_timers(rust_available: None) -> None:
    workload = generator.generate("general", 300, 3)
    session = registry.get("rust").start(workload.context({"batch_size": 300}), instrument=True)
    try:
        out = session.process_batch(workload.records)
        stages = session.stage_seconds()
    finally:
        session.close()
    assert set(stages) == set(STAGES)
    assert all(seconds > 0 for seconds in stages.values()), stages
    assert out.processing_seconds is not None
    assert sum(stages.values()) <= out.processing_seconds * 1.01
