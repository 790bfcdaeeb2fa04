"""Stage property_defs: property definitions with type detection, deduplicated per batch."""

from __future__ import annotations

import re
from typing import Any

from impls.reference.state import EventState
from impls.reference.timestamps import parse_iso, parse_rfc2822

MAX_NAME_BYTES = 200
MAX_ROWS_PER_EVENT = 10_000
SIX_MONTHS_S = 15_768_000
SKIPPED_EVENT_KEYS = frozenset({"$set", "$set_once", "$unset", "$groups",
                                "$group_0", "$group_1", "$group_2", "$group_3", "$group_4"})
DATE_KEYWORDS = ("time", "date", "_at", "-at", "createdat", "updatedat")
KIND_ORDER = {"event": 1, "person": 2, "group": 3}
DATE_RE = re.compile(
    r"(([0-9]{4}[/-][0-2][0-9][/-][0-3][0-9])|([0-2][0-9][/-][0-3][0-9][/-][0-9]{4}))"
    r"([ T][0-2][0-9]:[0-6][0-9]:[0-6][0-9].*)?", re.S)


def likely_date(text: str) -> bool:
    return (DATE_RE.fullmatch(text) is not None or parse_iso(text, zone_required=True) is not None
            or parse_rfc2822(text) is not None)


def detect_type(name: str, value: Any, now_ms: int) -> str | None:
    key = name.lower()  # ASCII lowercase in effect: the words below are ASCII
    if (key.startswith(("utm_", "$initial_utm_", "$feature/", "$survey_response"))
            or key == "$feature_flag_response"):
        return "String"
    kind = type(value)
    if any(word in key for word in DATE_KEYWORDS):
        if kind is str and likely_date(value):
            return "DateTime"
        if (kind is int or kind is float) and value >= now_ms / 1000 - SIX_MONTHS_S:
            return "DateTime"
    if kind is str:
        if value in ("true", "false", "TRUE", "FALSE"):
            return "Boolean"
        return "DateTime" if likely_date(value) else "String"
    if kind is int or kind is float:
        return "Numeric"
    if kind is bool:
        return "Boolean"
    return None


def _name_ok(name: str) -> bool:
    return len(name) <= MAX_NAME_BYTES // 4 or len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES


def event_definitions(ev: EventState) -> list[tuple[str, int | None, str, Any]]:
    """(kind, group_type_index, name, value) candidates of one event, before dedup."""
    props = ev.properties
    out: list[tuple[str, int | None, str, Any]] = []
    if ev.name == "$groupidentify":
        group_set = props.get("$group_set")
        index = (ev.team.get("group_types") or {}).get(props.get("$group_type")) \
            if type(props.get("$group_type")) is str else None  # type: ignore[union-attr]
        if type(group_set) is dict and type(index) is int and 0 <= index < 5:
            out.extend(("group", index, k, v) for k, v in group_set.items())
        return out
    for key, value in props.items():
        if key in SKIPPED_EVENT_KEYS or key.startswith(("$feature/", "$feature_enrollment/")):
            continue
        out.append(("event", None, key, value))
    for source in ("$set", "$set_once"):
        updates = props.get(source)
        if type(updates) is dict:
            out.extend(("person", None, k, v) for k, v in updates.items())
    return out


def collect_definitions(ev: EventState, seen: dict[tuple[int, str, int, str], dict[str, Any]]) -> None:
    """Adds this event's new definitions to `seen` (first occurrence in the batch wins)."""
    candidates = event_definitions(ev)
    if len(candidates) > MAX_ROWS_PER_EVENT:
        return
    team = ev.team
    assert team is not None
    team_id = team["id"]
    for kind, index, name, value in candidates:
        if not _name_ok(name):
            continue
        key = (team_id, kind, -1 if index is None else index, name)
        if key in seen:
            continue
        seen[key] = {"team_id": team_id, "project_id": team.get("project_id", team_id), "name": name,
                     "type": kind, "group_type_index": index,
                     "property_type": detect_type(name, value, ev.now_ms)}


def sorted_definitions(seen: dict[tuple[int, str, int, str], dict[str, Any]]) -> list[dict[str, Any]]:
    return [seen[k] for k in sorted(seen, key=lambda k: (k[0], KIND_ORDER[k[1]], k[2], k[3]))]
