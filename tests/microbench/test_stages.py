"""Each stage of each in-process implementation on the fixed batch, grouped by stage.

    make microbench                                   # everything
    make microbench PYTEST_ARGS="-k property_defs"    # one stage, every implementation
    make microbench PYTEST_ARGS="--benchmark-save=base"   then   "--benchmark-compare=0001"
"""

from __future__ import annotations

import pytest

from impls.base import STAGES
from tests.microbench.conftest import IMPLS, ROUNDS, prepared

pytestmark = pytest.mark.microbench


def _call(method, state) -> None:
    method(state)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("stage", STAGES)
def test_stage(stage_benchmark, fixed_workload, stage: str, impl: str) -> None:
    stage_benchmark.group = f"stage {stage}"
    stage_benchmark.name = f"{stage}[{impl}]"
    stage_benchmark.pedantic(_call, setup=prepared(impl, fixed_workload, stage), rounds=ROUNDS, warmup_rounds=1)


@pytest.mark.parametrize("impl", IMPLS)
def test_whole_batch(stage_benchmark, fixed_workload, impl: str) -> None:
    """All stages together, for comparison with the sum of the stage groups."""
    stage_benchmark.group = "whole batch"
    setup = prepared(impl, fixed_workload, STAGES[0])

    def batch_setup():
        (method, state), _ = setup()
        return (method.__self__, state), {}

    def run(session, state) -> None:
        for name in STAGES:
            getattr(session, "stage_" + name)(state)

    stage_benchmark.pedantic(run, setup=batch_setup, rounds=ROUNDS, warmup_rounds=1)
