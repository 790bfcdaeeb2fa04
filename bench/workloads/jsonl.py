"""JSON Lines import/export: bring your own captures, or craft exact test cases by hand.

One JSON object per line. An optional first line `{"context": {...}}` carries the team table,
person and group snapshots and restrictions (and, on export, the origin). Every other line is a
record:

    {"offset": 7, "timestamp": 1795132800000, "key": "phc_…:user_1",
     "headers": [["token", "phc_…"], ["event", "$pageview"]], "value": "{\\"uuid\\": …}"}

`key`, `value` and header values are UTF-8 text, `null` (key/value only), or `{"b64": "…"}` for
bytes that are not valid UTF-8. On import `value` may also be a JSON object or array, written
compactly (handy for crafting cases); `headers` may be an object; `offset` defaults to the
previous one plus one (0 first); `timestamp_ms` is accepted for `timestamp`.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from bench.errors import UserError
from bench.workloads import format as workload_format
from bench.workloads.model import Workload
from impls.base import Record

CONTEXT_FIELDS = ("teams", "persons", "groups", "restrictions")


def _bytes_field(value: Any, where: str, what: str, nullable: bool) -> bytes | None:
    if value is None:
        if nullable:
            return None
        raise UserError(f"{where}: {what} must not be null")
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates from \\ud800 escapes
            raise UserError(f"{where}: {what} has a lone surrogate; give the bytes as {{\"b64\": …}}") from exc
    if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except ValueError as exc:
            raise UserError(f"{where}: {what}: invalid base64 ({exc})") from exc
    raise UserError(f"{where}: {what} must be a string, null or {{\"b64\": \"…\"}}")


def _record(obj: Any, where: str, previous_offset: int | None) -> Record:
    if not isinstance(obj, dict):
        raise UserError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = set(obj) - {"offset", "timestamp", "timestamp_ms", "key", "headers", "value"}
    if unknown:
        raise UserError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    ts = obj.get("timestamp", obj.get("timestamp_ms"))
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise UserError(f"{where}: timestamp must be an integer (epoch ms), got {ts!r}")
    offset = obj.get("offset")
    if offset is None:
        offset = 0 if previous_offset is None else previous_offset + 1
    elif not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise UserError(f"{where}: offset must be a non-negative integer, got {offset!r}")
    raw_headers = obj.get("headers", [])
    if isinstance(raw_headers, dict):
        raw_headers = list(raw_headers.items())
    if not isinstance(raw_headers, list):
        raise UserError(f"{where}: headers must be a list of [name, value] pairs or an object")
    headers = []
    for item in raw_headers:
        if not (isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise UserError(f"{where}: each header must be [name, value] with a string name, got {item!r}")
        value = _bytes_field(item[1], where, f"header {item[0]!r}", nullable=False)
        assert value is not None
        headers.append((item[0], value))
    value = obj.get("value")
    if isinstance(value, dict) and set(value) != {"b64"} or isinstance(value, list):
        value_bytes: bytes | None = orjson.dumps(value)
    else:
        value_bytes = _bytes_field(value, where, "value", nullable=True)
    return Record(offset, ts, _bytes_field(obj.get("key"), where, "key", nullable=True), tuple(headers), value_bytes)


def read_jsonl(path: str | os.PathLike[str], context: dict[str, Any] | None = None) -> Workload:
    """Parse a JSON Lines capture; any bad line raises UserError naming file:line and the reason."""
    path = Path(path)
    records: list[Record] = []
    file_context: dict[str, Any] = {}
    previous: int | None = None
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UserError(f"file {path}: cannot open ({exc.strerror or exc})") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            where = f"file {path}: line {number}"
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise UserError(f"{where}: not valid JSON ({exc})") from exc
            if isinstance(obj, dict) and "context" in obj:
                if records or file_context:
                    raise UserError(f"{where}: the context line must come first")
                if not isinstance(obj["context"], dict):
                    raise UserError(f"{where}: context must be an object")
                file_context = obj["context"]
                continue
            record = _record(obj, where, previous)
            previous = record.offset
            records.append(record)
    merged = dict(file_context)
    merged.update(context or {})
    for name in CONTEXT_FIELDS:
        if not isinstance(merged.get(name, []), list):
            raise UserError(f"file {path}: context field {name!r} must be a list")
    origin: dict[str, Any] = {"kind": "imported", "source": path.name,
                              "first_offset": records[0].offset if records else None,
                              "last_offset": records[-1].offset if records else None}
    if "origin" in file_context:
        origin["original_origin"] = file_context["origin"]
    header = {name: merged.get(name, []) for name in CONTEXT_FIELDS}
    header["origin"] = origin
    header["record_count"] = len(records)
    return Workload(name=path.stem, header=header, records=records)


def _text_or_b64(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode("ascii")}


def export_lines(header: dict[str, Any], records: Iterator[Record]) -> Iterator[bytes]:
    context = {name: header.get(name, []) for name in CONTEXT_FIELDS}
    context["origin"] = header.get("origin", {})
    yield orjson.dumps({"context": context}) + b"\n"
    for r in records:
        obj = {"offset": r.offset, "timestamp": r.timestamp_ms, "key": _text_or_b64(r.key),
               "headers": [[name, _text_or_b64(value)] for name, value in r.headers],
               "value": _text_or_b64(r.value)}
        yield orjson.dumps(obj) + b"\n"


def export(path: str | os.PathLike[str], out: IO[bytes]) -> int:
    """Write the workload at `path` as JSON Lines to `out` (streaming); returns the record count."""
    header = workload_format.read_header(path)
    count = 0

    def counted() -> Iterator[Record]:
        nonlocal count
        for record in workload_format.iter_records(path):
            count += 1
            yield record

    for line in export_lines(header, counted()):
        out.write(line)
    return count
