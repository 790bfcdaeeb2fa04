"""The bridge moves every record field unchanged (the Rust binary's test-only `--echo` mode sends
each record back as it parsed it), and the parent rejects results that are not well formed."""

from __future__ import annotations

import dataclasses
import itertools
import marshal
import mmap
import struct
from array import array

import pytest

from impls.base import PartitionContext, Record
from impls.rust_bridge import RustBridge, _wire, frames, packed_rows
from impls.rust_bridge.packed_rows import PackedRows

CONTEXT = PartitionContext(teams=[], persons=[])


def tricky_records() -> list[Record]:
    """Edge cases for the marshal columns: int widths and signs, None, empty and binary bytes,
    non-ASCII and long names, and objects shared between records (marshal back-references)."""
    shared_pair = ("token", b"phc_shared")
    shared_value = b"shared-value"
    ints = [0, 1, -1, 255, 256, -5, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**45 + 7, 2**63 - 1, -(2**63)]
    names = ["token", "é", "😀", "lone \ud800 surrogate", "x" * 300, ""]
    values = [None, b"", b"\x00\xff\x80", b'{"a":1}', bytes(range(256)) * 400]
    records = []
    for i, n in enumerate(ints):
        headers = tuple((name, shared_value if j % 2 else b"v%d" % j) for j, name in enumerate(names[: i % 7]))
        records.append(Record(n, ints[-1 - i], None if i % 3 == 0 else b"key\x00%d" % i, headers, values[i % 5]))
    records += [Record(7, 7, shared_value, (shared_pair, shared_pair), shared_value) for _ in range(3)]
    records += [Record(8, 8, b"", (), None), Record(9, 9, None, (), b"")]
    return records


def general_records(n: int = 600) -> list[Record]:
    from bench.workloads.generator import generate  # noqa: PLC0415 - only this helper needs it

    return list(generate("general", events=n, seed=11).records)


@pytest.fixture(scope="module")
def echo(rust_floor: RustBridge) -> RustBridge:
    return dataclasses.replace(rust_floor, extra_args=("--echo",))


def plain_records() -> list[Record]:
    """The tricky records the C batch writer covers (no lone surrogate in a name)."""
    return [r for r in tricky_records() if not any("\ud800" in name for name, _ in r.headers)]


