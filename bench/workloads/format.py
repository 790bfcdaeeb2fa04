"""The workload file format (version 2), documented in docs/workloads.md.

On disk: an 8-byte prefix (`PBWKLD` + format version, u16 big-endian), then a sequence of frames,
each `compressed length (u32 little-endian) + one zstd frame` (fixed level, content size and
content checksum on). A frame decompresses to a block: `tag (1 byte) + payload`:

- `H` once, first: the header as JSON (sorted keys), without the checksum;
- `R` any number: up to 1024 records in columns, msgpack `[count, names, name_counts, pair_values,
  keys, key_index, offsets, timestamps, header_counts, refs, values]`: the block's distinct header
  pairs grouped by name (`names[i]` has the next `name_counts[i]` of `pair_values`), its distinct
  keys (bin or nil), then per record raw little-endian columns (bin): `key_index` u32, `offsets`
  i64, `timestamps` i64, `header_counts` u32, and `refs` u32 (the pairs of every record, in
  order); `values` is the list of values (bin or nil). Decoding is a fixed number of C-level calls
  per block, none per record, and identical keys and header pairs are shared within a block;
- `T` once, last: the trailer as JSON: `{"record_count", "blocks", "checksum": "sha256:…"}`, where
  the checksum is SHA-256 over the concatenated zstd content checksums (the frame's last 4 bytes,
  the low 32 bits of XXH64 of the decompressed block) of the `H` frame and of every `R` frame, in
  order. zstd verifies each frame's checksum while decompressing, so reading checks the content
  with no second pass over the bytes.

One frame per block keeps damage local (the error names the records it hit) and lets `load`
decompress blocks on several threads. The checksum sits in a trailer so that writing can stream;
`load` and `verify` put it in the returned header as `header["checksum"]`. Every failure is a
`UserError` naming the file.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import os
import struct
import sys
import threading
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import accumulate, chain, repeat
from pathlib import Path
from typing import IO, Any

import msgspec
import orjson
import zstandard

from bench.errors import UserError
from bench.workloads.model import Workload
from impls.base import Record

FORMAT_VERSION = 2
MAGIC = b"PBWKLD"
PREFIX = struct.Struct(">6sH")
FRAME_LEN = struct.Struct("<I")
ZSTD_LEVEL = 3
# A records block closes at whichever comes first: small enough for threads to share the
# decompression, bounded in memory for huge records.
BLOCK_MAX_RECORDS = 1024
BLOCK_MAX_BYTES = 4 << 20
MAX_FRAME_BYTES = 1 << 30
# Decompression buffers are at least this large, so that most are reused rather than replaced.
BUFFER_BYTES = 1 << 20
# `load` keeps this many frames more than it has threads in flight.
WINDOW_EXTRA = 2
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZSTD_CHECKSUM_FLAG = 0x04  # in the frame header descriptor, the byte after the magic number
# Fields the writer computes; never taken from the caller's header.
COMPUTED_FIELDS = ("checksum",)



class ChecksumMismatch(UserError):
    """The records decode but do not match the trailer's checksum or counts."""


_encoder = msgspec.msgpack.Encoder()
# A records block: [count, names, name_counts, pair_values, keys, key_index, offsets, timestamps,
# header_counts, refs, values] (see the module docstring); the integer columns are raw bytes.
_block_decoder = msgspec.msgpack.Decoder(tuple[
    int, list[str], list[int], list[bytes], list[bytes | None], memoryview, memoryview, memoryview,
    memoryview, memoryview, list[bytes | None],
])
_new_tuple = tuple.__new__
_LITTLE = sys.byteorder == "little"


def _column(values: Iterable[int], code: str) -> bytes:
    column = array(code, values)
    if not _LITTLE:
        column.byteswap()
    return column.tobytes()


def _ints(raw: memoryview, code: str) -> list[int]:
    if _LITTLE:
        return raw.cast(code).tolist()  # ValueError if the length is not a whole number of items
    column = array(code)
    column.frombytes(raw)
    column.byteswap()
    return column.tolist()


