"""The output records of docs/pipeline.md ("Output records") with their JSON-text fields written by
msgspec. Same shapes as impls/reference/rows.py; only the encoder differs."""

from __future__ import annotations

from typing import Any

from impls.msgspec_impl.encode import dumps_text
from impls.reference.groups import Group
from impls.reference.persons import Person
from impls.reference.state import EventState
from impls.reference.timestamps import format_ms, format_seconds


def event_row(ev: EventState, elements_chain: str) -> dict[str, Any]:
    team = ev.team
    assert team is not None
    now = format_ms(ev.now_ms)
    return {
        "uuid": ev.uuid,
        "event": ev.name,
        "properties": dumps_text(ev.properties),
        "timestamp": format_ms(ev.timestamp_ms or 0),
        "team_id": team["id"],
        "project_id": team.get("project_id", team["id"]),
        "distinct_id": ev.distinct_id,
        "elements_chain": elements_chain,
        "created_at": now,
        "captured_at": now,
        "person_id": ev.person_id,
        "person_properties": dumps_text(ev.person_properties or {}),
        "person_created_at": format_seconds(ev.person_created_at_ms),
        "person_mode": ev.person_mode,
    }


def warning_row(ev: EventState, warning: dict[str, Any]) -> dict[str, Any]:
    return {
        "team_id": ev.team["id"] if ev.team else None,
        "source": "plugin-server",
        "type": warning["type"],
        "details": dumps_text(warning["details"]),
        "timestamp": format_ms(ev.now_ms),
    }


def person_row(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "created_at": format_seconds(person.created_at_ms),
        "properties": dumps_text(person.properties),
        "team_id": person.team_id,
        "is_identified": 1 if person.is_identified else 0,
        "is_deleted": 1 if person.is_deleted else 0,
        "version": person.version + 100 if person.is_deleted else person.version,
    }


def group_row(group: Group) -> dict[str, Any]:
    return {
        "team_id": group.team_id,
        "group_type_index": group.group_type_index,
        "group_key": group.group_key,
        "group_properties": dumps_text(group.properties),
        "created_at": format_ms(group.created_at_ms),
        "version": group.version,
    }
