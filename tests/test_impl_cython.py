"""Cython implementations: the typed functions against the reference's, verification of
`cython-compiled` and `cython` on every profile, and the "unavailable" path."""

from __future__ import annotations

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


def test_typed_scans_match_reference() -> None:
    rng = random.Random(4)
    alphabet = '[]{}"\\ae0123456789+- '
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
        assert typed.too_deep(text, 3) == jsonrules.too_deep(text, 3), text
        raw = text.encode()
        if jsonrules.needs_number_checks(raw):  # the typed gate may say True more often, never less
            assert typed.may_need_number_checks(raw), text


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