def _encode_block(records: list[Record]) -> bytes:
    names: dict[str, list[bytes]] = {}      # header name -> its distinct values, in first-seen order
    pair_ids: dict[tuple[str, bytes], tuple[str, int]] = {}
    keys: dict[bytes | None, int] = {}
    key_index: list[int] = []
    counts: list[int] = []
    refs: list[tuple[str, int]] = []
    for record in records:
        key_index.append(keys.setdefault(record[2], len(keys)))
        headers = record[3]
        counts.append(len(headers))
        for pair in headers:
            ref = pair_ids.get(pair)
            if ref is None:
                name, value = pair
                values = names.setdefault(name, [])
                ref = pair_ids[pair] = (name, len(values))
                values.append(value)
            refs.append(ref)
    # Pairs are numbered grouped by name, so that the reader rebuilds names with one repeat per name.
    first: dict[str, int] = {}
    total = 0
    for name, values in names.items():
        first[name] = total
        total += len(values)
    return _encoder.encode((
        len(records), list(names), [len(v) for v in names.values()],
        [v for values in names.values() for v in values], list(keys), _column(key_index, "I"),
        _column([r[0] for r in records], "q"), _column([r[1] for r in records], "q"), _column(counts, "I"),
        _column([first[name] + i for name, i in refs], "I"), [r[4] for r in records],
    ))


def _decode_block(payload: memoryview) -> list[Record]:
    """A block's records with no Python code per record: every step is one C-level call."""
    (count, names, name_counts, pair_values, keys, key_index, offsets, timestamps, header_counts, refs,
     values) = _block_decoder.decode(payload)
    counts = _ints(header_counts, "I")
    refs_list = _ints(refs, "I")
    ends = list(accumulate(counts, initial=0))
    if ends[-1] != len(refs_list) or sum(name_counts) != len(pair_values) or len(values) != count:
        raise ValueError("inconsistent block columns")
    pairs = list(zip(chain.from_iterable(map(repeat, names, name_counts)), pair_values, strict=True))
    flat = list(map(pairs.__getitem__, refs_list))
    headers = map(tuple, map(flat.__getitem__, map(slice, ends, ends[1:])))
    rows = zip(_ints(offsets, "q"), _ints(timestamps, "q"), map(keys.__getitem__, _ints(key_index, "I")),
               headers, values, strict=True)
    return list(map(_new_tuple, repeat(Record), rows))


class WorkloadWriter:
    """Streams a workload to `path` atomically: a temporary file beside it, `os.replace` on success.

    Use as a context manager; on an exception the temporary file is removed and nothing is left.
    """

    def __init__(self, path: str | os.PathLike[str], header: dict[str, Any]) -> None:
        self.path = Path(path)
        self._header = {k: v for k, v in header.items() if k not in COMPUTED_FIELDS}
        self._header["format_version"] = FORMAT_VERSION
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self._pending: list[Record] = []
        self._pending_bytes = 0
        self._count = 0
        self._blocks = 0
        self._sha = hashlib.sha256()
        self._cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True, write_content_size=True)
        self.checksum: str | None = None

    def __enter__(self) -> WorkloadWriter:
        try:
            payload = orjson.dumps(self._header, option=orjson.OPT_SORT_KEYS)
        except TypeError as exc:
            raise UserError(f"file {self.path}: header is not JSON-serializable ({exc})") from exc
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = open(self._tmp, "wb")  # noqa: SIM115 - closed in __exit__
        self._file.write(PREFIX.pack(MAGIC, FORMAT_VERSION))
        self._block(b"H", payload)
        return self

    def write(self, record: Record) -> None:
        self._pending.append(record)
        self._pending_bytes += len(record.value or b"") + len(record.key or b"") + 64
        self._count += 1
        if len(self._pending) >= BLOCK_MAX_RECORDS or self._pending_bytes >= BLOCK_MAX_BYTES:
            self._flush_records()

    def write_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.write(record)

    def _flush_records(self) -> None:
        if self._pending:
            self._block(b"R", _encode_block(self._pending))
            self._pending = []
            self._pending_bytes = 0

    def _block(self, tag: bytes, payload: bytes) -> None:
        frame = self._cctx.compress(tag + payload)
        if tag != b"T":
            self._sha.update(frame[-4:])  # the frame's content checksum (XXH64 of tag + payload)
            self._blocks += 1
        self._file.write(FRAME_LEN.pack(len(frame)))
        self._file.write(frame)

    def _abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            declared = self._header.get("record_count")
            if declared is not None and declared != self._count:
                raise UserError(f"file {self.path}: header says {declared} records, {self._count} written")
            self._flush_records()
            self.checksum = "sha256:" + self._sha.hexdigest()
            trailer = {"record_count": self._count, "blocks": self._blocks, "checksum": self.checksum}
            self._block(b"T", orjson.dumps(trailer, option=orjson.OPT_SORT_KEYS))
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self._abort()
            raise


