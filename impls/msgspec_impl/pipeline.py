"""Stage mixins and the msgspec pipeline.

`EncodingStages` replaces the stages whose cost is serialization (create_event's JSON-text fields,
emit, flush) with an encoder chosen by the subclass; `MsgspecStages` adds the msgspec decode.
They are mixins so that `cython` and `combined` can put them over other stage sets; here
`MsgspecPipeline` puts them over the pure-Python reference, which supplies every other stage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from impls.msgspec_impl import encode
from impls.msgspec_impl.decode import FastDecoder
from impls.msgspec_impl.rows import RowWriter
from impls.reference import ReferencePipeline
from impls.reference.elements import elements_chain
from impls.reference.rows import distinct_id_row
from impls.reference.state import Batch
from impls.reference.timestamps import format_ms, format_seconds


class EncodingStages:
    """create_event, emit and flush with `dumps_bytes` and `rows` supplied by the subclass."""

    context: Any
    persons: Any
    groups: Any
    dumps_bytes: Callable[[Any], bytes]
    rows: RowWriter
    elements_chain: Callable[[dict[str, Any]], str] = staticmethod(elements_chain)

    def encode(self, record: dict[str, Any]) -> bytes:
        return self.dumps_bytes(record)

    def stage_create_event(self, batch: Batch) -> None:
        event_row, chain_of = self.rows.event_row, self.elements_chain
        for ev in batch.events:
            if ev.outcome is not None:
                continue
            chain = chain_of(ev.properties)
            if ev.team.get("anonymize_ips"):  # type: ignore[union-attr]
                ev.properties.pop("$ip", None)
            ev.row = event_row(ev, chain)
            ev.outcome = "event"

    def stage_emit(self, batch: Batch) -> None:
        encode, warning_row = self.dumps_bytes, self.rows.warning_row
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
        encode, person_row, group_row = self.dumps_bytes, self.rows.person_row, self.rows.group_row
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


class MsgspecStages(EncodingStages):
    """msgspec decode plus msgspec encoding."""

    dumps_bytes = staticmethod(encode.dumps_bytes)
    rows = RowWriter(encode.dumps_text, format_ms, format_seconds)
    decoder = FastDecoder()

    def stage_decode(self, batch: Batch) -> None:
        self.decoder.decode_batch(batch.events, self.context.topic, self.context.partition)


class MsgspecPipeline(MsgspecStages, ReferencePipeline):
    """msgspec decode and encoding; every other stage is the reference's."""
