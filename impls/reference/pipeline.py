"""ReferencePipeline: the pure-Python oracle, one `stage_<name>` method per pipeline stage.

Every stage loops over `batch.events` (input order) and skips records whose outcome is already
set. Per-stage contracts (what each reads and writes) are in docs/pipeline.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from impls.base import PartitionContext, Record, StagedPipeline
from impls.reference import jsonrules
from impls.reference.decode import decode_record, dlq
from impls.reference.elements import elements_chain
from impls.reference.groups import InMemoryGroupStore, add_group_properties, upsert_group
from impls.reference.heatmaps import extract_heatmaps
from impls.reference.normalize import normalize_event
from impls.reference.overflow import settings_buckets
from impls.reference.persons import InMemoryPersonStore, PersonStore, PersonTouches, process_person
from impls.reference.properties import collect_definitions, sorted_definitions
from impls.reference.rows import (
    distinct_id_row,
    event_row,
    group_row,
    overflow_record,
    person_row,
    warning_row,
)
from impls.reference.sanitize import sanitize_event
from impls.reference.state import Batch
from impls.reference.validate import Restrictions, validate_event

DLQ_TOPIC = "events_plugin_ingestion_dlq"


class ReferencePipeline(StagedPipeline):
    """The reference pipeline. State kept across batches: person store, group store, overflow buckets."""

    def __init__(self, context: PartitionContext, *, instrument: bool = False,
                 person_store: PersonStore | None = None) -> None:
        super().__init__(context, instrument=instrument)
        self.teams_by_token = {team["api_token"]: team for team in context.teams}
        self.restrictions = Restrictions(context.restrictions)
        self.persons: PersonStore = person_store or InMemoryPersonStore(context.persons)
        self.groups = InMemoryGroupStore(context.groups)
        self.buckets = settings_buckets(context.settings)

    def new_batch(self, records: Sequence[Record]) -> Batch:
        return Batch(records)

    # What create_event, emit and flush build and serialize rows with: a faster implementation
    # may swap any of these (and `encode`) and inherit the stage loops below.
    elements_chain = staticmethod(elements_chain)
    event_row = staticmethod(event_row)
    warning_row = staticmethod(warning_row)
    person_row = staticmethod(person_row)
    group_row = staticmethod(group_row)

    def encode(self, record: dict[str, Any]) -> bytes:
        return jsonrules.dumps_bytes(record)

    def stage_decode(self, batch: Batch) -> None:
        topic, partition = self.context.topic, self.context.partition
        for ev in batch.events:
            decode_record(ev, topic, partition)

    def stage_resolve_team(self, batch: Batch) -> None:
        teams = self.teams_by_token
        for ev in batch.events:
            if ev.outcome is not None:
                continue
            if ev.token is None:
                ev.outcome = "drop:missing_token"
                continue
            team = teams.get(ev.token)
            if team is None:
                ev.outcome = "drop:unknown_token"
            else:
                ev.team = team

    def stage_sanitize(self, batch: Batch) -> None:
        for ev in batch.events:
            if ev.outcome is None:
                sanitize_event(ev)

    def stage_validate(self, batch: Batch) -> None:
        for ev in batch.events:
            if ev.outcome is None and validate_event(ev, self.restrictions) == "dlq":
                dlq(ev, "restricted", "validate", self.context.topic, self.context.partition)

    def stage_overflow(self, batch: Batch) -> None:
        buckets = self.buckets
        for ev in batch.events:
            if ev.outcome is not None:
                continue
            if ev.force_overflow:
                reason = "forced"
            elif buckets is not None and not buckets.take(f"{ev.token}:{ev.distinct_id}", ev.now_ms):
                reason = "rate_limited"
            else:
                continue
            ev.outcome = "overflow"
            ev.overflow = overflow_record(ev, reason)

    def stage_normalize(self, batch: Batch) -> None:
        for ev in batch.events:
            if ev.outcome is None:
                normalize_event(ev)

    def stage_persons(self, batch: Batch) -> None:
        touches = PersonTouches()
        for ev in batch.events:
            if ev.outcome is None and ev.name != "$$heatmap":
                process_person(ev, self.persons, touches)
        batch.touched_persons = list(touches.persons.values())
        batch.touched_distinct_ids = list(touches.distinct_ids)

    def stage_groups(self, batch: Batch) -> None:
        touched: dict[tuple[int, int, str], None] = {}
        for ev in batch.events:
            if ev.outcome is not None or ev.name == "$$heatmap":
                continue
            add_group_properties(ev)
            if ev.name == "$groupidentify":
                upsert_group(ev, self.groups, touched)
        batch.touched_groups = list(touched)

    def stage_heatmaps(self, batch: Batch) -> None:
        for ev in batch.events:
            if ev.outcome is None:
                extract_heatmaps(ev)
                if ev.name == "$$heatmap":
                    ev.outcome = "heatmap"

    def stage_create_event(self, batch: Batch) -> None:
        chain_of, make_row = self.elements_chain, self.event_row
        for ev in batch.events:
            if ev.outcome is not None:
                continue
            chain = chain_of(ev.properties)
            if ev.team.get("anonymize_ips"):  # type: ignore[union-attr]
                ev.properties.pop("$ip", None)
            ev.row = make_row(ev, chain)
            ev.outcome = "event"

    def stage_property_defs(self, batch: Batch) -> None:
        seen: dict[tuple[int, str, int, str], dict[str, Any]] = {}
        for ev in batch.events:
            if ev.outcome == "event":
                collect_definitions(ev, seen)
        batch.property_defs = sorted_definitions(seen)

    def stage_emit(self, batch: Batch) -> None:
        encode, warning_row = self.encode, self.warning_row
        streams = batch.streams
        events, ai_events = streams["events"], streams["ai_events"]
        heatmaps, warnings = streams["heatmaps"], streams["ingestion_warnings"]
        for ev in batch.events:
            if ev.row is not None:
                data = encode(ev.row)
                events.append(data)
                if ev.name.startswith("$ai_"):
                    ai_events.append(data)
            for row in ev.heatmap_rows:
                heatmaps.append(encode(row))
            for warning in ev.warnings:
                warnings.append(encode(warning_row(ev, warning)))
            if ev.overflow is not None:
                streams["overflow"].append(encode(ev.overflow))
            if ev.dlq is not None:
                streams["dlq"].append(encode(ev.dlq))
        streams["property_definitions"].extend(encode(row) for row in batch.property_defs)

    def stage_flush(self, batch: Batch) -> None:
        encode, person_row, group_row = self.encode, self.person_row, self.group_row
        streams = batch.streams
        streams["persons"].extend(encode(person_row(p)) for p in batch.touched_persons)
        for team_id, distinct_id in batch.touched_distinct_ids:
            person = self.persons.get(team_id, distinct_id)
            if person is not None:
                version = self.persons.distinct_id_version(team_id, distinct_id)
                streams["distinct_ids"].append(encode(distinct_id_row(team_id, distinct_id, person, version)))
        for key in batch.touched_groups:
            group = self.groups.get(key)
            if group is not None:
                streams["groups"].append(encode(group_row(group)))
