"""Per-stage micro-benchmarks (docs/implementations.md, "Micro-benchmarks").

`make microbench` runs them for real (`--benchmark-only`). Under plain `pytest` (make test) each
benchmark body runs once, untimed, as a smoke test: `stage_benchmark` (used by every benchmark in
this folder, test_workload_load.py included) disables the benchmark fixture unless
--benchmark-only or --benchmark-enable was given.

The fixed batch: the general profile, 500 events, seed 11, the first batch of a fresh session.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from bench.workloads import generator
from bench.workloads.model import Workload
from impls import registry
from impls.base import STAGES

BATCH_EVENTS = 500
SEED = 11
ROUNDS = int(os.environ.get("PARTBENCH_MICROBENCH_ROUNDS", "7"))
IMPLS = ("reference", "msgspec", "cython-compiled", "cython", "numba", "combined")


SMOKE_EVENTS = 40  # plain `pytest`: prove the benchmarks still run, quickly


def benchmarking(config: pytest.Config) -> bool:
    return bool(config.getoption("benchmark_only") or config.getoption("benchmark_enable"))


@pytest.fixture(scope="session")
def fixed_workload(request) -> Workload:
    return generator.generate("general", BATCH_EVENTS if benchmarking(request.config) else SMOKE_EVENTS, SEED)


@pytest.fixture
def stage_benchmark(benchmark, request):
    """The pytest-benchmark fixture, disabled (one plain call) unless benchmarking was asked for."""
    if not benchmarking(request.config):
        benchmark.disabled = True
    return benchmark


def prepared(impl_name: str, workload: Workload, stage: str) -> Callable[[], tuple[tuple[Any, ...], dict]]:
    """A pytest-benchmark `setup`: a fresh session and batch state with every stage before `stage`
    already run, so that only `stage` is timed and every round sees identical state."""
    impl = registry.get(impl_name)
    reason = impl.unavailable_reason()
    if reason is not None:
        pytest.fail(f"{impl_name} is unavailable: {reason}", pytrace=False)
    earlier = STAGES[:STAGES.index(stage)]

    def setup() -> tuple[tuple[Any, ...], dict]:
        session = impl.start(workload.context({"batch_size": len(workload.records)}))
        state = session.new_batch(workload.records)
        for name in earlier:
            getattr(session, "stage_" + name)(state)
        return (getattr(session, "stage_" + stage), state), {}

    return setup
