"""Stage validate: restrictions, old events, oversized `$group_key`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from impls.reference.state import EventState
from impls.reference.timestamps import event_timestamp

MAX_GROUP_KEY = 400


class Restrictions:
    """Token/distinct-id restrictions from the partition context."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self._by_token: dict[str, list[tuple[str | None, str]]] = {}
        for row in rows:
            self._by_token.setdefault(row["token"], []).append((row.get("distinct_id"), row["action"]))

    def actions(self, token: str, distinct_id: str) -> set[str]:
        rules = self._by_token.get(token)
        if not rules:
            return set()
        return {action for did, action in rules if did is None or did == distinct_id}


def apply_timestamp(ev: EventState) -> None:
    """Compute ev.timestamp_ms once (a pure function of the event; see docs, "Timestamps")."""
    if ev.timestamp_ms is not None:
        return
    ts, warning_types = event_timestamp(ev.event, ev.properties, ev.now_ms)
    ev.timestamp_ms = ts
    for kind in warning_types:
        ev.warnings.append({"type": kind, "details": {"eventUuid": ev.uuid, "timestamp": ev.event.get("timestamp")}})


def validate_event(ev: EventState, restrictions: Restrictions) -> str | None:
    """Returns "dlq" when a restriction sends the event to the DLQ, else None (outcome set on drops)."""
    actions = restrictions.actions(ev.token or "", ev.distinct_id)
    if actions:
        if "drop" in actions:
            ev.outcome = "drop:restricted"
            return None
        if "dlq" in actions:
            return "dlq"
        ev.force_overflow = "force_overflow" in actions
        ev.skip_person = "skip_person_processing" in actions
    team = ev.team
    assert team is not None
    max_age_s = team.get("drop_events_older_than_s")
    if max_age_s is not None:
        apply_timestamp(ev)
        if ev.now_ms - ev.timestamp_ms > max_age_s * 1000:
            ev.outcome = "drop:old_event"
            return None
    if ev.name == "$groupidentify":
        key = ev.properties.get("$group_key")
        if type(key) is str and len(key) > MAX_GROUP_KEY:
            ev.outcome = "drop:group_key_too_long"
    return None
