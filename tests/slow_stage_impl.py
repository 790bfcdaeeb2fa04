"""Test-only implementations for the profiler's tests (not in the registry).

`IMPLEMENTATION` is a StagedPipeline whose `groups` stage burns CPU (a busy loop: py-spy skips
idle threads, and a sleeping stage would look idle) so that it must come out as the bottleneck;
every other stage does a little real work on the records. Variants exercise the timers-only
paths (opaque to sampling, out-of-process) and an unavailable implementation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bench.workloads.model import Workload
from impls.base import BatchOutput, InProcess, Record, StagedPipeline

BURN_PER_RECORD = 3000  # loop iterations per record in the slowed stage (light stages do ~1 json op)


@dataclass
class _Batch:
    records: Sequence[Record]
    decoded: list | None = None
    touched: int = 0

    def output(self) -> BatchOutput:
        events = [json.dumps(d).encode() for d in self.decoded or []]
        return BatchOutput(streams={"events": events}, outcomes={"event": len(self.records)})


def _light(state: _Batch) -> None:
    state.touched += sum(len(d) for d in state.decoded or ())


class SlowGroupsPipeline(StagedPipeline):
    def new_batch(self, records: Sequence[Record]) -> _Batch:
        return _Batch(records)

    def stage_decode(self, state: _Batch) -> None:
        state.decoded = [json.loads(r.value) for r in state.records]

    def stage_groups(self, state: _Batch) -> None:
        total = 0
        for _ in state.records:
            for i in range(BURN_PER_RECORD):
                total += i * i
        state.touched += total & 1


    # every other stage: light work (real methods, so py-spy sees each stage_<name> frame)
    def stage_resolve_team(self, state: _Batch) -> None: _light(state)
    def stage_sanitize(self, state: _Batch) -> None: _light(state)
    def stage_validate(self, state: _Batch) -> None: _light(state)
    def stage_overflow(self, state: _Batch) -> None: _light(state)
    def stage_normalize(self, state: _Batch) -> None: _light(state)
    def stage_persons(self, state: _Batch) -> None: _light(state)
    def stage_heatmaps(self, state: _Batch) -> None: _light(state)
    def stage_create_event(self, state: _Batch) -> None: _light(state)
    def stage_property_defs(self, state: _Batch) -> None: _light(state)
    def stage_emit(self, state: _Batch) -> None: _light(state)
    def stage_flush(self, state: _Batch) -> None: _light(state)


IMPLEMENTATION = InProcess(
    name="slow-groups", description="test only: groups stage deliberately slowed", pipeline=SlowGroupsPipeline,
    kind="stripped",
)

OPAQUE = InProcess(name="slow-groups-opaque", description="test only: declares opaque stages",
                   pipeline=SlowGroupsPipeline, kind="stripped")
OPAQUE.opaque_to_sampling = True  # type: ignore[attr-defined]

OUT_OF_PROCESS = InProcess(name="slow-groups-child", description="test only: claims to be a subprocess",
                           pipeline=SlowGroupsPipeline, kind="stripped", runtime="subprocess")

UNAVAILABLE = InProcess(name="never-built", description="test only", pipeline=None, missing="extension not built")


class _NoTimers(SlowGroupsPipeline):
    def stage_seconds(self) -> dict[str, float]:
        return {}


NO_TIMERS = InProcess(name="no-timers", description="test only: reports no stage timers", pipeline=_NoTimers,
                      kind="stripped")


class _Miscounting(SlowGroupsPipeline):
    def new_batch(self, records: Sequence[Record]) -> _Batch:
        return _Batch(records[1:])  # loses a record: outcomes no longer add up


MISCOUNTING = InProcess(name="miscounting", description="test only: breaks the outcome contract",
                        pipeline=_Miscounting, kind="stripped")


def workload(events: int = 400) -> Workload:
    """Tiny hand-built records (the workload generator is another subsystem's)."""
    records = [
        Record(offset=i, timestamp_ms=1_790_000_000_000 + i, key=f"d{i % 7}".encode(), headers=(),
               value=json.dumps({"event": "$pageview", "distinct_id": f"d{i % 7}", "i": i}).encode())
        for i in range(events)
    ]
    return Workload(name="tiny", header={"teams": [], "persons": []}, records=records)
