"""Helpers for the reference-pipeline tests: hand-built records, one team, one-batch runs.
(No tests here; the name only keeps it inside the files the reference tests own.)"""

from __future__ import annotations

import json
from typing import Any

from impls.base import PartitionContext, Record
from impls.reference import ReferencePipeline

TOKEN = "phc_test"
NOW = "2026-11-27T10:00:00.000Z"
NOW_MS = 1795773600000
TEAM = {"id": 2, "project_id": 3, "api_token": TOKEN, "name": "Test", "anonymize_ips": False,
        "group_types": {"company": 0, "project": 1}, "drop_events_older_than_s": None,
        "person_processing_opt_out": False}
_counter = iter(range(10**9))
_DROP = object()
DROP = _DROP  # pass as an outer field value to remove it from the message


def make_uuid(n: int) -> str:
    return f"0196f3a2-7c41-7d2e-9a55-{n:012x}"


def make_record(data: dict[str, Any] | None = None, *, offset: int | None = None, raw_data: str | None = None,
                data_value: Any = None, headers: tuple[tuple[str, bytes], ...] = (), value: bytes | None = None,
                **outer: Any) -> Record:
    """A capture message: outer fields (uuid, distinct_id, ip, now, token, data) plus overrides.
    `data` is the inner event (JSON-encoded into the data string), `raw_data` the data string
    itself, `data_value` any other value for the data field (DROP removes it)."""
    n = next(_counter) if offset is None else offset
    if value is None:
        message = {"uuid": make_uuid(n), "distinct_id": "user-1", "ip": "10.0.0.1", "now": NOW, "token": TOKEN}
        message.update(outer)
        if data_value is not None:
            message["data"] = data_value
        else:
            message["data"] = raw_data if raw_data is not None else json.dumps({"event": "clicked", **(data or {})})
        message = {k: v for k, v in message.items() if v is not _DROP}
        value = json.dumps(message).encode()
    return Record(n, NOW_MS, f"{TOKEN}:user-1".encode(), headers, value)




def context(**overrides: Any) -> PartitionContext:
    base: dict[str, Any] = {"teams": [TEAM], "persons": [], "groups": [], "restrictions": [], "settings": {}}
    base.update(overrides)
    return PartitionContext(**base)


def run_batch(records: list[Record], ctx: PartitionContext | None = None,
              pipeline: ReferencePipeline | None = None) -> tuple[dict[str, list[Any]], dict[str, int]]:
    """Outputs parsed back to JSON (JSON-in-string fields too) and the outcome counts."""
    pipeline = pipeline or ReferencePipeline(ctx or context())
    out = pipeline.process_batch(records)
    assert sum(out.outcomes.values()) == len(records)
    parsed: dict[str, list[Any]] = {}
    for stream, rows in out.streams.items():
        values = [json.loads(r) for r in rows]
        for v in values:
            for key in ("properties", "person_properties", "group_properties", "details"):
                if isinstance(v.get(key), str):
                    v[key] = json.loads(v[key])
        parsed[stream] = values
    return parsed, out.outcomes


def one_event(data: dict[str, Any] | None = None, **outer: Any) -> dict[str, Any]:
    streams, outcomes = run_batch([make_record(data, **outer)])
    assert outcomes == {"event": 1}, outcomes
    return streams["events"][0]
