"""Encoding and decoding of the bridge's frames, protocol version 2 (docs/bridge.md).

Pure functions over bytes: the process handling lives in session.py. Every integer is
little-endian; a frame is `PBRG`, a kind byte, a u32 payload length, the payload.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from impls.base import STAGES, STREAMS, BatchOutput, PartitionContext, Record

PROTOCOL_VERSION = 2
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
BATCH_SHM = ord("b")   # protocol 2: the batch payload is in shared memory (u64 length, at offset 0)
RESULT_SHM = ord("r")  # protocol 2: the result payload is in shared memory (u64 offset, u64 length)
KINDS = {HELLO, CONTEXT, READY, BATCH, RESULT, ERROR, QUIT, BATCH_SHM, RESULT_SHM}
SHM_RESULT = struct.Struct("<QQ")

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


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


def hello_payload(mode: str, instrument: bool, shm: str | None = None) -> bytes:
    doc: dict[str, Any] = {"protocol": PROTOCOL_VERSION, "mode": mode, "instrument": instrument}
    if shm is not None:
        doc["shm"] = shm
    return json.dumps(doc).encode()


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


def _lengths(fmt: str, values: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(values)}{fmt}", *values)


def _encoded_names(names: list[str]) -> tuple[list[int], bytes]:
    """Header names' lengths and concatenated UTF-8 bytes, with one encode call when ASCII."""
    joined = "".join(names)
    if joined.isascii():
        return [len(n) for n in names], joined.encode("ascii")
    raw = [n.encode("utf-8", "surrogatepass") for n in names]
    return [len(r) for r in raw], b"".join(raw)


def batch_payload(batch: Sequence[Record]) -> bytes:
    """Columnar: fixed-width arrays first, then each byte field's lengths and concatenated bytes.

    Raw keys, header values and values travel unchanged (no JSON wrapping). Built with list
    comprehensions, one struct.pack per column and a single join (one copy of the values): the
    per-record Python work is the bridge's cost.
    """
    keys = [r.key for r in batch]
    values = [r.value for r in batch]
    headers = [h for r in batch for h in r.headers]
    name_lengths, names = _encoded_names([n for n, _ in headers])
    header_values = [v for _, v in headers]
    return b"".join([
        _U32.pack(len(batch)),
        _lengths("q", [r.offset for r in batch]),
        _lengths("q", [r.timestamp_ms for r in batch]),
        _lengths("i", [-1 if k is None else len(k) for k in keys]),
        *[k for k in keys if k is not None],
        _lengths("i", [-1 if v is None else len(v) for v in values]),
        *[v for v in values if v is not None],
        _lengths("I", [len(r.headers) for r in batch]),
        _lengths("I", name_lengths),
        names,
        _lengths("I", [len(v) for v in header_values]),
        *header_values,
    ])


@dataclass
class Result:
    output: BatchOutput
    stage_ns: dict[str, int]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def need(self, n: int) -> None:
        if self.pos + n > len(self.data):
            raise FrameError(f"result frame truncated at byte {self.pos} (needs {n} more)")

    def u32(self) -> int:
        self.need(4)
        value = _U32.unpack_from(self.data, self.pos)[0]
        self.pos += 4
        return value

    def u64(self) -> int:
        self.need(8)
        value = _U64.unpack_from(self.data, self.pos)[0]
        self.pos += 8
        return value

    def name(self) -> str:
        n = self.u32()
        self.need(n)
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise FrameError(f"name {raw[:40]!r} is not UTF-8") from None

    def records(self) -> list[bytes]:
        """u32 count, count × u32 lengths, then the records' bytes concatenated."""
        count = self.u32()
        self.need(4 * count)
        lengths = struct.unpack_from(f"<{count}I", self.data, self.pos)
        self.pos += 4 * count
        ends = list(accumulate(lengths, initial=self.pos))
        self.need(ends[-1] - self.pos)
        data = self.data
        out = [data[a:b] for a, b in zip(ends, ends[1:], strict=False)]  # ends has one more item
        self.pos = ends[-1]
        return out


def parse_result(payload: bytes) -> Result:
    """RESULT payload → BatchOutput with processing_seconds = the child's own time."""
    r = _Reader(payload)
    processing_ns = r.u64()
    streams: dict[str, list[bytes]] = {name: [] for name in STREAMS}
    for _ in range(r.u32()):
        name = r.name()
        if name not in streams:
            raise FrameError(f"unknown output stream {name!r}")
        streams[name].extend(r.records())
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
