"""MsgspecStages: the stages msgspec speeds up (decode, create_event's JSON-text fields, emit,
flush). A mixin, so that `combined` can put them over the Cython stages; `MsgspecPipeline` puts
them over the pure-Python reference, which supplies every other stage."""

from __future__ import annotations

from typing import Any

from impls.msgspec_impl import rows
from impls.msgspec_impl.decode import decode_batch
from impls.msgspec_impl.encode import dumps_bytes
from impls.reference import ReferencePipeline
from impls.reference.elements import elements_chain
from impls.reference.rows import distinct_id_row
from impls.reference.state import Batch


class MsgspecStages:
    """Stage overrides; the class they are mixed into provides the rest of ReferencePipeline."""

    context: Any
    persons: Any
    groups: Any

    def encode(self, record: dict[str, Any]) -> bytes:
        return dumps_bytes(record)

    def stage_decode(self, batch: Batch) -> None:
        decode_batch(batch.events, self.context.topic, self.context.partition)

    def stage_create_event(self, batch: Batch) -> None:
        event_row = rows.event_row
        for ev in batch.events:
            if ev.outcome is not None:
                continue
            chain = elements_chain(ev.properties)
            if ev.team.get("anonymize_ips"):  # type: ignore[union-attr]
                ev.properties.pop("$ip", None)
            ev.row = event_row(ev, chain)
            ev.outcome = "event"

    def stage_emit(self, batch: Batch) -> None:
        encode = dumps_bytes
        warning_row = rows.warning_row
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
        streams["property_definitions"].extend(map(encode, batch.property_defs))

    def stage_flush(self, batch: Batch) -> None:
        encode = dumps_bytes
        streams = batch.streams
        streams["persons"].extend(encode(rows.person_row(p)) for p in batch.touched_persons)
        for team_id, distinct_id in batch.touched_distinct_ids:
            person = self.persons.get(team_id, distinct_id)
            if person is not None:
                version = self.persons.distinct_id_version(team_id, distinct_id)
                streams["distinct_ids"].append(encode(distinct_id_row(team_id, distinct_id, person, version)))
        for key in batch.touched_groups:
            group = self.groups.get(key)
            if group is not None:
                streams["groups"].append(encode(rows.group_row(group)))


class MsgspecPipeline(MsgspecStages, ReferencePipeline):
    """msgspec decode and encoding; every other stage is the reference's."""
