"""Encoding and decoding of the bridge's frames, protocol version 4 (docs/bridge.md).

Pure functions over bytes: the process handling lives in session.py. Every integer is
little-endian; a frame is `PBRG`, a kind byte, a u32 payload length, the payload. Batch and
result payloads are built and read by `marshal` (in C) rather than field by field in Python.
"""

from __future__ import annotations

import json
import marshal
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from impls.base import STAGES, STREAMS, BatchOutput, PartitionContext, Record
from impls.rust_bridge.packed_rows import PackedRows

PROTOCOL_VERSION = 4
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
BATCH_SHM = ord("b")   # the batch payload is in shared memory (u64 length, at offset 0)
RESULT_SHM = ord("r")  # the result payload is in shared memory (u64 offset, u64 length)
KINDS = {HELLO, CONTEXT, READY, BATCH, RESULT, ERROR, QUIT, BATCH_SHM, RESULT_SHM}
SHM_RESULT = struct.Struct("<QQ")

_U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")


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


def hello_payload(mode: str, instrument: bool, shm: str | None = None, spin_us: int = 0) -> bytes:
    doc: dict[str, Any] = {"protocol": PROTOCOL_VERSION, "mode": mode, "instrument": instrument}
    if shm is not None:
        doc["shm"] = shm
    if spin_us > 0:
        doc["spin_us"] = spin_us
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


def batch_parts(batch: Sequence[Record]) -> list[bytes]:
    """The batch payload in pieces to concatenate: u32 m, m bytes of marshal (version 4) holding
    the columns (offsets, timestamps, keys, headers), n × i32 value lengths (-1 = None), the values.

    Why marshal: it walks the records' fields in C, where building the columns with one Python
    operation per field (~8 headers per record) cost more than the child's parse. Version 4 writes
    an object seen before (a header name, a shared header value) as a back-reference: 2.5× less
    data and faster than version 2. The values stay out of the marshal part: its output buffer
    grows by doubling, which would copy the megabyte of values several times; a join copies it once.
    """
    offsets, timestamps, keys, headers, values = zip(*batch, strict=True) if batch else ((),) * 5
    columns = marshal.dumps((offsets, timestamps, keys, headers), 4)
    try:
        lengths = list(map(len, values))  # in C; a None value raises
    except TypeError:
        lengths = [-1 if v is None else len(v) for v in values]
    return [
        _U32.pack(len(columns)),
        columns,
        struct.pack(f"<{len(lengths)}i", *lengths),
        b"".join(filter(None, values)),  # None (and b"") add no bytes
    ]


try:  # the same payload written straight into the shared memory, in C (_wire.pyx)
    from impls.rust_bridge._wire import Unsupported
    from impls.rust_bridge._wire import write_batch as write_batch
except ImportError:  # not built: the session uses batch_parts
    write_batch = None

    class Unsupported(ValueError):  # type: ignore[no-redef]
        """Never raised without the C writer."""


def batch_payload(batch: Sequence[Record]) -> bytes:
    """The whole batch payload (inline `B` frames; the shared memory takes the parts)."""
    return b"".join(batch_parts(batch))


@dataclass
class Result:
    output: BatchOutput
    stage_ns: dict[str, int]


def _pairs(items: object, kind: type, what: str) -> tuple[tuple[str, Any], ...]:
    """A tuple of (name, value) pairs with str names and values of type `kind`."""
    if type(items) is not tuple:
        raise FrameError(f"result {what}s are not a tuple")
    for item in items:
        if type(item) is not tuple or len(item) != 2 or type(item[0]) is not str or type(item[1]) is not kind:
            raise FrameError(f"malformed result {what} entry {str(item)[:60]}")
    return items  # type: ignore[return-value]


def _streams(items: object) -> dict[str, Sequence[bytes]]:
    """The result's (name, records' bytes, their ends) triples → every stream, by name."""
    if type(items) is not tuple:
        raise FrameError("result streams are not a tuple")
    streams: dict[str, Sequence[bytes]] = dict.fromkeys(STREAMS, _NO_ROWS)
    named: set[str] = set()
    for item in items:
        if (type(item) is not tuple or len(item) != 3 or type(item[0]) is not str
                or type(item[1]) is not bytes or type(item[2]) is not bytes):
            raise FrameError(f"malformed result stream entry {str(item)[:60]}")
        name, data, ends = item
        if name not in streams:
            raise FrameError(f"unknown output stream {name!r}")
        if name in named:
            raise FrameError(f"output stream {name!r} sent twice")
        named.add(name)
        try:
            streams[name] = PackedRows.from_wire(data, ends)
        except ValueError as exc:
            raise FrameError(f"output stream {name!r}: {exc}") from None
    return streams


_NO_ROWS = PackedRows(b"", array("I"))  # a stream the child did not send (read-only: shared)


def parse_result(payload: bytes | bytearray | memoryview) -> Result:
    """RESULT payload (one marshal object, docs/bridge.md) → BatchOutput.

    marshal.loads copies each stream's records out of the payload (the shared memory's mapping)
    as one `bytes`, in C; the structure, every type and each stream's record ends are checked here.
    """
    try:
        doc = marshal.loads(payload)
    except (EOFError, ValueError, TypeError) as exc:
        raise FrameError(f"result payload is not marshal data: {exc}") from None
    if type(doc) is not tuple or len(doc) != 4 or type(doc[0]) is not int or doc[0] < 0:
        raise FrameError("result payload is not (processing_ns, streams, outcomes, stages)")
    processing_ns, stream_items, outcome_items, stage_items = doc
    streams = _streams(stream_items)
    outcomes: dict[str, int] = {}
    for name, count in _pairs(outcome_items, int, "outcome"):
        if count < 0:
            raise FrameError(f"negative outcome count {name!r}: {count}")
        outcomes[name] = outcomes.get(name, 0) + count
    stage_ns: dict[str, int] = {}
    for name, ns in _pairs(stage_items, int, "stage"):
        if name not in STAGES:
            raise FrameError(f"unknown stage {name!r}")
        stage_ns[name] = ns
    output = BatchOutput(streams=streams, outcomes=outcomes, processing_seconds=processing_ns / 1e9)
    return Result(output, stage_ns)
