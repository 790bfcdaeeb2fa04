"""The implementation's own stage timers: a separate instrumented run (instrument=True), so the
sampled run carries no timing code and the timer run no sampler."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.profiling.passes import run_pass
from impls.base import STAGES, Implementation, PartitionContext, Record


@dataclass
class TimerRun:
    stage_seconds: dict[str, float]  # summed over the measured passes
    passes: int

    def shares(self) -> dict[str, float]:
        """Share of the summed stage time per stage, in pipeline order (zero stages left out)."""
        total = sum(self.stage_seconds.values())
        if total <= 0:
            return {}
        return {s: self.stage_seconds[s] / total for s in STAGES if self.stage_seconds.get(s, 0.0) > 0}


def run_timers(
    impl: Implementation,
    context: PartitionContext,
    batch_list: Sequence[Sequence[Record]],
    *,
    seconds: float | None = None,
    loops: int | None = None,
) -> TimerRun:
    """One warm-up pass, then whole passes for `loops` passes or until `seconds` have passed."""
    if (seconds is None) == (loops is None):
        raise ValueError("give exactly one of seconds and loops")
    run_pass(impl, context, batch_list, instrument=True)  # warm-up, discarded
    totals: dict[str, float] = {}  # stays empty if the implementation has no stage timers
    passes = 0
    deadline = time.perf_counter() + (seconds or 0.0)
    while True:
        for stage, value in run_pass(impl, context, batch_list, instrument=True).items():
            totals[stage] = totals.get(stage, 0.0) + value
        passes += 1
        done = passes >= loops if loops is not None else time.perf_counter() >= deadline
        if done:
            return TimerRun(stage_seconds=totals, passes=passes)
