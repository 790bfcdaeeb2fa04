"""Cython implementations: the typed functions against the reference's, verification of
`cython-compiled` and `cython` on every profile, and the "unavailable" path."""

from __future__ import annotations

import json
import random
import types

import pytest

import impls.cython_impl as cython_impl
from impls.reference import jsonrules, timestamps
from tests.test_impl_msgspec import EDGE_VALUES, _state, snapshot, verify_all_profiles

if cython_impl.IMPLEMENTATION.unavailable_reason() is not None:
    pytest.fail(f"Cython extensions not built: {cython_impl.IMPLEMENTATION.unavailable_reason()}",
                pytrace=False)

from impls.cython_impl.pipeline import typed  # noqa: E402
from impls.reference.decode import decode_record  # noqa: E402

JSON_VALUES = [
    {"a": "\ud800é😀\x7f\"\\\n\r\t\b\f\x01", "b": [1, -2, 2.5, 1e16, 1e-7, -0.0, True, False, None], "c": {}},
    [], "", 0, 2**64 - 1, -(2**63), 1.7976931348623157e308, {"nested": [[{"x": [[]]}]]},
]


@pytest.mark.parametrize("value", JSON_VALUES)
def test_typed_encoder_writes_the_reference_text(value) -> None:
    assert typed.dumps_bytes(value) == jsonrules.dumps_bytes(value)


def test_typed_encoder_refuses_what_json_refuses() -> None:
    with pytest.raises(ValueError):
        typed.dumps_bytes({"x": float("nan")})
    with pytest.raises(TypeError):
        typed.dumps_bytes({1: "non-string key"})  # the pipeline falls back to the reference encoder


def test_typed_format_ms_matches_reference() -> None:
    rng = random.Random(3)
    samples = [0, -1, 1, timestamps.MIN_MS, timestamps.MAX_MS, timestamps.MIN_MS - 1, 10**15]
    samples += [rng.randrange(timestamps.MIN_MS, timestamps.MAX_MS) for _ in range(2000)]
    for ms in samples:
        assert typed.format_ms(ms) == timestamps.format_ms(ms)
        assert typed.format_seconds(ms) == timestamps.format_seconds(ms)


def test_typed_depth_scan_matches_reference() -> None:
    rng = random.Random(4)
    alphabet = '[]{}"\\ae0123456789+- '
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
        assert typed.too_deep(text, 3) == jsonrules.too_deep(text, 3), text
        try:
            parsed = json.loads(text)
        except ValueError:
            continue
        assert typed.nested_deeper(parsed, 3) == jsonrules.too_deep(text, 3), text  # valid JSON: same answer


def _number(rng: random.Random) -> str:
    """A JSON number literal, often one the strict and the plain parser read differently."""
    digits = "".join(rng.choice("0123456789") for _ in range(rng.choice([1, 3, 18, 19, 20, 25, 310])))
    mantissa = (rng.choice(["", "-"]) + (digits.lstrip("0") or "0") + rng.choice(["", "", ".5", ".0"]))
    exponent = rng.choice(["", "", "e5", "E+99", "e307", "e308", "e309", "E400", "e+400", "e-400", "e0400", "e12"])
    return mantissa + exponent


def _value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(6 if depth < 3 else 4)
    if kind == 0:
        return _NumberText(_number(rng))
    if kind == 1:  # strings that look like numbers or UUID hex groups
        return rng.choice(["3e456-", "01a1f9f5-3e56-7b68-ba44-40b4828e1940", "1e400", "12345678901234567890", "x"])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.randrange(-1000, 1000)
    if kind == 4:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{i}": _value(rng, depth + 1) for i in range(rng.randrange(4))}


class _NumberText(str):
    """A number literal written verbatim by _dumps."""


