"""The output records of docs/pipeline.md ("Output records"), with a pluggable encoder for the
fields that hold JSON text and pluggable timestamp formatters. Same shapes as
impls/reference/rows.py; msgspec, cython and combined differ only in the functions plugged in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from impls.reference.groups import Group
from impls.reference.persons import Person
from impls.reference.state import EventState


@dataclass(frozen=True)
class RowWriter:
    dumps_text: Callable[[Any], str]       # compact JSON text of a properties/details value
    format_ms: Callable[[int], str]        # YYYY-MM-DD HH:MM:SS.mmm
    format_seconds: Callable[[int], str]   # YYYY-MM-DD HH:MM:SS

    def event_row(self, ev: EventState, elements_chain: str) -> dict[str, Any]:
        team = ev.team
        assert team is not None
        now = self.format_ms(ev.now_ms)
        return {
            "uuid": ev.uuid,
            "event": ev.name,
            "properties": self.dumps_text(ev.properties),
            "timestamp": self.format_ms(ev.timestamp_ms or 0),
            "team_id": team["id"],
            "project_id": team.get("project_id", team["id"]),
            "distinct_id": ev.distinct_id,
            "elements_chain": elements_chain,
            "created_at": now,
            "captured_at": now,
            "person_id": ev.person_id,
            "person_properties": self.dumps_text(ev.person_properties or {}),
            "person_created_at": self.format_seconds(ev.person_created_at_ms),
            "person_mode": ev.person_mode,
        }

    def warning_row(self, ev: EventState, warning: dict[str, Any]) -> dict[str, Any]:
        return {
            "team_id": ev.team["id"] if ev.team else None,
            "source": "plugin-server",
            "type": warning["type"],
            "details": self.dumps_text(warning["details"]),
            "timestamp": self.format_ms(ev.now_ms),
        }

    def person_row(self, person: Person) -> dict[str, Any]:
        return {
            "id": person.id,
            "created_at": self.format_seconds(person.created_at_ms),
            "properties": self.dumps_text(person.properties),
            "team_id": person.team_id,
            "is_identified": 1 if person.is_identified else 0,
            "is_deleted": 1 if person.is_deleted else 0,
            "version": person.version + 100 if person.is_deleted else person.version,
        }

    def group_row(self, group: Group) -> dict[str, Any]:
        return {
            "team_id": group.team_id,
            "group_type_index": group.group_type_index,
            "group_key": group.group_key,
            "group_properties": self.dumps_text(group.properties),
            "created_at": self.format_ms(group.created_at_ms),
            "version": group.version,
        }
