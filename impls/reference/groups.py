"""Stage groups: `$groups` -> `$group_N` properties; `$groupidentify` upserts into the group store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from impls.reference.jsonrules import json_equal, json_text
from impls.reference.state import EventState
from impls.reference.timestamps import parse_timestamp

MAX_GROUP_TYPES = 5


@dataclass(slots=True)
class Group:
    team_id: int
    group_type_index: int
    group_key: str
    properties: dict[str, Any]
    created_at_ms: int
    version: int


class InMemoryGroupStore:
    """Deterministic in-process group store keyed by (team_id, group_type_index, group_key)."""

    def __init__(self, snapshot: Iterable[dict[str, Any]] = ()) -> None:
        self.groups: dict[tuple[int, int, str], Group] = {}
        for row in snapshot:
            group = Group(row["team_id"], row["group_type_index"], row["group_key"],
                          dict(row.get("group_properties") or {}),
                          parse_timestamp(row.get("created_at") or "") or 0, int(row.get("version", 0)))
            self.groups[(group.team_id, group.group_type_index, group.group_key)] = group

    def get(self, key: tuple[int, int, str]) -> Group | None:
        return self.groups.get(key)

    def put(self, group: Group) -> None:
        self.groups[(group.team_id, group.group_type_index, group.group_key)] = group


def _type_index(team: dict[str, Any], group_type: Any) -> int | None:
    index = (team.get("group_types") or {}).get(group_type) if type(group_type) is str else None
    if type(index) is int and 0 <= index < MAX_GROUP_TYPES:
        return index
    return None


def add_group_properties(ev: EventState) -> None:
    groups = ev.properties.get("$groups")
    if type(groups) is not dict:
        return
    for group_type, key in groups.items():
        index = _type_index(ev.team, group_type)  # type: ignore[arg-type]
        if index is not None and key is not None:
            ev.properties[f"$group_{index}"] = key


def upsert_group(ev: EventState, store: InMemoryGroupStore, touched: dict[tuple[int, int, str], None]) -> None:
    """`$groupidentify`: create the group or apply `$group_set` ($set semantics)."""
    props = ev.properties
    index = _type_index(ev.team, props.get("$group_type"))  # type: ignore[arg-type]
    key = props.get("$group_key")
    if index is None or key is None or key == "":
        return
    group_key = json_text(key)
    group_set = props.get("$group_set")
    if type(group_set) is not dict:
        group_set = {}
    team_id = ev.team["id"]  # type: ignore[index]
    store_key = (team_id, index, group_key)
    group = store.get(store_key)
    if group is None:
        store.put(Group(team_id, index, group_key, dict(group_set), ev.timestamp_ms or 0, 0))
        touched.setdefault(store_key, None)
        return
    changes = {k: v for k, v in group_set.items() if k not in group.properties or not json_equal(group.properties[k], v)}
    if changes:
        group.properties = {**group.properties, **changes}
        group.version += 1
        touched.setdefault(store_key, None)