def save(workload: Workload, path: str | os.PathLike[str]) -> str:
    """Write `workload` to `path` atomically; returns the checksum (also set in `workload.header`)."""
    header = dict(workload.header)
    header["record_count"] = len(workload.records)
    header.setdefault("name", workload.name)
    with WorkloadWriter(path, header) as writer:
        writer.write_all(workload.records)
    assert writer.checksum is not None
    workload.header["checksum"] = writer.checksum
    workload.header["record_count"] = len(workload.records)
    workload.header["format_version"] = FORMAT_VERSION
    return writer.checksum


_local = threading.local()


# (buffer, the block in it, the block's content checksum)
_Decompressed = tuple[bytearray, memoryview, bytes]


def _decompress(frame: bytes, buffer: bytearray | None = None) -> _Decompressed:
    """Decompress one frame into `buffer` (or a new one if it is missing or too small).

    Safe to run on several threads. Decompressing into a buffer that is reused from block to block,
    instead of a new bytes object each time, saves the page faults of fresh memory (half the
    decompression time). zstd verifies the frame's content checksum while decompressing, so the
    checksum returned is that of the block, at no extra cost.
    """
    if frame[:4] != ZSTD_MAGIC or len(frame) < 9 or not frame[4] & ZSTD_CHECKSUM_FLAG:
        raise zstandard.ZstdError("not a zstd frame with a content checksum")
    size = zstandard.frame_content_size(frame)
    if not 0 <= size <= MAX_FRAME_BYTES:
        raise zstandard.ZstdError(f"block size {size}")
    if buffer is None or len(buffer) < size:
        buffer = bytearray(max(size, BUFFER_BYTES))
    dctx = getattr(_local, "dctx", None)
    if dctx is None:  # a decompressor is not thread-safe: one per thread
        dctx = _local.dctx = zstandard.ZstdDecompressor()
    view = memoryview(buffer)[:size]
    with dctx.stream_reader(frame) as stream:
        # Reading past the content makes zstd check the frame's end and content checksum.
        if stream.readinto(view) != size or stream.read(1):
            raise zstandard.ZstdError("content size does not match the frame header")
    return buffer, view, frame[-4:]


