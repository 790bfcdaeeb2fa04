"""Multi-core scaling measurement and the model check, on a tiny in-test pipeline."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pytest

from bench.capacity import scaling
from bench.workloads.model import Workload
from impls.base import BatchOutput, InProcess, Record, StagedPipeline


class _State:
    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self.decoded: list[Any] = []
        self.rows: list[bytes] = []

    def output(self) -> BatchOutput:
        return BatchOutput(streams={"events": self.rows}, outcomes={"event": len(self.rows)})


class TinyPipeline(StagedPipeline):
    """Decodes each value and re-encodes it: real CPU work, every record accounted for."""

    def new_batch(self, records: Sequence[Record]) -> _State:
        return _State(records)

    def stage_decode(self, s: _State) -> None:
        s.decoded = [json.loads(r.value) for r in s.records if r.value]

    def stage_create_event(self, s: _State) -> None:
        s.rows = [json.dumps({**d, "team_id": 2}, sort_keys=True).encode() for d in s.decoded]

    def _noop(self, s: _State) -> None:
        pass

    stage_resolve_team = stage_sanitize = stage_validate = stage_overflow = stage_normalize = _noop
    stage_persons = stage_groups = stage_heatmaps = stage_property_defs = stage_emit = stage_flush = _noop


class LosingPipeline(TinyPipeline):
    def stage_flush(self, s: _State) -> None:
        s.rows = s.rows[1:]  # loses a record: must never yield a throughput figure


def tiny_workload(events: int = 600) -> Workload:
    records = [Record(i, 1_700_000_000_000 + i, b"phc_x:user%d" % (i % 7), (),
                      json.dumps({"event": "$pageview", "distinct_id": f"user{i % 7}",
                                  "properties": {"i": i, "$current_url": "https://example.com/" + "p" * 40}}
                                 ).encode())
               for i in range(events)]
    return Workload("tiny", {"teams": [], "persons": []}, records)


TINY = InProcess("tiny", "test pipeline", TinyPipeline)
SETTINGS = {"batch_size": 100}


def test_measure_curve_shape() -> None:
    curve = scaling.measure(TINY, tiny_workload(), SETTINGS, max_partitions=2, seconds=0.3)
    assert curve["partitions"] == [1, 2]
    assert curve["efficiency"][0] == 1.0
    assert all(x > 0 for x in curve["aggregate_events_per_s"])
    assert len(curve["per_process_events_per_s"][1]) == 2
    # e(2) is aggregate(2) / (2 × aggregate(1)), whatever the machine's noise.
    assert curve["efficiency"][1] == pytest.approx(curve["aggregate_events_per_s"][1]
                                                   / (2 * curve["aggregate_events_per_s"][0]))
    assert len(curve["cpu_share"]) == 2 and all(0 < x <= 1.2 for x in curve["cpu_share"])
    json.dumps(curve)  # cacheable as JSON


def test_validate_reports_prediction_and_error() -> None:
    v = scaling.validate(TINY, tiny_workload(), SETTINGS, partitions=2, efficiency=0.8, seconds=0.3)
    assert v["predicted_events_per_s"] == pytest.approx(2 * v["mu_single_events_per_s"] * 0.8)
    assert v["linear_predicted_events_per_s"] == pytest.approx(2 * v["mu_single_events_per_s"])
    expected = (v["measured_events_per_s"] - v["predicted_events_per_s"]) / v["predicted_events_per_s"] * 100
    assert v["error_pct"] == pytest.approx(expected)
    assert math.isfinite(v["error_pct"]) and v["measured_events_per_s"] > 0


def test_an_implementation_losing_records_gets_no_figure() -> None:
    losing = InProcess("losing", "drops a record", LosingPipeline)
    with pytest.raises(RuntimeError, match="outcomes"):
        scaling.run_concurrent(losing, tiny_workload(200), SETTINGS, 2, 0.2)
