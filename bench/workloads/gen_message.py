"""Turning an event into the Kafka record capture produces: headers, key and the double-encoded value.

A `Draft` keeps the parts as Python objects until the end so that the hostile profile can damage
them (including things JSON libraries refuse to write: lone surrogates, >64-bit integers, deep
nesting, invalid UTF-8), through placeholders substituted into the serialized text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from impls.base import Record

_MISSING = object()


@dataclass
class Draft:
    token: Any                       # str, or None when missing
    distinct_id: Any                 # any JSON value (hostile: ints, objects…), _MISSING when absent
    outer: dict[str, Any]            # capture's wrapper; "data" is filled in by finish()
    data: dict[str, Any]             # the event as the SDK sent it
    headers: list[tuple[str, bytes]]
    inner_subs: list[tuple[str, str]] = field(default_factory=list)    # placeholder -> raw inner JSON
    outer_subs: list[tuple[bytes, bytes]] = field(default_factory=list)  # placeholder -> raw value bytes
    data_text: str | None = None     # replaces the serialized data (malformed JSON)
    value: Any = _MISSING            # replaces the whole value (bytes or None)
    key: Any = _MISSING              # replaces the key (bytes or None)

    def header(self, name: str, value: bytes | None) -> None:
        """Set (or with None remove) a header, keeping the others' order."""
        self.headers = [(k, v) for k, v in self.headers if k != name]
        if value is not None:
            self.headers.append((name, value))


def key_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def finish(draft: Draft, offset: int, timestamp_ms: int) -> Record:
    if draft.value is not _MISSING:
        value = draft.value
    else:
        if draft.data_text is not None:
            data_text = draft.data_text
        else:
            data_text = orjson.dumps(draft.data).decode()
        for placeholder, raw in draft.inner_subs:
            data_text = data_text.replace(f'"{placeholder}"', raw)
        outer = dict(draft.outer)
        outer["data"] = data_text
        value = orjson.dumps(outer)
        for placeholder, raw in draft.outer_subs:
            value = value.replace(placeholder, raw)
    if draft.key is not _MISSING:
        key = draft.key
    else:
        token = draft.token if isinstance(draft.token, str) else ""
        did = "" if draft.distinct_id is _MISSING else key_text(draft.distinct_id)
        key = f"{token}:{did}".encode("utf-8", "surrogatepass")
    return Record(offset, timestamp_ms, key, tuple(draft.headers), value)


MISSING = _MISSING
