"""Stage breakdown from separate instrumented passes."""

from __future__ import annotations

import pytest

from bench.runner.stages import breakdown, measure_stage_seconds
from bench.runner.target import Target, slice_batches
from impls.base import STAGES
from tests.test_runner_support import TINY, tiny_workload


def _target(events=120, batch=25):
    workload = tiny_workload(events)
    return Target(TINY, workload.context({}), slice_batches(workload.records, batch), events)


def test_stage_seconds_cover_every_stage_and_sum_to_about_the_pass():
    import time

    target = _target()
    t0 = time.perf_counter()
    seconds = measure_stage_seconds(target, passes=1)
    elapsed = time.perf_counter() - t0
    assert list(seconds) == list(STAGES)
    assert all(s >= 0 for s in seconds.values())
    assert 0 < sum(seconds.values()) <= elapsed  # the stages are inside the pass, nothing counted twice


def test_uninstrumented_session_reports_nothing():
    target = _target()
    session = target.impl.start(target.context)
    session.process_batch(target.batches[0])
    assert session.stage_seconds() == {}


def test_breakdown_shares_sum_to_one_in_pipeline_order():
    result = breakdown({"emit": 1.0, "decode": 3.0, "custom_step": 0.0})
    assert list(result) == ["decode", "emit", "custom_step"]
    assert sum(v["share"] for v in result.values()) == pytest.approx(1.0)
    assert result["decode"] == {"seconds": 3.0, "share": 0.75}
    assert breakdown({}) is None


def test_stages_are_measured_apart_from_headline_passes():
    """A headline pass starts an uninstrumented session: the stage timers never run in it."""
    target = _target()
    starts = []
    real_start = target.impl.start

    class Spy:
        name, kind, runtime = "spy", "realistic", "in-process"

        def unavailable_reason(self):
            return None

        def start(self, context, *, instrument=False):
            starts.append(instrument)
            return real_start(context, instrument=instrument)

    target.impl = Spy()
    target.time_loops(2)
    measure_stage_seconds(target, passes=1)
    assert starts == [False, False, True]


def test_slice_batches():
    assert [len(b) for b in slice_batches(list(range(7)), 3)] == [3, 3, 1]
