"""Output record shapes (docs/pipeline.md, "Output records"). Fields named in JSON_STRING_FIELDS
hold JSON text; the canonical comparison parses them too."""

from __future__ import annotations

from typing import Any

from impls.reference import jsonrules
from impls.reference.decode import b64
from impls.reference.groups import Group
from impls.reference.persons import Person
from impls.reference.state import EventState
from impls.reference.timestamps import format_ms, format_seconds

# stream -> fields whose value is a string holding JSON
JSON_STRING_FIELDS: dict[str, tuple[str, ...]] = {
    "events": ("properties", "person_properties"),
    "ai_events": ("properties", "person_properties"),
    "persons": ("properties",),
    "groups": ("group_properties",),
    "ingestion_warnings": ("details",),
}


def event_row(ev: EventState, elements_chain: str) -> dict[str, Any]:
    team = ev.team
    assert team is not None
    now = format_ms(ev.now_ms)
    return {
        "uuid": ev.uuid,
        "event": ev.name,
        "properties": jsonrules.dumps(ev.properties),
        "timestamp": format_ms(ev.timestamp_ms or 0),
        "team_id": team["id"],
        "project_id": team.get("project_id", team["id"]),
        "distinct_id": ev.distinct_id,
        "elements_chain": elements_chain,
        "created_at": now,
        "captured_at": now,
        "person_id": ev.person_id,
        "person_properties": jsonrules.dumps(ev.person_properties or {}),
        "person_created_at": format_seconds(ev.person_created_at_ms),
        "person_mode": ev.person_mode,
    }


def warning_row(ev: EventState, warning: dict[str, Any]) -> dict[str, Any]:
    return {
        "team_id": ev.team["id"] if ev.team else None,
        "source": "plugin-server",
        "type": warning["type"],
        "details": jsonrules.dumps(warning["details"]),
        "timestamp": format_ms(ev.now_ms),
    }


def overflow_record(ev: EventState, reason: str) -> dict[str, Any]:
    """The record re-produced to the overflow topic (its value is valid UTF-8: it was decoded)."""
    rec = ev.record
    return {
        "offset": rec.offset,
        "timestamp_ms": rec.timestamp_ms,
        "key_b64": b64(rec.key),
        "reason": reason,
        "value": rec.value.decode("utf-8") if rec.value is not None else None,
    }


def person_row(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "created_at": format_seconds(person.created_at_ms),
        "properties": jsonrules.dumps(person.properties),
        "team_id": person.team_id,
        "is_identified": 1 if person.is_identified else 0,
        "is_deleted": 1 if person.is_deleted else 0,
        "version": person.version + 100 if person.is_deleted else person.version,
    }


def distinct_id_row(team_id: int, distinct_id: str, person: Person, version: int) -> dict[str, Any]:
    return {"distinct_id": distinct_id, "person_id": person.id, "team_id": team_id, "version": version,
            "is_deleted": 0}


def group_row(group: Group) -> dict[str, Any]:
    return {
        "team_id": group.team_id,
        "group_type_index": group.group_type_index,
        "group_key": group.group_key,
        "group_properties": jsonrules.dumps(group.properties),
        "created_at": format_ms(group.created_at_ms),
        "version": group.version,
    }
