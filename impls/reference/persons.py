"""Stage persons: identify / alias / merge, property updates, personless events.

The store is the only state shared across batches (besides the overflow buckets). `PersonStore`
is the small interface a real backend (Postgres) would implement; `InMemoryPersonStore` is the
deterministic in-process one, seeded from the workload's person snapshot.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from impls.reference.jsonrules import json_equal
from impls.reference.state import EventState
from impls.reference.timestamps import parse_timestamp

PERSON_NAMESPACE = uuid.UUID("932979b4-65c3-4424-8467-0b66ec27bc22")
PERSONLESS_CREATED_AT_MS = 5000       # 1970-01-01 00:00:05
FORCE_UPGRADE_AFTER_MS = 60_000
MERGE_EVENTS = frozenset({"$identify", "$create_alias", "$merge_dangerously"})
PERSON_EVENTS = frozenset({"$identify", "$create_alias", "$merge_dangerously", "$set"})

# Compared after ASCII-lowercasing (str.lower() gives the same answers for these ASCII words).
ILLEGAL_IDS_ANY_CASE = frozenset({
    "anonymous", "guest", "distinctid", "distinct_id", "id", "not_authenticated", "email",
    "undefined", "true", "false",
})
ILLEGAL_IDS_EXACT = frozenset({"[object Object]", "NaN", "None", "none", "null", "0", "undefined"})
ASCII_WHITESPACE = " \t\n\r\x0b\x0c"

# $set changes to only these keys (or `$geoip_*`) on a non-person event do not write the person.
FILTERED_PERSON_KEYS = frozenset({
    "$current_url", "$pathname", "$referrer", "$referring_domain", "$screen_height", "$screen_width",
    "$viewport_height", "$viewport_width", "$browser", "$browser_version", "$os", "$os_version",
    "$os_name", "$device_type", "$raw_user_agent", "$app_build", "$app_name", "$app_namespace",
    "$app_version",
})


def person_uuid(team_id: int, distinct_id: str) -> str:
    """UUIDv5 of "{team_id}:{distinct_id}" (UTF-8; a lone surrogate as its 3-byte WTF-8 form)."""
    name = f"{team_id}:{distinct_id}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha1(PERSON_NAMESPACE.bytes + name).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def is_illegal_id(distinct_id: str) -> bool:
    trimmed = distinct_id.strip(ASCII_WHITESPACE)
    if trimmed == "":
        return True
    candidates = [trimmed]
    if len(trimmed) >= 2 and trimmed[0] == trimmed[-1] and trimmed[0] in "\"'":
        candidates.append(trimmed[1:-1])  # quoted forms: "null", 'undefined'
    return any(c in ILLEGAL_IDS_EXACT or c.lower() in ILLEGAL_IDS_ANY_CASE for c in candidates)


@dataclass(slots=True)
class Person:
    id: str
    team_id: int
    created_at_ms: int
    properties: dict[str, Any]   # replaced, never mutated in place (events keep snapshots of it)
    is_identified: bool
    version: int
    distinct_ids: list[str] = field(default_factory=list)
    is_deleted: bool = False


class PersonStore(Protocol):
    def get(self, team_id: int, distinct_id: str) -> Person | None: ...

    def distinct_id_version(self, team_id: int, distinct_id: str) -> int: ...

    def add(self, person: Person) -> None:
        """A new person; its distinct_ids are mapped to it at version 0."""

    def move_distinct_id(self, team_id: int, distinct_id: str, person: Person, version: int) -> None: ...

    def delete(self, person: Person) -> None: ...


class InMemoryPersonStore:
    def __init__(self, snapshot: Iterable[dict[str, Any]] = ()) -> None:
        self._by_distinct_id: dict[tuple[int, str], tuple[Person, int]] = {}
        for row in snapshot:
            created = parse_timestamp(row.get("created_at") or "") or 0
            person = Person(id=row["id"], team_id=row["team_id"], created_at_ms=created,
                            properties=dict(row.get("properties") or {}),
                            is_identified=bool(row.get("is_identified")), version=int(row.get("version", 0)),
                            distinct_ids=list(row.get("distinct_ids") or []))
            self.add(person)

    def get(self, team_id: int, distinct_id: str) -> Person | None:
        entry = self._by_distinct_id.get((team_id, distinct_id))
        return None if entry is None else entry[0]

    def distinct_id_version(self, team_id: int, distinct_id: str) -> int:
        entry = self._by_distinct_id.get((team_id, distinct_id))
        return -1 if entry is None else entry[1]

    def add(self, person: Person) -> None:
        for did in person.distinct_ids:
            self._by_distinct_id[(person.team_id, did)] = (person, 0)

    def move_distinct_id(self, team_id: int, distinct_id: str, person: Person, version: int) -> None:
        self._by_distinct_id[(team_id, distinct_id)] = (person, version)
        if distinct_id not in person.distinct_ids:
            person.distinct_ids.append(distinct_id)

    def delete(self, person: Person) -> None:
        person.is_deleted = True


class PersonTouches:
    """What the batch changed, in first-touch order, for the flush stage."""

    def __init__(self) -> None:
        self.persons: dict[int, Person] = {}                # id(person) -> person
        self.distinct_ids: dict[tuple[int, str], None] = {}  # (team_id, distinct_id)

    def person(self, person: Person) -> None:
        self.persons.setdefault(id(person), person)

    def distinct_id(self, team_id: int, distinct_id: str) -> None:
        self.distinct_ids.setdefault((team_id, distinct_id), None)


def _warn(ev: EventState, kind: str, **details: Any) -> None:
    ev.warnings.append({"type": kind, "details": {"eventUuid": ev.uuid, **details}})


def _merge(ev: EventState, other: str, store: PersonStore, touches: PersonTouches) -> tuple[Person | None, bool]:
    """The merge step of $identify/$create_alias/$merge_dangerously: (person, version already bumped)."""
    team_id = ev.team["id"]  # type: ignore[index]
    into = ev.distinct_id
    if other == into:
        return None, False
    for candidate in (into, other):
        if is_illegal_id(candidate):
            _warn(ev, "cannot_merge_with_illegal_distinct_id", illegalDistinctId=candidate,
                  otherDistinctId=other if candidate == into else into)
            return None, False
    into_p = store.get(team_id, into)
    other_p = store.get(team_id, other)
    if into_p is None and other_p is None:
        person = Person(id=person_uuid(team_id, into), team_id=team_id, created_at_ms=ev.timestamp_ms or 0,
                        properties={}, is_identified=True, version=0, distinct_ids=[into, other])
        store.add(person)
        touches.person(person)
        touches.distinct_id(team_id, into)
        touches.distinct_id(team_id, other)
        return person, True
    if into_p is None or other_p is None:
        person = into_p if into_p is not None else other_p
        assert person is not None
        missing = other if into_p is not None else into
        store.move_distinct_id(team_id, missing, person, 0)
        touches.distinct_id(team_id, missing)
        if not person.is_identified:
            person.is_identified = True
            person.version += 1
            touches.person(person)
            return person, True
        return person, False
    if into_p is other_p:
        return into_p, False
    if other_p.is_identified and ev.name != "$merge_dangerously":
        _warn(ev, "cannot_merge_already_identified", sourcePersonDistinctId=other, targetPersonDistinctId=into)
        return into_p, False
    into_p.properties = {**other_p.properties, **into_p.properties}
    into_p.created_at_ms = min(into_p.created_at_ms, other_p.created_at_ms)
    into_p.version = max(into_p.version, other_p.version) + 1
    into_p.is_identified = True
    touches.person(into_p)
    for did in list(other_p.distinct_ids):
        store.move_distinct_id(team_id, did, into_p, store.distinct_id_version(team_id, did) + 1)
        touches.distinct_id(team_id, did)
    store.delete(other_p)
    touches.person(other_p)
    return into_p, True


def _updates(props: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    to_set = props.get("$set")
    to_set_once = props.get("$set_once")
    unset = props.get("$unset")
    if type(unset) is dict:
        unset_keys = list(unset)
    elif type(unset) is list:
        unset_keys = [k for k in unset if type(k) is str]
    else:
        unset_keys = []
    return (to_set if type(to_set) is dict else {}, to_set_once if type(to_set_once) is dict else {}, unset_keys)


def apply_updates(current: dict[str, Any], to_set: dict[str, Any], to_set_once: dict[str, Any],
                  unset: list[str]) -> tuple[dict[str, Any] | None, bool]:
    """New properties (None if unchanged) and whether every change is a filtered `$set` key."""
    changes: dict[str, Any] = {}
    only_filtered = True
    for key, value in to_set_once.items():
        if key not in current and key not in changes:
            changes[key] = value
            only_filtered = False
    for key, value in to_set.items():
        if key in current and json_equal(current[key], value):
            continue
        changes[key] = value
        if key not in FILTERED_PERSON_KEYS and not key.startswith("$geoip_"):
            only_filtered = False
    removals = [key for key in unset if key in current or key in changes]
    if not changes and not removals:
        return None, True
    if removals:
        only_filtered = False
    updated = {**current, **changes}
    for key in removals:
        updated.pop(key, None)
    return updated, only_filtered


def _personless(ev: EventState, store: PersonStore) -> None:
    team_id = ev.team["id"]  # type: ignore[index]
    person = store.get(team_id, ev.distinct_id)
    if person is not None and (ev.timestamp_ms or 0) - person.created_at_ms > FORCE_UPGRADE_AFTER_MS:
        ev.person_id = person.id
        ev.person_properties = person.properties
        ev.person_created_at_ms = person.created_at_ms
        ev.person_mode = "force_upgrade"
        return
    ev.person_id = person_uuid(team_id, ev.distinct_id)
    ev.person_properties = None
    ev.person_created_at_ms = PERSONLESS_CREATED_AT_MS
    ev.person_mode = "propertyless"


def process_person(ev: EventState, store: PersonStore, touches: PersonTouches) -> None:
    """Per event, in batch order. Writes ev.person_id/person_properties/person_created_at_ms/person_mode."""
    if not ev.person_processing:
        _personless(ev, store)
        return
    team_id = ev.team["id"]  # type: ignore[index]
    props = ev.properties
    person: Person | None = None
    bumped = False  # the person's version already moved for this event
    if ev.name in MERGE_EVENTS:
        other = props.get("$anon_distinct_id") if ev.name == "$identify" else props.get("alias")
        if type(other) is str:
            person, bumped = _merge(ev, other, store, touches)
    if person is None:
        person = store.get(team_id, ev.distinct_id)
    if person is None:
        person = Person(id=person_uuid(team_id, ev.distinct_id), team_id=team_id,
                        created_at_ms=ev.timestamp_ms or 0, properties={}, is_identified=False, version=0,
                        distinct_ids=[ev.distinct_id])
        store.add(person)
        touches.person(person)
        touches.distinct_id(team_id, ev.distinct_id)
        bumped = True
    updated, only_filtered = apply_updates(person.properties, *_updates(props))
    if updated is not None:
        if not bumped and only_filtered and ev.name not in PERSON_EVENTS:
            ev.person_properties = updated  # the event sees them; the person is not written
        else:
            person.properties = updated
            if not bumped:
                person.version += 1
            touches.person(person)
            ev.person_properties = updated
    else:
        ev.person_properties = person.properties
    ev.person_id = person.id
    ev.person_created_at_ms = person.created_at_ms
    ev.person_mode = "full"
