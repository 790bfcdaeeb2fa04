"""msgspec implementation: end-to-end verification on every generated profile (hostile included)
and its decode/encode against the reference on crafted edge cases (exact DLQ reasons and steps)."""

from __future__ import annotations

import functools
import json

import pytest

from bench.verification import compare
from bench.workloads import generator
from impls.base import Record
from impls.msgspec_impl import encode
from impls.msgspec_impl.decode import FastDecoder
from impls.reference import jsonrules
from impls.reference.decode import decode_record
from impls.reference.state import EventState
from tests.fixtures_workloads import small_workload

UUID = "01a1f9f5-3e5c-7b68-ba44-40b482841940"
DECODED_FIELDS = ("outcome", "dlq", "headers", "event", "uuid", "name", "distinct_id", "token", "properties",
                  "now_ms")
# Overflow buckets small enough that the hot-key profile actually rate-limits.
TIGHT_OVERFLOW = {"overflow_bucket_capacity": 5, "overflow_replenish_per_s": 0.5}


@functools.cache
def workload(profile: str):
    return small_workload(profile)  # one object per profile, so the reference outputs are cached


def verify_all_profiles(impl: str) -> None:
    failures = []
    for profile in generator.PROFILES:
        result = compare.verify(impl, workload(profile), batch_size=100)
        if result.status != "passed":
            failures.append(f"{profile}: {result.status}: {result.detail}")
    tight = compare.verify(impl, workload("hot-key"), batch_size=100, settings=TIGHT_OVERFLOW)
    if tight.status != "passed" or not tight.outcomes.get("overflow"):
        failures.append(f"hot-key with tight buckets: {tight.status}: {tight.detail} {tight.outcomes}")
    assert not failures, "\n".join(failures)


def _value(outer: dict | None = None, data: dict | None = None, raw_data: str | None = None) -> bytes:
    inner = {"uuid": UUID, "event": "$pageview", "distinct_id": "u1", "properties": {"a": 1}}
    inner.update(data or {})
    envelope = {"uuid": UUID, "distinct_id": "u1", "data": raw_data if raw_data is not None else json.dumps(inner),
                "now": "2026-11-20T17:16:04.582660+00:00", "token": "phc_x"}
    envelope.update(outer or {})
    return json.dumps(envelope).encode()


EDGE_VALUES = [
    _value(),
    None, b"", b"\xff{}", b'{"a":"\xed\xa0\x80"}', b"[]", b"{", b"nope",
    _value(data={"x": "\\ud800"}).replace(b"\\\\ud800", b"\\ud800"),   # lone surrogate escape
    _value(data={"n": 1}).replace(b'\\"n\\": 1', b'\\"n\\": 18446744073709551616'),  # big int -> float
    _value(data={"n": 1}).replace(b'\\"n\\": 1', b'\\"n\\": 1e400'),  # infinite double
    _value(outer={"skipped": "x"}).replace(b'"x"', b'"\xff"'),          # bad UTF-8 in a skipped field
    _value(data={"deep": json.loads("[" * 70 + "]" * 70)}),
    _value(data={"deep": json.loads("[" * 30 + "]" * 30), "wide": [[]] * 40}),
    _value(outer={"data": 5}), _value(raw_data="[1]"), _value(raw_data="{bad"),
    _value(outer={"uuid": ""}), _value(outer={"uuid": None}, data={"uuid": None}),
    _value(outer={"uuid": "not-a-uuid"}), _value(outer={"uuid": UUID.upper()}),
    _value(data={"properties": [1]}), _value(data={"properties": None}),
    _value(outer={"properties": {"outer": True}}),
    _value(data={"event": None}), _value(data={"event": 12.5}), _value(data={"event": "x" * 300}),
    _value(outer={"distinct_id": None}, data={"distinct_id": None, "$distinct_id": 42}),
    _value(outer={"distinct_id": ""}), _value(outer={"distinct_id": {"a": [1]}}),
    _value(outer={"token": "", "$token": "phc_second", "api_key": "phc_third"}),
    _value(outer={"token": 5}, data={"api_key": "phc_inner"}),
    _value(outer={"now": "garbage"}), _value(outer={"now": "99999-01-01"}), _value(outer={"now": 12}),
    _value(data={"data": "inner data key", "$set": {"a": 1}, "ip": None, "sent_at": "2026-11-20T17:16:03Z"}),
    b'{"uuid":"%s","uuid":"x","data":"{\\"event\\":\\"e\\",\\"distinct_id\\":\\"d\\"}"}' % UUID.encode(),
]


def _state(value: bytes | None) -> EventState:
    return EventState(0, Record(7, 1_795_194_964_583, b"k", (("h", b"\xffv"),), value))


def snapshot(ev: EventState) -> dict:
    # ev.event holds only the fields later stages read in the fast path; compare those.
    fields = {name: getattr(ev, name) for name in DECODED_FIELDS if name != "event"}
    fields["event"] = {k: ev.event.get(k) for k in ("$set", "$set_once", "ip", "sent_at", "timestamp", "offset",
                                                     "now")}
    return json.loads(jsonrules.dumps(fields))


@pytest.mark.parametrize("index", range(len(EDGE_VALUES)))
def test_decode_matches_reference_on_edge_cases(index: int) -> None:
    value = EDGE_VALUES[index]
    expected, got = _state(value), _state(value)
    decode_record(expected, "topic", 3)
    FastDecoder().decode_batch([got], "topic", 3)
    assert snapshot(got) == snapshot(expected)


def test_encoders_fall_back_for_lone_surrogates() -> None:
    value = {"s": "a\ud800b", "n": [1, 2.5, None, True]}
    assert encode.dumps_bytes(value) == jsonrules.dumps_bytes(value)
    assert json.loads(encode.dumps_text({"x": "é"})) == {"x": "é"}


def test_msgspec_verifies_on_every_profile() -> None:
    verify_all_profiles("msgspec")