class _Reader:
    """Reads blocks from a workload file, turning every failure into one UserError line."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise UserError(f"file {self.path}: cannot open ({exc.strerror or exc})") from exc
        prefix = self._file.read(PREFIX.size)
        if len(prefix) < PREFIX.size:
            self.close()
            raise UserError(f"file {self.path}: truncated (shorter than the {PREFIX.size}-byte prefix)")
        magic, version = PREFIX.unpack(prefix)
        if magic != MAGIC:
            self.close()
            raise UserError(f"file {self.path}: not a partbench workload file (bad magic {magic!r})")
        if version != FORMAT_VERSION:
            self.close()
            raise UserError(
                f"file {self.path}: unknown workload format version {version} "
                f"(this partbench reads version {FORMAT_VERSION})"
            )
        self._sha = hashlib.sha256()
        self._buffer: bytearray | None = None
        self.records_read = 0
        self.header: dict[str, Any] = {}

    def where(self) -> str:
        return f"file {self.path}: after record {self.records_read}:"

    def next_frame(self) -> bytes | None:
        """The next compressed frame, or None at the end of the file."""
        raw_len = self._file.read(FRAME_LEN.size)
        if not raw_len:
            return None
        if len(raw_len) < FRAME_LEN.size:
            raise UserError(f"{self.where()} truncated (incomplete frame length)")
        (length,) = FRAME_LEN.unpack(raw_len)
        if length > MAX_FRAME_BYTES:
            raise UserError(f"{self.where()} corrupted (frame length {length})")
        frame = self._file.read(length)
        if len(frame) < length:
            raise UserError(f"{self.where()} truncated (frame of {length} bytes has {len(frame)})")
        return frame

    def unpack(self, frame: bytes | None, done: _Decompressed | None = None) -> tuple[bytes, memoryview]:
        """(tag, payload) of a frame; `done` when decompressed elsewhere. The payload is valid until
        the next call (it lives in a reused buffer)."""
        if frame is None:
            raise UserError(f"{self.where()} truncated (no trailer)")
        if done is None:
            try:
                done = _decompress(frame, self._buffer)
            except zstandard.ZstdError as exc:
                raise UserError(f"{self.where()} corrupted ({exc})") from exc
            self._buffer = done[0]
        _, block, digest = done
        tag = bytes(block[:1])
        if tag not in (b"H", b"R", b"T"):
            raise UserError(f"{self.where()} corrupted (block tag {tag!r})")
        if tag != b"T":
            self._sha.update(digest)
        return tag, block[1:]

    def read_header(self, *done: Any) -> dict[str, Any]:
        """The header, from the next frame or from `frame, decompressed` when decompressed elsewhere."""
        tag, payload = self.unpack(*done) if done else self.unpack(self.next_frame())
        if tag != b"H":
            raise UserError(f"file {self.path}: corrupted (first block is not the header)")
        try:
            header = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise UserError(f"file {self.path}: corrupted header ({exc})") from exc
        if header.get("format_version") != FORMAT_VERSION:
            raise UserError(f"file {self.path}: header format_version {header.get('format_version')!r} "
                            f"does not match the file prefix ({FORMAT_VERSION})")
        self.header = header
        return header

    def decode_records(self, payload: memoryview) -> list[Record]:
        try:
            records = _decode_block(payload)
        except (msgspec.DecodeError, IndexError, ValueError, TypeError) as exc:
            raise UserError(f"{self.where()} corrupted records ({exc})") from exc
        self.records_read += len(records)
        return records

    def finish(self, trailer_payload: memoryview) -> str:
        """Check the trailer against what was read; returns the checksum."""
        try:
            trailer = orjson.loads(trailer_payload)
        except orjson.JSONDecodeError as exc:
            raise UserError(f"file {self.path}: corrupted trailer ({exc})") from exc
        actual = "sha256:" + self._sha.hexdigest()
        if trailer.get("checksum") != actual:
            raise ChecksumMismatch(
                f"file {self.path}: checksum mismatch (trailer {trailer.get('checksum')}, content {actual})"
            )
        declared = self.header.get("record_count")
        if trailer.get("record_count") != self.records_read or (
            declared is not None and declared != self.records_read
        ):
            raise ChecksumMismatch(
                f"file {self.path}: record count mismatch (header {declared}, "
                f"trailer {trailer.get('record_count')}, read {self.records_read})"
            )
        if self._file.read(1):
            raise UserError(f"file {self.path}: corrupted (data after the trailer)")
        return actual

    def frames(self) -> Iterator[bytes | None]:
        """Every remaining frame, then None (the end of the file)."""
        while True:
            frame = self.next_frame()
            yield frame
            if frame is None:
                return

    def close(self) -> None:
        self._file.close()


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The header alone (no checksum verification, no records read); cheap."""
    reader = _Reader(path)
    try:
        return reader.read_header()
    finally:
        reader.close()