@pytest.mark.rust
@pytest.mark.parametrize(("shm", "writer"), [("1", "c"), ("1", "marshal"), ("0", "marshal")])
def test_every_field_arrives_unchanged(
    echo: RustBridge, shm: str, writer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTBENCH_BRIDGE_SHM", shm)
    if writer == "marshal":
        monkeypatch.setattr(frames, "write_batch", None)
    session = echo.start(CONTEXT)
    try:
        assert (session._shm is not None) == (shm == "1")  # type: ignore[attr-defined]
        # the big batch (12 MiB) grows the shared memory past its first 8 MiB, on both sides
        big = [Record(i, i, None, (), bytes([i]) * (1 << 20)) for i in range(12)]
        batches = (tricky_records(), plain_records(), general_records(), [], big, tricky_records()[:1], big)
        for batch in batches:
            out = session.process_batch(batch)
            assert out.outcomes == ({"event": len(batch)} if batch else {"event": 0})
            got = [marshal.loads(raw) for raw in out.streams["events"]]
            want = [(r.offset, r.timestamp_ms, r.key, tuple(map(tuple, r.headers)), r.value) for r in batch]
            assert got == want
    finally:
        session.close()


def _decoded(payload: bytes) -> tuple[object, tuple[int, ...], bytes]:
    """A batch payload read back: (columns, value lengths, values)."""
    (m,) = struct.unpack_from("<I", payload)
    columns = marshal.loads(payload[4 : 4 + m])
    n = len(columns[0])
    return columns, struct.unpack_from(f"<{n}i", payload, 4 + m), payload[4 + m + 4 * n :]


@pytest.mark.parametrize("batch", [plain_records(), general_records(300), []], ids=["plain", "general", "empty"])
def test_c_writer_payload_reads_back_like_batch_parts(batch: list[Record]) -> None:
    buf = mmap.mmap(-1, 4 << 20)
    n = _wire.write_batch(batch, buf)
    assert _decoded(buf[:n]) == _decoded(frames.batch_payload(batch))
    # "token" written once, flagged for back-references (0x80 | "u", u32 length), then referred to
    assert buf[:n].count(b"u\x05\x00\x00\x00token") == 0
    assert buf[:n].count(b"\xf5\x05\x00\x00\x00token") == (1 if batch else 0)


def test_c_writer_counts_what_does_not_fit() -> None:
    batch = general_records(50)
    need = len(frames.batch_payload(batch))
    small = bytearray(1000)
    n = _wire.write_batch(batch, small)
    assert n > len(small) and n >= need * 0.9  # the size to grow to (its own encoding, near marshal's)
    assert _wire.write_batch(batch, bytearray(n)) == n


@pytest.mark.parametrize(
    "record",
    [
        Record(0, 0, None, (("lone \ud800", b"v"),), b""),
        Record(2**64, 0, None, (), b""),
        Record(0, 0, None, [("token", b"v")], b""),  # type: ignore[arg-type]  # headers as a list
        Record(0, 0, bytearray(b"k"), (), b""),  # type: ignore[arg-type]
        Record(0, 0, None, (), memoryview(b"v")),  # type: ignore[arg-type]
    ],
    ids=["surrogate-name", "int-over-64-bits", "list-headers", "bytearray-key", "memoryview-value"],
)
def test_c_writer_leaves_other_shapes_to_marshal(record: Record) -> None:
    with pytest.raises(_wire.Unsupported):
        _wire.write_batch([record], bytearray(1 << 16))


def _packed(name: str, rows: list[bytes]) -> tuple[str, bytes, bytes]:
    ends = list(itertools.accumulate(map(len, rows)))
    return name, b"".join(rows), struct.pack(f"<{len(ends)}I", *ends)


def _result(streams: object = (_packed("events", [b"a", b"bc"]),), outcomes: object = (("event", 2),),
            stages: object = (), ns: object = 5) -> bytes:
    return marshal.dumps((ns, streams, outcomes, stages), 4)


def test_parse_result_accepts_a_well_formed_result() -> None:
    result = frames.parse_result(memoryview(_result(stages=(("decode", 3),))))
    assert result.output.streams["events"] == [b"a", b"bc"]
    assert result.output.streams["dlq"] == []
    assert result.output.outcomes == {"event": 2}
    assert result.output.processing_seconds == pytest.approx(5e-9)
    assert result.stage_ns == {"decode": 3}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x00garbage", "not marshal data"),
        (_result()[:-3], "not marshal data"),
        (marshal.dumps([1, 2, 3, 4]), "is not"),
        (_result(ns=-1), "is not"),
        (_result(streams=(_packed("nonsense", []),)), "unknown output stream 'nonsense'"),
        (_result(streams=(_packed("dlq", []), _packed("dlq", []))), "output stream 'dlq' sent twice"),
        (_result(streams=(("events", [b"a"], b""),)), "malformed result stream"),
        (_result(streams=(("events", b"a", b"\x01\x00\x00"),)), "not a whole number of u32"),
        (_result(streams=(("events", b"abc", struct.pack("<2I", 2, 1)),)), "record 1 ends at 1, before it starts"),
        (_result(streams=(("events", b"abc", struct.pack("<2I", 1, 2)),)), "ends stop at 2, the data is 3 bytes"),
        (_result(streams=(("events", b"abc", b""),)), "ends stop at 0, the data is 3 bytes"),
        (_result(streams=[_packed("events", [])]), "streams are not a tuple"),
        (_result(outcomes=(("event", "2"),)), "malformed result outcome"),
        (_result(outcomes=(("event", -2),)), "negative outcome count"),
        (_result(stages=(("nonsense", 1),)), "unknown stage 'nonsense'"),
        (_result(stages=[("decode", 1)]), "stages are not a tuple"),
    ],
)
def test_parse_result_rejects_malformed_results(payload: bytes, message: str) -> None:
    with pytest.raises(frames.FrameError, match=message):
        frames.parse_result(payload)


@pytest.mark.parametrize("rows", [[], [b""], [b"", b""], [b"a", b"", b"xyz" * 999, b"{}"]], ids=len)
def test_packed_rows_read_as_the_list_they_pack(rows: list[bytes]) -> None:
    name, data, ends = _packed("events", rows)
    packed = PackedRows.from_wire(data, ends)
    assert len(packed) == len(rows) and list(packed) == rows and packed == rows and rows == packed
    assert [packed[i] for i in range(len(rows))] == rows == [packed[i - len(rows)] for i in range(len(rows))]
    assert packed[1:] == rows[1:] and packed[::-1] == rows[::-1]
    assert packed != [*rows, b"more"]
    if rows:
        assert packed != [*rows[:-1], b"other"]
    with pytest.raises(IndexError):
        packed[len(rows)]


def test_ends_checked_alike_in_c_and_python() -> None:
    cases = [([], 0), ([], 1), ([0, 0], 0), ([3, 1], 3), ([1, 3], 4), ([1, 3], 3), ([2**32 - 1], 2**32 - 1)]
    for ends, size in cases:
        table = array("I", ends)
        assert _wire.ends_problem(table, size) == packed_rows._ends_problem_py(table, size), (ends, size)
