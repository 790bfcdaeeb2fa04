"""Stage decode: headers, outer JSON, inner `data`, merge, UUID, event name, distinct id, token."""

from __future__ import annotations

import base64
import re
from typing import Any

from impls.reference import jsonrules
from impls.reference.state import EventState
from impls.reference.timestamps import MAX_MS, MIN_MS, parse_timestamp

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_EVENT_NAME = 200
TOKEN_KEYS = ("token", "$token", "api_key")


def b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def dlq(ev: EventState, reason: str, step: str, topic: str, partition: int) -> None:
    """Send the record to the dead-letter stream (the raw bytes travel base64-encoded)."""
    rec = ev.record
    ev.outcome = "dlq"
    ev.dlq = {
        "dlq_reason": reason,
        "dlq_step": step,
        "dlq_topic": topic,
        "dlq_partition": partition,
        "dlq_offset": rec.offset,
        "timestamp_ms": rec.timestamp_ms,
        "key_b64": b64(rec.key),
        "value_b64": b64(rec.value),
    }


def _now_ms(event: dict[str, Any], record_ms: int) -> int:
    now = event.get("now")
    if type(now) is str:
        ms = parse_timestamp(now)
        if ms is not None and MIN_MS <= ms <= MAX_MS:
            return ms
    return record_ms


def decode_record(ev: EventState, topic: str, partition: int) -> None:
    rec = ev.record
    ev.headers = {name: value.decode("utf-8", "replace") for name, value in rec.headers}
    if not rec.value:
        return dlq(ev, "empty_value", "decode", topic, partition)
    try:
        text = rec.value.decode("utf-8")
    except UnicodeDecodeError:
        return dlq(ev, "invalid_utf8", "decode", topic, partition)
    number_checks = jsonrules.needs_number_checks(rec.value)
    try:
        outer = jsonrules.loads(text, number_checks)
    except jsonrules.JSONRuleError as exc:
        return dlq(ev, exc.reason, "decode", topic, partition)
    if type(outer) is not dict:
        return dlq(ev, "invalid_json", "decode", topic, partition)
    data_text = outer.get("data")
    if type(data_text) is not str:
        return dlq(ev, "invalid_data", "decode", topic, partition)
    # Digits can hide in `data` as \u00XX escapes of the outer string: then the raw-bytes check
    # above says nothing about the inner document, so look at its text itself.
    data_checks = number_checks or (b"\\u00" in rec.value and jsonrules.needs_number_checks(
        data_text.encode("utf-8", "surrogatepass")))
    try:
        data = jsonrules.loads(data_text, data_checks)
    except jsonrules.JSONRuleError as exc:
        return dlq(ev, "json_too_deep" if exc.reason == "json_too_deep" else "invalid_data", "decode",
                   topic, partition)
    if type(data) is not dict:
        return dlq(ev, "invalid_data", "decode", topic, partition)

    event = {**data, **outer}  # outer fields win
    del event["data"]
    uuid = event.get("uuid")
    if uuid is None or uuid == "":
        return dlq(ev, "empty_uuid", "decode", topic, partition)
    if type(uuid) is not str or UUID_RE.fullmatch(uuid) is None:
        return dlq(ev, "invalid_uuid", "decode", topic, partition)
    properties = event.get("properties")
    if properties is None:
        properties = {}
    elif type(properties) is not dict:
        return dlq(ev, "invalid_properties", "decode", topic, partition)

    name = event.get("event")
    if name is None:
        ev.outcome = "drop:missing_event"
        return
    name = jsonrules.json_text(name)[:MAX_EVENT_NAME]
    distinct_id = event.get("distinct_id")
    if distinct_id is None:
        distinct_id = event.get("$distinct_id")
    if distinct_id is None or distinct_id == "":
        ev.outcome = "drop:missing_distinct_id"
        return

    token = None
    for key in TOKEN_KEYS:
        value = event.pop(key, None)
        if token is None and type(value) is str and value != "":
            token = value
    ev.event = event
    ev.uuid = uuid.lower()
    ev.name = name
    ev.distinct_id = jsonrules.json_text(distinct_id)
    ev.token = token
    ev.properties = properties
    ev.now_ms = _now_ms(event, rec.timestamp_ms)