def iter_record_blocks(path: str | os.PathLike[str], result: dict[str, Any] | None = None) -> Iterator[list[Record]]:
    """Records in blocks of up to 1024, streaming in constant memory; verifies the checksum at the end
    (and stores it in `result["checksum"]` when a dict is given).

    A corrupted or truncated file raises UserError after yielding the records read before the damage.
    """
    reader = _Reader(path)
    try:
        reader.read_header()
        for frame in reader.frames():
            tag, payload = reader.unpack(frame)
            if tag == b"R":
                yield reader.decode_records(payload)
            elif tag == b"T":
                checksum = reader.finish(payload)
                if result is not None:
                    result["checksum"] = checksum
                return
            else:
                raise UserError(f"file {reader.path}: corrupted (second header block)")
    finally:
        reader.close()


def iter_records(path: str | os.PathLike[str]) -> Iterator[Record]:
    """Every record in file order, streaming (constant memory); checksum verified at the end."""
    for block in iter_record_blocks(path):
        yield from block


def _decompress_or_error(frame: bytes | None, buffers: list[bytearray]) -> _Decompressed | Exception | None:
    if frame is None:
        return None
    try:
        buffer = buffers.pop()  # list.pop and list.append are atomic: the buffers are shared by threads
    except IndexError:
        buffer = None
    try:
        return _decompress(frame, buffer)
    except zstandard.ZstdError as exc:
        return exc


def load(path: str | os.PathLike[str], *, threads: int = 2) -> Workload:
    """The whole workload in memory, checksum and counts verified.

    Blocks, the header's first, are decompressed on `threads` threads (zstd releases the GIL) while
    this thread parses the header and decodes the records, in file order.
    """
    reader = _Reader(path)
    records: list[Record] = []
    header: dict[str, Any] = {}
    # Decoding allocates millions of objects; the cyclic GC would rescan them all repeatedly.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with ThreadPoolExecutor(max(1, threads)) as pool:
            # A sliding window of decompressions ahead of the decoder keeps memory bounded.
            window: deque[tuple[bytes | None, Future[_Decompressed | Exception | None]]] = deque()
            buffers: list[bytearray] = []  # decompression buffers free for reuse
            frames = reader.frames()
            for frame in itertools.islice(frames, WINDOW_EXTRA + threads):
                window.append((frame, pool.submit(_decompress_or_error, frame, buffers)))
            while window:
                frame, future = window.popleft()
                done = future.result()
                if isinstance(done, Exception):
                    raise UserError(f"{reader.where()} corrupted ({done})")
                if not header:
                    header = reader.read_header(frame, done)
                else:
                    tag, payload = reader.unpack(frame, done)
                    if tag == b"T":
                        header["checksum"] = reader.finish(payload)
                        break
                    if tag != b"R":
                        raise UserError(f"file {reader.path}: corrupted (second header block)")
                    records.extend(reader.decode_records(payload))
                    del payload
                assert done is not None  # unpack() raised on the end of the file
                buffers.append(done[0])  # decoded: nothing refers to the buffer any more
                for more in itertools.islice(frames, 1):
                    window.append((more, pool.submit(_decompress_or_error, more, buffers)))
    finally:
        reader.close()
        if gc_was_enabled:
            gc.enable()
    name = header.get("name") or Path(path).name.split(".")[0]
    return Workload(name=name, header=header, records=records)


def verify(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the whole file in streaming mode; its header with the verified checksum."""
    reader = _Reader(path)
    try:
        header = reader.read_header()
        for frame in reader.frames():
            tag, payload = reader.unpack(frame)
            if tag == b"R":
                reader.decode_records(payload)
            elif tag == b"T":
                header["checksum"] = reader.finish(payload)
                return header
            else:
                raise UserError(f"file {reader.path}: corrupted (second header block)")
        raise AssertionError("unreachable: frames() ends with None, which unpack rejects")
    finally:
        reader.close()
