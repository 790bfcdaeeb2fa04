"""Test-only implementations and workloads for the harness tests (no tests in this module).

`TinyPipeline` is a StagedPipeline that does a little real work per stage (decode the JSON value,
count, re-encode), so timings are non-zero and stage timers have something to measure.
Importable by the pyperf workers as `tests.test_runner_support:TINY`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from bench.workloads import format as workload_format
from bench.workloads.model import Workload
from impls.base import STAGES, BatchOutput, InProcess, Record, Session, StagedPipeline


class _State:
    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self.decoded: list[dict] = []
        self.out: list[bytes] = []

    def output(self) -> BatchOutput:
        return BatchOutput(streams={"events": self.out}, outcomes={"event": len(self.records)})


class TinyPipeline(StagedPipeline):
    def new_batch(self, records: Sequence[Record]) -> _State:
        return _State(records)

    def stage_decode(self, state: _State) -> None:
        state.decoded = [json.loads(r.value) for r in state.records]

    def stage_emit(self, state: _State) -> None:
        state.out = [json.dumps(d, sort_keys=True).encode() for d in state.decoded]


def _noop(self: TinyPipeline, state: _State) -> None:
    sum(len(d) for d in state.decoded)


for _name in STAGES:
    if not hasattr(TinyPipeline, "stage_" + _name):
        setattr(TinyPipeline, "stage_" + _name, _noop)

TINY = InProcess(name="tiny", description="test-only pipeline", pipeline=TinyPipeline)
TINY2 = InProcess(name="tiny2", description="second test-only pipeline", pipeline=TinyPipeline)
MISSING = InProcess(name="missing", description="never built", pipeline=None, missing="extension not built (test)")


class _SelfTimedSession:
    """Pretends to be an out-of-process implementation: reports its own (smaller) processing time."""

    def __init__(self, pipeline: TinyPipeline) -> None:
        self._pipeline = pipeline

    def process_batch(self, batch: Sequence[Record]) -> BatchOutput:
        import time

        t0 = time.perf_counter()
        out = self._pipeline.process_batch(batch)
        out.processing_seconds = (time.perf_counter() - t0) * 0.5
        return out

    def stage_seconds(self) -> dict[str, float]:
        return self._pipeline.stage_seconds()

    def close(self) -> None:
        pass


class SelfTimed:
    name = "selftimed"
    description = "test-only self-timed implementation"
    kind = "stripped"
    runtime = "subprocess"

    def unavailable_reason(self) -> str | None:
        return None

    def start(self, context, *, instrument: bool = False) -> Session:
        return _SelfTimedSession(TinyPipeline(context, instrument=instrument))


SELF_TIMED = SelfTimed()


def tiny_workload(events: int = 60, name: str = "tinyload") -> Workload:
    records = [
        Record(offset=i, timestamp_ms=1_700_000_000_000 + i, key=b"phc_x:user%d" % (i % 7), headers=(("token", b"phc_x"),),
               value=json.dumps({"event": "$pageview", "distinct_id": f"user{i % 7}", "i": i,
                                 "properties": {"a": i, "b": "x" * (i % 13)}}).encode())
        for i in range(events)
    ]
    header = {"name": name, "origin": {"kind": "generated", "profile": name, "events": events, "seed": 1},
              "teams": [], "persons": [], "groups": [], "restrictions": []}
    return Workload(name=name, header=header, records=records)


def save_tiny_workload(folder: Path, events: int = 60, name: str = "tinyload") -> Path:
    path = folder / f"{name}.pbw"
    workload_format.save(tiny_workload(events, name), path)
    return path
