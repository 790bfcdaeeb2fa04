"""Canonical form of output records: parsed JSON (and parsed JSON-in-string fields), compared
by value; numbers by numeric value, booleans apart from numbers; order within a stream kept."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from impls.base import STREAMS
from impls.reference.rows import JSON_STRING_FIELDS

_MISSING = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def parse_record(stream: str, raw: bytes) -> Any:
    """Raises ValueError when the record (or one of its JSON-in-string fields) is not JSON."""
    value = _decoder.decode(raw.decode("utf-8"))
    if type(value) is dict:
        for name in JSON_STRING_FIELDS.get(stream, ()):
            inner = value.get(name)
            if type(inner) is str:
                value[name] = _decoder.decode(inner)
    return value


def _path(path: str, key: Any) -> str:
    return f"{path}[{key}]" if type(key) is int else (f"{path}.{key}" if path else str(key))


def first_difference(expected: Any, got: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """(field path, expected value, got value) of the first difference, or None when equal."""
    te, tg = type(expected), type(got)
    if te is bool or tg is bool:
        return None if te is tg and expected == got else (path, expected, got)
    if te in (int, float) and tg in (int, float):
        return None if expected == got else (path, expected, got)
    if te is not tg:
        return (path, expected, got)
    if te is dict:
        for key in sorted(expected.keys() | got.keys()):
            sub = first_difference(expected.get(key, _MISSING), got.get(key, _MISSING), _path(path, key))
            if sub is not None:
                return sub
        return None
    if te is list:
        for index, (a, b) in enumerate(zip(expected, got, strict=False)):
            sub = first_difference(a, b, _path(path, index))
            if sub is not None:
                return sub
        if len(expected) != len(got):
            return (_path(path, "length"), len(expected), len(got))
        return None
    return None if expected == got else (path, expected, got)


def _numbers_as_written(value: Any) -> Any:
    """Integral floats as ints, so the digest does not depend on how a float was spelled."""
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is dict:
        return {k: _numbers_as_written(v) for k, v in value.items()}
    if kind is list:
        return [_numbers_as_written(v) for v in value]
    return value


def digest(streams: dict[str, Sequence[bytes]], outcomes: dict[str, int]) -> str:
    """sha256 of the canonical outputs (streams in STREAMS order, then the outcome counts)."""
    h = hashlib.sha256()
    for name in STREAMS:
        rows = streams.get(name, [])
        h.update(f"{name}\n{len(rows)}\n".encode())
        for raw in rows:
            canon = _numbers_as_written(parse_record(name, raw))
            h.update(json.dumps(canon, sort_keys=True, separators=(",", ":")).encode("ascii"))
            h.update(b"\n")
    h.update(json.dumps(dict(sorted(outcomes.items())), separators=(",", ":")).encode())
    return "sha256:" + h.hexdigest()


@dataclass
class Mismatch:
    stream: str            # a stream name, or "outcomes"
    index: int | None      # record index within the stream
    path: str              # field path inside the record ("" = the whole record)
    expected: Any
    got: Any

    def describe(self) -> str:
        where = self.stream if self.index is None else f"{self.stream}[{self.index}]"
        field = f" field {self.path}" if self.path else ""
        return f"{where}{field}: reference {_short(self.expected)} != implementation {_short(self.got)}"


def _short(value: Any, limit: int = 300) -> str:
    if value is _MISSING:
        return "<missing>"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def compare_streams(expected: dict[str, Sequence[bytes]], got: dict[str, Sequence[bytes]]) -> Mismatch | None:
    """The first differing record, stream by stream in STREAMS order."""
    for name in STREAMS:
        exp_rows, got_rows = expected.get(name, []), got.get(name, [])
        for index, (a, b) in enumerate(zip(exp_rows, got_rows, strict=False)):
            if a == b:
                continue  # byte-identical records are canonically equal
            try:
                got_value = parse_record(name, b)
            except (ValueError, UnicodeDecodeError) as exc:
                return Mismatch(name, index, "", "valid JSON", f"not JSON: {exc}")
            diff = first_difference(parse_record(name, a), got_value)
            if diff is not None:
                return Mismatch(name, index, diff[0], diff[1], diff[2])
        if len(exp_rows) != len(got_rows):
            index = min(len(exp_rows), len(got_rows))
            extra = exp_rows[index] if len(exp_rows) > index else got_rows[index]
            return Mismatch(name, index, "", f"{len(exp_rows)} records", f"{len(got_rows)} records; "
                            f"first unmatched: {extra[:200].decode('utf-8', 'replace')}")
    return None


def compare_outcomes(expected: dict[str, int], got: dict[str, int]) -> Mismatch | None:
    for key in sorted(expected.keys() | got.keys()):
        if expected.get(key, 0) != got.get(key, 0):
            return Mismatch("outcomes", None, key, expected.get(key, 0), got.get(key, 0))
    return None