def _dumps(value) -> str:
    if isinstance(value, _NumberText):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(map(_dumps, value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _dumps(v) for k, v in value.items()) + "}"
    return json.dumps(value)


def number_records(count: int, seed: int) -> list[bytes]:
    """Records whose documents hold numbers the strict and the plain parser may read differently,
    some with digits of `data` written as \\u00XX escapes (which the reference's gate cannot see)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        props = {f"p{i}": _value(rng) for i in range(rng.randrange(1, 6))}
        inner = '{"event":"e","distinct_id":"d","properties":' + _dumps(props) + "}"
        data = json.dumps(inner)[1:-1]
        if rng.random() < 0.3:  # spell some digits of `data` as escapes
            data = "".join(f"\\u{ord(c):04x}" if c.isdigit() and rng.random() < 0.5 else c for c in data)
        outer_number = _number(rng) if rng.random() < 0.3 else "1"
        out.append(('{"uuid":"01a1f9f5-3e5c-7b68-ba44-40b482841940","n":' + outer_number
                    + ',"token":"phc_x","data":"' + data + '"}').encode())
    return out


NUMBER_RECORDS = number_records(400, 7)


def _strict_plain_differ(text: str) -> bool:
    def read(decoder):
        try:
            return repr(decoder.decode(text))
        except ValueError as exc:
            return type(exc).__name__
    return read(jsonrules._strict_decoder) != read(jsonrules._plain_decoder)


def test_tight_number_gate_sees_every_verbatim_out_of_range_literal() -> None:
    differing = 0
    for raw in NUMBER_RECORDS:
        outer_text = raw.decode()
        docs = [outer_text]
        try:
            docs.append(json.loads(outer_text)["data"])
        except ValueError:
            pass
        if _strict_plain_differ(outer_text) or (b"\\u00" not in raw and any(map(_strict_plain_differ, docs))):
            differing += 1
            assert typed.tight_number_gate(raw), raw
    assert differing > 50  # the generator does produce such literals


def reference_snapshot(ev) -> str:
    """Like tests.test_impl_msgspec.snapshot, but by repr: the reference may keep an infinite
    double or a big integer here (plain parser), which JSON cannot carry."""
    return repr(tuple(getattr(ev, name) for name in ("outcome", "dlq", "headers", "uuid", "name", "distinct_id",
                                                     "token", "properties", "now_ms")))


def test_typed_decode_matches_reference_on_number_records() -> None:
    for raw in NUMBER_RECORDS:
        expected, got = _state(raw), _state(raw)
        decode_record(expected, "topic", 3)
        typed.decode_record(got, "topic", 3)
        assert reference_snapshot(got) == reference_snapshot(expected), raw


@pytest.mark.parametrize("index", range(len(EDGE_VALUES)))
def test_typed_decode_matches_reference(index: int) -> None:
    expected, got = _state(EDGE_VALUES[index]), _state(EDGE_VALUES[index])
    decode_record(expected, "topic", 3)
    typed.decode_record(got, "topic", 3)
    assert snapshot(got) == snapshot(expected)


def test_missing_extension_is_reported_not_run_as_python(monkeypatch) -> None:
    fake = types.ModuleType("fake_compiled")
    fake.__file__ = "/somewhere/fake_compiled.py"
    monkeypatch.setitem(__import__("sys").modules, "fake_compiled", fake)
    with pytest.raises(ImportError, match="not a compiled extension"):
        cython_impl.compiled_module("fake_compiled")
    missing = cython_impl.InProcess(name="x", description="", pipeline=None, missing="Cython extension not built")
    assert missing.unavailable_reason() == "Cython extension not built"


@pytest.mark.parametrize("impl", ["cython-compiled", "cython"])
def test_cython_verifies_on_every_profile(impl: str) -> None:
    verify_all_profiles(impl)


def _timestamp_samples(count: int, seed: int) -> list[str]:
    """Strings near every accepted format, valid and not (bad fields, wrong lengths, zones…)."""
    rng = random.Random(seed)
    pieces = ["2026", "0000", "9999", "1970", "-", "/", "T", "t", " ", "11", "02", "29", "30", "31", "13",
              "00", "23", "24", "59", "60", ":", ".", "5", "123", "1234567", "Z", "z", "+", "-05", "+05:30",
              "+0530", "+24:00", "-23:59", "+05:60", "Mon, ", "Jan", "Feb", "GMT", "UTC", "UT", "١", "x", "\n"]
    samples = ["2026-11-20T19:04:29.848979+00:00", "2026-11-20", "2026-11-20 19:04", "2024-02-29T00:00:00Z",
               "2023-02-29T00:00:00Z", "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999+00:00",
               "2026-11-20T19:04:29+05", "2026-11-20T19:04Z", "2026-11-20T19:04:29.Z", "2026-11-20T25:00:00",
               "2026-11-20T19:04:29+0530", "2026-11-20T19:04:29+05:3", "2026-11-20T19:04:29+053",
               "Thu, 27 Nov 2025 06:36:07 GMT", "27 Nov 2025 06:36 +0100", "2026/11/20 19:04:29.5", "1794650181",
               "1794650181.25", "1794650181123", "1234567890123456", "03/06/2026", "2026-06-21",
               "2026-09-19T22:54:57.109Z", "2026-11-20T19:04:29.848979+00:00\n"]
    for _ in range(count):
        base = rng.choice(samples)
        if rng.random() < 0.6:
            i = rng.randrange(len(base) + 1)
            j = min(len(base), i + rng.randrange(4))
            base = base[:i] + rng.choice(pieces) + base[j:]
        samples.append(base)
    return samples


def test_typed_timestamp_parsing_matches_reference() -> None:
    from impls.reference.properties import likely_date

    for text in _timestamp_samples(20000, 5):
        assert typed.parse_timestamp(text) == timestamps.parse_timestamp(text), text
        assert typed.parse_iso(text, True) == timestamps.parse_iso(text, zone_required=True), text
        assert typed.likely_date(text) == likely_date(text), text


def test_typed_detect_type_matches_reference() -> None:
    from impls.reference.properties import detect_type

    now_ms = 1_795_201_469_849
    names = ["created_at", "Updated-At", "timestamp_local", "utm_source", "$initial_utm_term", "$feature/x",
             "$survey_response_1", "$feature_flag_response", "price", "UPDATEDAT", "dATE", "İ_at", "flag"]
    values = ["true", "FALSE", "True", "", 1, 1.5, True, None, [], {}, now_ms // 1000, now_ms // 1000 - 15_768_001,
              float(now_ms // 1000 - 15_768_000), 2**70] + _timestamp_samples(300, 6)
    for name in names:
        for value in values:
            assert typed.detect_type(name, value, now_ms) == detect_type(name, value, now_ms), (name, value)


def test_typed_person_uuid_matches_reference() -> None:
    from impls.reference.persons import person_uuid

    for team_id, distinct_id in [(7, "abc"), (2, ""), (10**20, "é😀"), (1, "\ud800x"), (-3, "x" * 500)]:
        assert typed.person_uuid(team_id, distinct_id) == person_uuid(team_id, distinct_id)
