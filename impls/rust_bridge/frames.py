"""Encoding and decoding of the bridge's frames, protocol version 1 (docs/bridge.md).

Pure functions over bytes: the process handling lives in session.py. Every integer is
little-endian; a frame is `PBRG`, a kind byte, a u32 payload length, the payload.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from impls.base import STAGES, STREAMS, BatchOutput, PartitionContext, Record

PROTOCOL_VERSION = 1
MAGIC = b"PBRG"
HEADER = struct.Struct("<4sBI")
HEADER_LEN = HEADER.size  # 9
MAX_PAYLOAD = 1 << 30

HELLO = ord("H")
CONTEXT = ord("C")
READY = ord("K")
BATCH = ord("B")
RESULT = ord("R")
ERROR = ord("E")
QUIT = ord("Q")
KINDS = {HELLO, CONTEXT, READY, BATCH, RESULT, ERROR, QUIT}

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_REC_HEAD = struct.Struct("<qqi")
_I32 = struct.Struct("<i")


class FrameError(ValueError):
    """The peer sent bytes that are not a valid frame of this protocol."""


@dataclass(frozen=True)
class Header:
    kind: int
    length: int


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(MAGIC, kind, len(payload)) + payload


def parse_header(data: bytes | bytearray | memoryview) -> Header:
    magic, kind, length = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise FrameError(f"bad frame magic {bytes(magic)!r} (expected {MAGIC!r})")
    if kind not in KINDS:
        raise FrameError(f"unknown frame kind {kind!r}")
    if length > MAX_PAYLOAD:
        raise FrameError(f"frame length {length} over the {MAX_PAYLOAD}-byte limit")
    return Header(kind, length)


def hello_payload(mode: str, instrument: bool) -> bytes:
    return json.dumps({"protocol": PROTOCOL_VERSION, "mode": mode, "instrument": instrument}).encode()


def parse_hello(payload: bytes) -> dict[str, Any]:
    try:
        hello = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError(f"hello payload is not JSON: {exc}") from None
    if not isinstance(hello, dict) or not isinstance(hello.get("protocol"), int):
        raise FrameError("hello payload has no integer 'protocol'")
    return hello


def context_payload(context: PartitionContext) -> bytes:
    doc = {
        "teams": list(context.teams),
        "persons": list(context.persons),
        "groups": list(context.groups),
        "restrictions": list(context.restrictions),
        "settings": dict(context.settings),
        "topic": context.topic,
        "partition": context.partition,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _opt_bytes(parts: list[bytes], value: bytes | None) -> None:
    if value is None:
        parts.append(b"\xff\xff\xff\xff")  # i32 -1: null
    else:
        parts.append(_I32.pack(len(value)))
        parts.append(value)


def batch_payload(batch: Sequence[Record]) -> bytes:
    """Records as binary fields: raw keys, header values and values travel unchanged."""
    parts: list[bytes] = [_U32.pack(len(batch))]
    append = parts.append
    for rec in batch:
        append(struct.pack("<qq", rec.offset, rec.timestamp_ms))
        _opt_bytes(parts, rec.key)
        append(_U32.pack(len(rec.headers)))
        for name, value in rec.headers:
            raw = name.encode()
            append(_U32.pack(len(raw)))
            append(raw)
            append(_U32.pack(len(value)))
            append(value)
        _opt_bytes(parts, rec.value)
    return b"".join(parts)


@dataclass
class Result:
    output: BatchOutput
    stage_ns: dict[str, int]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise FrameError(f"result frame truncated at byte {self.pos} (needs {n} more)")
        out = self.data[self.pos:end]
        self.pos = end
        return out

    def u32(self) -> int:
        return _U32.unpack(self.take(4))[0]

    def u64(self) -> int:
        return _U64.unpack(self.take(8))[0]

    def name(self) -> str:
        raw = self.take(self.u32())
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise FrameError(f"name {raw[:40]!r} is not UTF-8") from None


def parse_result(payload: bytes) -> Result:
    """RESULT payload → BatchOutput with processing_seconds = the child's own time."""
    r = _Reader(payload)
    processing_ns = r.u64()
    streams: dict[str, list[bytes]] = {name: [] for name in STREAMS}
    for _ in range(r.u32()):
        name = r.name()
        if name not in streams:
            raise FrameError(f"unknown output stream {name!r}")
        records = streams[name]
        for _ in range(r.u32()):
            records.append(r.take(r.u32()))
    outcomes: dict[str, int] = {}
    for _ in range(r.u32()):
        name = r.name()
        outcomes[name] = outcomes.get(name, 0) + r.u64()
    stage_ns: dict[str, int] = {}
    for _ in range(r.u32()):
        name = r.name()
        if name not in STAGES:
            raise FrameError(f"unknown stage {name!r}")
        stage_ns[name] = r.u64()
    if r.pos != len(payload):
        raise FrameError(f"result frame has {len(payload) - r.pos} trailing bytes")
    output = BatchOutput(streams=streams, outcomes=outcomes, processing_seconds=processing_ns / 1e9)
    return Result(output, stage_ns)
