"""Digits spelled as \\u00XX escapes inside `data` get the same number rules in every implementation."""

from __future__ import annotations

import json

import pytest

from impls import registry
from tests.test_reference_decode import _escape_digits
from tests.test_reference_support import context, make_record

RECORDS = [
    _escape_digits(make_record(raw_data='{"event": "x", "properties": {"n": 1e400}}', offset=1), b"1e400"),
    _escape_digits(make_record(raw_data='{"event": "x", "properties": {"n": 123456789012345678901234567890}}',
                               offset=2), b"123456789012345678901234567890"),
    _escape_digits(make_record(raw_data='{"event": "x", "properties": {"n": 12345}}', offset=3), b"12345"),
]


def outputs(name: str) -> tuple[dict, dict]:
    session = registry.get(name).start(context())
    try:
        out = session.process_batch(RECORDS)
    finally:
        session.close()
    streams = {k: [json.loads(x) for x in v] for k, v in out.streams.items() if v}
    for row in streams.get("events", []):
        row["properties"] = json.loads(row["properties"])
    return streams, out.outcomes


# Stripped implementations (the Rust floor) do not apply the pipeline's rules by design.
@pytest.mark.parametrize("name", [n for n in registry.names()
                                  if n != registry.REFERENCE and registry.get(n).kind != "stripped"])
def test_escaped_digits_follow_the_number_rules(name: str) -> None:
    impl = registry.get(name)
    if impl.unavailable_reason():
        pytest.fail(f"{name} unavailable: {impl.unavailable_reason()}")
    ref_streams, ref_outcomes = outputs(registry.REFERENCE)
    assert ref_outcomes == {"dlq": 1, "event": 2}
    streams, outcomes = outputs(name)
    assert outcomes == ref_outcomes
    assert streams["dlq"][0]["dlq_reason"] == ref_streams["dlq"][0]["dlq_reason"] == "invalid_data"
    got = [row["properties"]["n"] for row in streams["events"]]
    want = [row["properties"]["n"] for row in ref_streams["events"]]
    assert got == want and [type(v) for v in got] == [type(v) for v in want] == [float, int]
