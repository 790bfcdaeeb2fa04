"""The one small interface between the harness and an implementation.

An implementation knows nothing of the harness. It gets a partition's context (team table,
person snapshot, stage settings) once, then batches of raw Kafka records, and returns each
batch's outputs already serialized (the emit stage is part of the work being measured).

In-process implementations are usually a `StagedPipeline` subclass: a fixed sequence of
batch-wide stages (`STAGES`), each a method named `stage_<name>` so that profiles and stage
timers can name it. A faster implementation overrides only the stages it replaces and inherits
the rest; an out-of-process one (the Rust bridge) implements `Session` directly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

# The pipeline's stages, in order. Every implementation reports stage times under these names.
STAGES: tuple[str, ...] = (
    "decode",         # headers, outer JSON, inner `data`, merge, UUID validation
    "resolve_team",   # token -> team; unknown/missing token dropped
    "sanitize",       # NUL in distinct_id, $set/$set_once merge, $ip, $sent_at, $session_id
    "validate",       # restrictions, old events, oversized $group_key
    "overflow",       # per-key token bucket on message time
    "normalize",      # person-processing flag, $set/$set_once initial+UTM, timestamp
    "persons",        # identify / alias / merge, property updates, personless
    "groups",         # $groups -> $group_N, $groupidentify upserts
    "heatmaps",       # $heatmap_data -> heatmap rows
    "create_event",   # the ClickHouse event row
    "property_defs",  # property definitions with type detection, per-batch dedup
    "emit",           # serialize every output record
    "flush",          # person and distinct-id rows for the batch
)

# Output streams of a batch (each a list of JSON-serialized records, UTF-8 bytes).
STREAMS: tuple[str, ...] = (
    "events",               # clickhouse_events_json
    "ai_events",            # $ai_* events also go to the AI lane
    "persons",              # clickhouse_person
    "distinct_ids",         # clickhouse_person_distinct_id
    "groups",               # group upserts
    "property_definitions",
    "heatmaps",             # clickhouse_heatmap_events
    "ingestion_warnings",   # clickhouse_ingestion_warnings
    "overflow",             # events_plugin_ingestion_overflow
    "dlq",                  # events_plugin_ingestion_dlq
)


class Record(NamedTuple):
    """One Kafka record of the ingestion topic, exactly as it was on the partition."""

    offset: int
    timestamp_ms: int
    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    value: bytes | None


@dataclass(frozen=True)
class PartitionContext:
    """What a consumer knows before the first batch (see docs/workloads.md for the dict shapes)."""

    teams: Sequence[dict[str, Any]]              # team table
    persons: Sequence[dict[str, Any]]            # initial person snapshot
    groups: Sequence[dict[str, Any]] = ()        # initial group snapshot
    restrictions: Sequence[dict[str, Any]] = ()  # token/distinct-id restrictions
    settings: dict[str, Any] = field(default_factory=dict)  # stage settings (batch size, overflow bucket…)
    topic: str = "events_plugin_ingestion"
    partition: int = 0


@dataclass
class BatchOutput:
    """One batch's outputs.

    `outcomes` counts what became of each input record: "event", "heatmap", "overflow",
    "dlq" or "drop:<reason>"; its total must equal the batch size (every record accounted
    for exactly once). `processing_seconds` is set only by implementations that time
    themselves (out-of-process ones); the harness times in-process ones.
    """

    streams: dict[str, Sequence[bytes]]  # a list, or the bridge's PackedRows
    outcomes: dict[str, int]
    processing_seconds: float | None = None


class Session(Protocol):
    def process_batch(self, batch: Sequence[Record]) -> BatchOutput: ...

    def stage_seconds(self) -> dict[str, float]:
        """Cumulative seconds per stage since start (empty unless started with instrument=True)."""
        ...

    def close(self) -> None: ...


class Implementation(Protocol):
    name: str
    description: str
    kind: Literal["realistic", "stripped"]
    runtime: Literal["in-process", "subprocess"]

    def unavailable_reason(self) -> str | None:
        """None when it can run here, else one line saying why not (e.g. extension not built)."""
        ...

    def start(self, context: PartitionContext, *, instrument: bool = False) -> Session: ...


class StagedPipeline:
    """A batch pipeline as a sequence of `stage_<name>(batch)` methods over a mutable batch state.

    Subclasses define `new_batch(records)` (the per-batch state object, which must end with
    `.output()` returning a BatchOutput) and the stage methods. With `instrument=True` each stage
    is timed; otherwise the loop carries no timing code at all.
    """

    def __init__(self, context: PartitionContext, *, instrument: bool = False) -> None:
        self.context = context
        self._stage_methods = [(name, getattr(self, "stage_" + name)) for name in STAGES]
        self._instrument = instrument
        self._stage_totals = dict.fromkeys(STAGES, 0.0)

    def new_batch(self, records: Sequence[Record]) -> Any:
        raise NotImplementedError

    def process_batch(self, batch: Sequence[Record]) -> BatchOutput:
        state = self.new_batch(batch)
        if not self._instrument:
            for _, method in self._stage_methods:
                method(state)
            return state.output()
        clock = time.perf_counter
        totals = self._stage_totals
        for name, method in self._stage_methods:
            t0 = clock()
            method(state)
            totals[name] += clock() - t0
        return state.output()

    def stage_seconds(self) -> dict[str, float]:
        return dict(self._stage_totals) if self._instrument else {}

    def close(self) -> None:
        pass


@dataclass
class InProcess:
    """Registry entry for an in-process implementation built from a StagedPipeline subclass."""

    name: str
    description: str
    pipeline: type[StagedPipeline] | None
    kind: Literal["realistic", "stripped"] = "realistic"
    runtime: Literal["in-process", "subprocess"] = "in-process"
    missing: str | None = None  # set when the pipeline could not be imported/built

    def unavailable_reason(self) -> str | None:
        return self.missing

    def start(self, context: PartitionContext, *, instrument: bool = False) -> Session:
        if self.pipeline is None:
            raise RuntimeError(f"{self.name}: {self.missing}")
        return self.pipeline(context, instrument=instrument)
