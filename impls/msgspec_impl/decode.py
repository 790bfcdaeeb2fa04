"""Stage decode with typed msgspec Structs for the envelope and the inner `data` document.

Only the fields the pipeline reads are declared; msgspec skips the others without building them.
The fast path accepts a record only when it is certain the reference would decode it the same
way; anything unusual (a DLQ or drop case, a type the Structs do not declare, a lone surrogate,
a deeply nested document) goes through the reference's own decode_record, so bad input gets
exactly the reference's outcome, DLQ reason and step.

Numbers: when the reference's gate (`jsonrules.needs_number_checks`) says a record may hold an
integer outside [-2^63, 2^64-1] or an infinite double, the reference parses it with its strict
number rules. msgspec keeps such integers as Python ints and does not look at numbers in the
fields it skips, so those records are parsed with orjson instead, whose rules are the strict
ones (big integers become the nearest double, infinite doubles are errors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import orjson
from msgspec import UNSET, UnsetType

from impls.reference import jsonrules
from impls.reference.decode import MAX_EVENT_NAME, TOKEN_KEYS, UUID_RE, decode_record
from impls.reference.state import EventState
from impls.reference.timestamps import MAX_MS, MIN_MS, parse_timestamp


class EventFields(msgspec.Struct):
    """Fields read downstream, present in the envelope or in `data` (absent = UNSET)."""

    uuid: str | UnsetType = UNSET
    event: str | UnsetType = UNSET
    distinct_id: str | UnsetType = UNSET
    dollar_distinct_id: Any = msgspec.field(name="$distinct_id", default=UNSET)
    properties: dict[str, Any] | UnsetType = UNSET
    token: Any = UNSET
    dollar_token: Any = msgspec.field(name="$token", default=UNSET)
    api_key: Any = UNSET
    now: Any = UNSET
    sent_at: Any = UNSET
    timestamp: Any = UNSET
    offset: Any = UNSET
    ip: Any = UNSET
    dollar_set: Any = msgspec.field(name="$set", default=UNSET)
    dollar_set_once: Any = msgspec.field(name="$set_once", default=UNSET)


class Envelope(EventFields):
    """The Kafka record value: capture's envelope with the event JSON in `data`."""

    data: str | UnsetType = UNSET


# (Struct attribute, key in the merged event dict) of the fields later stages read from ev.event.
_EVENT_KEYS = (("uuid", "uuid"), ("event", "event"), ("distinct_id", "distinct_id"),
               ("dollar_distinct_id", "$distinct_id"), ("properties", "properties"), ("now", "now"),
               ("sent_at", "sent_at"), ("timestamp", "timestamp"), ("offset", "offset"), ("ip", "ip"),
               ("dollar_set", "$set"), ("dollar_set_once", "$set_once"))
_TOKEN_FIELDS = ("token", "dollar_token", "api_key")  # same order as the reference's TOKEN_KEYS
_MAX_BRACKETS = jsonrules.MAX_DEPTH  # at most this many `[`+`{` cannot exceed the depth limit

_decode_envelope = msgspec.json.Decoder(Envelope).decode
_decode_data = msgspec.json.Decoder(EventFields).decode


class Unusual(Exception):
    """The fast path is not sure; the reference decides."""


class FastDecoder:
    """The decode stage's fast path. The two byte/text scans are pluggable so that `combined` can
    use the Cython ones; both must answer exactly like (or, for the number gate, more often True
    than) the reference's functions."""

    def __init__(self, needs_number_checks: Callable[[bytes], bool] = jsonrules.needs_number_checks,
                 too_deep: Callable[[str], bool] = jsonrules.too_deep) -> None:
        self.needs_number_checks = needs_number_checks
        self.too_deep = too_deep

    def _from_structs(self, value: bytes, check_depth: bool) -> tuple[dict[str, Any], str | None]:
        """The merged event (declared fields only, token keys removed) and the token."""
        try:
            text = value.decode("utf-8")  # msgspec does not check UTF-8 inside the fields it skips
            if check_depth and self.too_deep(text):
                raise Unusual
            outer = _decode_envelope(value)
            if outer.data is UNSET or (check_depth and self.too_deep(outer.data)):
                raise Unusual
            data = _decode_data(outer.data)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            raise Unusual from None
        event = {}
        for attr, key in _EVENT_KEYS:
            field = getattr(outer, attr)
            if field is UNSET:  # outer fields win
                field = getattr(data, attr)
            if field is not UNSET:
                event[key] = field
        token = None
        for attr in _TOKEN_FIELDS:
            field = getattr(outer, attr)
            if field is UNSET:
                field = getattr(data, attr)
            if type(field) is str and field != "":
                token = field
                break
        return event, token

    def _from_dicts(self, value: bytes, check_depth: bool) -> tuple[dict[str, Any], str | None]:
        """Same result via orjson dicts, for records that need the strict number rules."""
        try:
            if check_depth and self.too_deep(value.decode("utf-8")):
                raise Unusual
            outer = orjson.loads(value)
            if type(outer) is not dict or type(outer.get("data")) is not str:
                raise Unusual
            if check_depth and self.too_deep(outer["data"]):
                raise Unusual
            data = orjson.loads(outer["data"])
        except (orjson.JSONDecodeError, UnicodeDecodeError):
            raise Unusual from None
        if type(data) is not dict:
            raise Unusual
        event = {**data, **outer}
        del event["data"]
        token = None
        for key in TOKEN_KEYS:
            field = event.pop(key, None)
            if token is None and type(field) is str and field != "":
                token = field
        return event, token

    def decode_fast(self, ev: EventState) -> None:
        """Fill ev like the reference's decode_record, or raise Unusual without touching ev."""
        rec = ev.record
        value = rec.value
        if not value:
            raise Unusual
        # The depth scan is needed only when there are more brackets than the limit.
        check_depth = value.count(b"[") + value.count(b"{") > _MAX_BRACKETS
        # `\u00` escapes can spell digits inside `data` that the raw-bytes gate cannot see:
        # orjson's strict number rules then decide, as the reference's check of the data text does.
        strict = b"\\u00" in value or self.needs_number_checks(value)
        decode = self._from_dicts if strict else self._from_structs
        event, token = decode(value, check_depth)
        uuid = event.get("uuid")
        name = event.get("event")
        distinct_id = event.get("distinct_id")
        if distinct_id is None:
            distinct_id = event.get("$distinct_id")
        properties = event.get("properties")
        if properties is None:
            properties = {}
        if (type(uuid) is not str or UUID_RE.fullmatch(uuid) is None or type(properties) is not dict
                or name is None or distinct_id is None or distinct_id == ""):
            raise Unusual
        now_ms = rec.timestamp_ms
        now = event.get("now")
        if type(now) is str:
            parsed = parse_timestamp(now)
            if parsed is not None and MIN_MS <= parsed <= MAX_MS:
                now_ms = parsed
        ev.event = event
        ev.uuid = uuid.lower()
        ev.name = jsonrules.json_text(name)[:MAX_EVENT_NAME]
        ev.distinct_id = jsonrules.json_text(distinct_id)
        ev.token = token
        ev.properties = properties
        ev.now_ms = now_ms

    def decode_batch(self, events: list[EventState], topic: str, partition: int) -> None:
        decode_fast = self.decode_fast
        for ev in events:
            ev.headers = {name: value.decode("utf-8", "replace") for name, value in ev.record.headers}
            try:
                decode_fast(ev)
            except Unusual:
                decode_record(ev, topic, partition)
