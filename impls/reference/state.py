"""The batch state the stages read and write: a plain list of per-record `EventState` objects plus
a few batch-wide lists. Each field's writer and readers are listed in docs/pipeline.md
("Batch state"), so a faster implementation can replace one stage and keep the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from impls.base import STREAMS, BatchOutput, Record


class EventState:
    """One input record on its way through the pipeline.

    `outcome` stays None while the record is live; a stage that ends its journey sets it to
    "dlq", "overflow", "drop:<reason>", "heatmap" or (create_event) "event".
    """

    __slots__ = (
        "index", "record", "outcome", "headers", "event", "uuid", "name", "distinct_id", "token",
        "properties", "now_ms", "team", "timestamp_ms", "person_processing", "force_overflow",
        "skip_person", "person_id", "person_properties", "person_created_at_ms", "person_mode",
        "row", "heatmap_rows", "warnings", "dlq", "overflow",
    )

    def __init__(self, index: int, record: Record) -> None:
        self.index = index
        self.record = record
        self.outcome: str | None = None
        self.headers: dict[str, str] = {}
        self.event: dict[str, Any] = {}          # merged {...data, ...outer}, without data/token
        self.uuid = ""
        self.name = ""
        self.distinct_id = ""
        self.token: str | None = None
        self.properties: dict[str, Any] = {}
        self.now_ms = 0
        self.team: dict[str, Any] | None = None
        self.timestamp_ms: int | None = None
        self.person_processing = True
        self.force_overflow = False
        self.skip_person = False
        self.person_id = ""
        self.person_properties: dict[str, Any] | None = None
        self.person_created_at_ms = 0
        self.person_mode = "full"
        self.row: dict[str, Any] | None = None
        self.heatmap_rows: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.dlq: dict[str, Any] | None = None
        self.overflow: dict[str, Any] | None = None


class Batch:
    """State of one batch. `events` is in input order; stages skip records whose outcome is set."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self.events = [EventState(i, r) for i, r in enumerate(records)]
        self.property_defs: list[dict[str, Any]] = []    # property_defs -> emit
        self.touched_persons: list[Any] = []             # persons -> flush (first-touch order)
        self.touched_distinct_ids: list[tuple[int, str]] = []
        self.touched_groups: list[tuple[int, int, str]] = []
        self.streams: dict[str, list[bytes]] = {name: [] for name in STREAMS}

    def live(self) -> list[EventState]:
        return [ev for ev in self.events if ev.outcome is None]

    def output(self) -> BatchOutput:
        outcomes = Counter(ev.outcome or "unaccounted" for ev in self.events)
        return BatchOutput(streams=self.streams, outcomes=dict(outcomes))
