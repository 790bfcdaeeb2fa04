"""JSON reading and writing rules shared by every stage (docs/pipeline.md, "JSON rules").

The rules are chosen so that a serde_json- or msgspec-based implementation can agree exactly:
strict RFC 8259 input (no NaN/Infinity), integers outside [-2^63, 2^64-1] become the nearest
double, a number whose double is infinite is invalid, nesting deeper than MAX_DEPTH is refused
(checked on the raw text, before parsing), output is compact ASCII-only JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


class JSONRuleError(ValueError):
    """Raised for documents that break our JSON rules (reason: "invalid_json" or "json_too_deep")."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _parse_int(text: str) -> int | float:
    value = int(text)
    if _INT_MIN <= value <= _INT_MAX:
        return value
    as_float = float(text)  # correctly rounded, like JSON.parse / serde_json
    if as_float in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {text[:40]}")
    return as_float


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# The number hooks cost a Python call per number, so they are used only when the raw bytes hold
# a run of 19+ digits or a 3-digit exponent: the only ways a literal can leave the int64/uint64
# or the double range. Numbers inside the `data` string appear verbatim in the outer bytes, so
# one check of the record value covers both documents, unless the outer string spells some of
# their characters as \u00XX escapes (decode.py then checks the `data` text itself).
_strict_decoder = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_reject_constant)
_plain_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_NUMBER_SHAPE = bytes(
    ord("0") if 48 <= b <= 57 else ord("e") if b in b"eE" else ord("+") if b == ord("+")
    else ord("a") if (65 <= b <= 90 or 97 <= b <= 122) else ord(" ")
    for b in range(256)
)


def needs_number_checks(raw: bytes) -> bool:
    """False when no number literal in `raw` can be out of range (false positives are harmless)."""
    shape = raw.translate(_NUMBER_SHAPE)
    return (b"0000000000000000000" in shape or b"0e000 " in shape or b"0e0000" in shape
            or b"0e+000" in shape)

# A string literal (possibly unterminated) or one bracket; used only by the depth scan.
_DEPTH_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)


def too_deep(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """True when `[`/`{` nesting outside string literals exceeds max_depth at any point."""
    # Cheap necessary condition first: most documents have few brackets in total.
    if text.count("[") + text.count("{") <= max_depth:
        return False
    depth = 0
    for match in _DEPTH_TOKEN.finditer(text):
        char = match.group()
        if char == "[" or char == "{":
            depth += 1
            if depth > max_depth:
                return True
        elif char == "]" or char == "}":
            depth -= 1
    return False


def loads(text: str, number_checks: bool = True) -> Any:
    """Parse one JSON document under our rules; raises JSONRuleError. `number_checks=False` is
    only allowed when needs_number_checks() said False for bytes containing the text."""
    if too_deep(text):
        raise JSONRuleError("json_too_deep", f"nesting deeper than {MAX_DEPTH}")
    try:
        return (_strict_decoder if number_checks else _plain_decoder).decode(text)
    except (ValueError, RecursionError) as exc:
        raise JSONRuleError("invalid_json", str(exc)[:200]) from None


_encoder = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)
_text_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> str:
    """Compact, ASCII-only JSON (lone surrogates and non-ASCII written as \\uXXXX escapes)."""
    return _encoder.encode(value)


def dumps_bytes(value: Any) -> bytes:
    return _encoder.encode(value).encode("ascii")


def json_text(value: Any) -> str:
    """Stringify a JSON value the way JSON.stringify would for non-strings (docs: "stringify")."""
    if type(value) is str:
        return value
    return _text_encoder.encode(value)


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers; int and float compare by exact numeric value."""
    if a is b:
        return True
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if ta in (int, float) and tb in (int, float):
        return a == b
    if ta is not tb:
        return False
    if ta is dict:
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    if ta is list:
        return len(a) == len(b) and all(map(json_equal, a, b))
    return a == b
