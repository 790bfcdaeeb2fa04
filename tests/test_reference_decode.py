"""decode / resolve_team / sanitize rules and the JSON rules (docs/pipeline.md)."""

from __future__ import annotations

import base64
import json

import pytest

from impls.base import Record
from impls.reference import jsonrules
from tests.test_reference_support import DROP, NOW_MS, TOKEN, make_record, one_event, run_batch


def dlq_of(record: Record) -> dict:
    streams, outcomes = run_batch([record])
    assert outcomes == {"dlq": 1}, outcomes
    return streams["dlq"][0]


@pytest.mark.parametrize(("record", "reason"), [
    (make_record(value=b""), "empty_value"),
    (Record(7, NOW_MS, None, (), None), "empty_value"),
    (make_record(value=b'{"uuid": "caf\xe9"}'), "invalid_utf8"),
    (make_record(value=b'{"a": "\xed\xa0\x80"}'), "invalid_utf8"),      # UTF-8-encoded surrogate
    (make_record(value=b'{"uuid": '), "invalid_json"),
    (make_record(value=b'[1, 2]'), "invalid_json"),
    (make_record(value=b'{"a": NaN}'), "invalid_json"),
    (make_record(value=b'{"a": 1e400}'), "invalid_json"),
    (make_record(value=b'{"a": ' + b"9" * 400 + b"}"), "invalid_json"),
    (make_record(value=b'\xef\xbb\xbf{"a": 1}'), "invalid_json"),         # BOM
    (make_record(value=b"[" * 65 + b"]" * 65), "json_too_deep"),
    (make_record(value=b"[" * 2000), "json_too_deep"),                   # too deep wins over invalid
    (make_record(data_value=DROP), "invalid_data"),
    (make_record(data_value={"event": "x"}), "invalid_data"),
    (make_record(raw_data='{"event": "x"'), "invalid_data"),
    (make_record(raw_data='"just a string"'), "invalid_data"),
    (make_record(raw_data='{"p": ' + "[" * 70 + "]" * 70 + "}"), "json_too_deep"),
    (make_record(uuid=DROP), "empty_uuid"),
    (make_record(uuid=None), "empty_uuid"),
    (make_record(uuid=""), "empty_uuid"),
    (make_record(uuid="not-a-uuid"), "invalid_uuid"),
    (make_record(uuid=12345), "invalid_uuid"),
    (make_record(uuid="{0196f3a2-7c41-7d2e-9a55-3f0c2b9e4a11}"), "invalid_uuid"),
    (make_record({"properties": [1, 2]}), "invalid_properties"),
])
def test_dlq_reasons(record: Record, reason: str) -> None:
    row = dlq_of(record)
    assert row["dlq_reason"] == reason
    assert row["dlq_step"] == "decode"
    assert row["dlq_offset"] == record.offset
    assert row["value_b64"] == (None if record.value is None else base64.b64encode(record.value).decode())


def test_depth_limit_is_exactly_64() -> None:
    ok = "[" * 64 + "]" * 64
    assert jsonrules.loads(ok) is not None
    with pytest.raises(jsonrules.JSONRuleError) as exc:
        jsonrules.loads("[" * 65 + "]" * 65)
    assert exc.value.reason == "json_too_deep"
    # brackets inside strings do not count, escaped quotes do not end strings
    assert jsonrules.loads(json.dumps({"s": "[" * 100 + '\\"' + "{" * 100})) is not None


@pytest.mark.parametrize(("text", "expected"), [
    ("18446744073709551615", 18446744073709551615),                 # 2^64-1 stays an integer
    ("-9223372036854775808", -9223372036854775808),                 # -2^63 stays an integer
    ("18446744073709551616", 18446744073709551616.0),               # 2^64 becomes a double
    ("-9223372036854775809", -9223372036854775808.0),
    ("123456789012345678901234567890", 1.2345678901234568e29),
    ("-0", 0),
    ("1e308", 1e308),
])
def test_integers_beyond_64_bits_become_doubles(text: str, expected: object) -> None:
    value = jsonrules.loads(text)
    assert value == expected and type(value) is type(expected)


def test_number_prefilter_never_lets_a_big_literal_through() -> None:
    for raw in (b'{"a": 12345678901234567890}', b'{"a": -9999999999999999999}', b'{"a": 1E400}',
                b'{"a": 1.5e+309}', b'{"a": 1e0400}'):
        assert jsonrules.needs_number_checks(raw), raw
    assert not jsonrules.needs_number_checks(b'{"a": 1795773600123, "b": 1.5e-7}')


def test_big_integer_in_properties_is_a_double_in_the_output() -> None:
    row = one_event(raw_data='{"event": "x", "properties": {"n": 123456789012345678901234567890, "m": 7}}')
    assert row["properties"]["n"] == 1.2345678901234568e29 and isinstance(row["properties"]["n"], float)
    assert row["properties"]["m"] == 7


def test_lone_surrogates_are_kept_and_output_is_ascii() -> None:
    streams, _ = run_batch([make_record(raw_data='{"event": "a\\ud800b", "properties": {"s": "\\udfff"}}')])
    row = streams["events"][0]
    assert row["event"] == "a\ud800b" and row["properties"]["s"] == "\udfff"
    records, _ = run_batch([make_record(raw_data='{"event": "\\ud83d\\ude00 caf\u00e9"}')])
    assert records["events"][0]["event"] == "\U0001F600 caf\u00e9"


def test_every_output_record_is_ascii() -> None:
    from impls.reference import ReferencePipeline
    from tests.test_reference_support import context
    out = ReferencePipeline(context()).process_batch(
        [make_record(raw_data='{"event": "\\ud800\\u0000\u00e9", "properties": {"k\u00e9": "\\udc00"}}')])
    for rows in out.streams.values():
        for row in rows:
            row.decode("ascii")


def test_merge_outer_wins_and_token_is_removed() -> None:
    row = one_event({"event": "inner", "distinct_id": "inner-id", "properties": {"a": 1}}, event="outer")
    assert row["event"] == "outer" and row["distinct_id"] == "user-1"
    assert "token" not in row["properties"]


@pytest.mark.parametrize(("value", "expected"), [
    (42, "42"), (3.5, "3.5"), (True, "true"), (1e16, "1e+16"), (2.0, "2.0"),
    ({"id": 1, "b": [1, "x"]}, '{"id":1,"b":[1,"x"]}'), (["a", 1], '["a",1]'), (0, "0"),
])
def test_non_string_distinct_ids_are_stringified(value: object, expected: str) -> None:
    assert one_event(distinct_id=value)["distinct_id"] == expected


def test_distinct_id_fallback_and_missing() -> None:
    assert one_event({"$distinct_id": "alt"}, distinct_id=DROP)["distinct_id"] == "alt"
    for value in (DROP, None, ""):
        _, outcomes = run_batch([make_record(distinct_id=value)])
        assert outcomes == {"drop:missing_distinct_id": 1}


def test_event_name_cut_to_200_characters_and_stringified() -> None:
    assert one_event({"event": "x" * 250})["event"] == "x" * 200
    assert one_event({"event": "\u00e9" * 201})["event"] == "\u00e9" * 200
    assert one_event({"event": 12})["event"] == "12"
    _, outcomes = run_batch([make_record({"event": None})])
    assert outcomes == {"drop:missing_event": 1}


def test_tokens_missing_unknown_and_aliases() -> None:
    _, outcomes = run_batch([make_record(token=DROP), make_record(token="phc_nope"), make_record(token=7)])
    assert outcomes == {"drop:missing_token": 2, "drop:unknown_token": 1}
    assert one_event({"api_key": TOKEN}, token=DROP)["team_id"] == 2
    assert one_event({"$token": TOKEN}, token="")["team_id"] == 2


def test_sanitize() -> None:
    row = one_event({"properties": {"$session_id": "0196F3A2-7C41-7D2E-9A55-3F0C2B9E4A11", "$set": {"a": 1, "b": 1}},
                     "$set": {"b": 2}, "$set_once": {"c": 3}},
                    distinct_id="a\u0000b", sent_at="2026-11-27T10:00:01Z")
    props = row["properties"]
    assert row["distinct_id"] == "a\ufffdb"
    assert props["$session_id"] == "0196f3a2-7c41-7d2e-9a55-3f0c2b9e4a11"
    assert props["$set"] == {"a": 1, "b": 2} and props["$set_once"] == {"c": 3}   # top level wins
    assert props["$ip"] == "10.0.0.1" and props["$sent_at"] == "2026-11-27T10:00:01Z"
    assert one_event({"properties": {"$ip": "1.1.1.1"}})["properties"]["$ip"] == "1.1.1.1"


def test_nul_characters_are_kept_in_properties() -> None:
    row = one_event({"properties": {"c": "a\u0000b", "k\u0000": 1}})
    assert row["properties"]["c"] == "a\u0000b" and row["properties"]["k\u0000"] == 1


def _escape_digits(record: Record, literal: bytes) -> Record:
    """The same record with `literal`'s characters inside `data` spelled as \\u00XX escapes."""
    escaped = b"".join(b"\\u%04x" % c for c in literal)
    assert literal in record.value
    return record._replace(value=record.value.replace(literal, escaped))


def test_number_rules_hold_when_digits_are_escaped_in_data() -> None:
    # The raw-bytes prefilter cannot see these digits; the rules must still apply.
    huge = _escape_digits(make_record(raw_data='{"event": "x", "properties": {"n": 1e400}}'), b"1e400")
    assert dlq_of(huge)["dlq_reason"] == "invalid_data"
    big = _escape_digits(make_record(raw_data='{"event": "x", "properties": {"n": 123456789012345678901234567890}}'),
                         b"123456789012345678901234567890")
    streams, _ = run_batch([big])
    n = streams["events"][0]["properties"]["n"]
    assert n == 1.2345678901234568e29 and isinstance(n, float)
