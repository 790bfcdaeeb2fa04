"""The workload file format: round trip, streaming, integrity and clear errors on damaged files."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import zstandard

from bench.errors import UserError
from bench.workloads import format as fmt
from bench.workloads.model import Workload
from impls.base import Record
from tests.fixtures_workloads import small_workload


def _records(n: int, size: int = 50) -> list[Record]:
    return [Record(1000 + i, 1_795_132_800_000 + i, f"phc_x:user{i % 7}".encode() if i % 5 else None,
                   (("token", b"phc_x"), ("distinct_id", f"user{i % 7}".encode()), ("raw", b"\xff\x00")),
                   (b'{"i":%d,"pad":"' % i) + b"x" * size + b'"}' if i % 11 else None)
            for i in range(n)]


def _workload(n: int = 10) -> Workload:
    header = {"name": "crafted", "origin": {"kind": "imported", "source": "test"},
              "teams": [{"id": 2, "api_token": "phc_x"}], "persons": [], "groups": [], "restrictions": []}
    return Workload("crafted", header, _records(n))


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_round_trip_keeps_records_and_header(tmp_path: Path) -> None:
    w = _workload(50)
    path = tmp_path / "w.pbw"
    checksum = fmt.save(w, path)
    loaded = fmt.load(path)
    assert loaded.records == w.records
    assert all(isinstance(r, Record) for r in loaded.records)
    assert loaded.header["checksum"] == checksum == w.header["checksum"]
    assert loaded.header["record_count"] == 50
    assert loaded.header["format_version"] == fmt.FORMAT_VERSION
    assert loaded.header["teams"] == w.header["teams"]
    assert loaded.name == "crafted"
    assert fmt.read_header(path)["origin"] == w.header["origin"]
    assert fmt.verify(path)["checksum"] == checksum


def test_generated_workload_round_trip(tmp_path: Path) -> None:
    w = small_workload("hostile")
    path = tmp_path / "h.pbw"
    fmt.save(w, path)
    loaded = fmt.load(path)
    assert loaded.records == w.records
    assert loaded.header["persons"] == w.header["persons"]
    assert loaded.context().teams == w.header["teams"]


def test_empty_workload(tmp_path: Path) -> None:
    w = Workload("empty", {"origin": {"kind": "imported"}}, [])
    fmt.save(w, tmp_path / "e.pbw")
    assert fmt.load(tmp_path / "e.pbw").records == []


def test_streaming_reader_spans_many_blocks(tmp_path: Path) -> None:
    records = _records(3 * fmt.BLOCK_MAX_RECORDS + 17)
    w = Workload("big", {"origin": {}}, records)
    path = tmp_path / "big.pbw"
    fmt.save(w, path)
    blocks = list(fmt.iter_record_blocks(path))
    assert len(blocks) == 4
    assert max(len(b) for b in blocks) <= fmt.BLOCK_MAX_RECORDS
    streamed = fmt.iter_records(path)
    assert next(streamed) == records[0]  # lazily: the first record before the rest is read
    assert [records[0], *streamed] == records


def test_blocks_close_on_size_as_well(tmp_path: Path) -> None:
    big = [Record(i, i, b"k", (), b"v" * (1 << 20)) for i in range(9)]
    fmt.save(Workload("sz", {"origin": {}}, big), tmp_path / "sz.pbw")
    blocks = list(fmt.iter_record_blocks(tmp_path / "sz.pbw"))
    assert len(blocks) >= 2 and max(len(b) for b in blocks) <= 4
    assert fmt.load(tmp_path / "sz.pbw").records == big  # decompression buffers grow as needed


def test_mixed_block_sizes_reuse_buffers_correctly(tmp_path: Path) -> None:
    records = [Record(i, i, b"k%d" % (i % 3), (("n", b"%d" % i),), bytes([i % 251]) * (i % 7) * 40_000)
               for i in range(300)]
    fmt.save(Workload("mix", {"origin": {}}, records), tmp_path / "mix.pbw")
    for threads in (1, 2, 4):
        assert fmt.load(tmp_path / "mix.pbw", threads=threads).records == records
    assert list(fmt.iter_records(tmp_path / "mix.pbw")) == records


def test_same_workload_same_bytes(tmp_path: Path) -> None:
    fmt.save(_workload(30), tmp_path / "a.pbw")
    fmt.save(_workload(30), tmp_path / "b.pbw")
    assert (tmp_path / "a.pbw").read_bytes() == (tmp_path / "b.pbw").read_bytes()


def _frames(path: Path) -> list[tuple[int, int]]:
    """(start, length) of each compressed frame in the file."""
    data = path.read_bytes()
    pos, out = fmt.PREFIX.size, []
    while pos < len(data):
        (length,) = fmt.FRAME_LEN.unpack_from(data, pos)
        out.append((pos + fmt.FRAME_LEN.size, length))
        pos += fmt.FRAME_LEN.size + length
    return out


def test_corrupted_byte_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "c.pbw"
    fmt.save(_workload(3000), path)
    start, length = _frames(path)[2]  # inside the second records block
    data = bytearray(path.read_bytes())
    data[start + length // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    for read in (fmt.load, fmt.verify, lambda p: list(fmt.iter_records(p))):
        with pytest.raises(UserError, match=rf"file {path}: after record 1024: corrupted"):
            read(path)


def test_checksum_mismatch_when_content_changed_consistently(tmp_path: Path) -> None:
    """A block re-compressed with different content passes zstd's own check, not the checksum."""
    path = tmp_path / "m.pbw"
    fmt.save(_workload(20), path)
    start, length = _frames(path)[1]
    data = path.read_bytes()
    block = zstandard.ZstdDecompressor().decompress(data[start:start + length])
    tampered = block.replace(b"user1", b"user9", 1)
    assert tampered != block
    frame = zstandard.ZstdCompressor(level=3, write_checksum=True, write_content_size=True).compress(tampered)
    path.write_bytes(data[:start - 4] + struct.pack("<I", len(frame)) + frame + data[start + length:])
    with pytest.raises(fmt.ChecksumMismatch, match="checksum mismatch"):
        fmt.load(path)


def _replace_frame(path: Path, index: int, block: bytes, checksum: bool = True) -> None:
    start, length = _frames(path)[index]
    data = path.read_bytes()
    frame = zstandard.ZstdCompressor(level=3, write_checksum=checksum, write_content_size=True).compress(block)
    path.write_bytes(data[:start - 4] + struct.pack("<I", len(frame)) + frame + data[start + length:])


def _block(path: Path, index: int) -> bytes:
    start, length = _frames(path)[index]
    return zstandard.ZstdDecompressor().decompress(path.read_bytes()[start:start + length])


def test_frame_without_content_checksum_is_corrupted(tmp_path: Path) -> None:
    path = tmp_path / "n.pbw"
    fmt.save(_workload(20), path)
    _replace_frame(path, 1, _block(path, 1), checksum=False)
    for read in (fmt.load, fmt.verify):
        with pytest.raises(UserError, match=rf"file {path}: after record 0: corrupted \(not a zstd frame with a content"):
            read(path)


def test_inconsistent_columns_are_corrupted_records(tmp_path: Path) -> None:
    import msgspec

    path = tmp_path / "i.pbw"
    fmt.save(_workload(20), path)
    block = _block(path, 1)
    fields = msgspec.msgpack.decode(block[1:])
    fields[-1] = fields[-1][:-1]  # one value fewer than records
    _replace_frame(path, 1, b"R" + msgspec.msgpack.encode(fields))
    for read in (fmt.load, fmt.verify):
        with pytest.raises(UserError, match=rf"file {path}: after record 0: corrupted records"):
            read(path)


@pytest.mark.parametrize("keep", [0, 5, 8, 11, 200, -1])
def test_truncated_file(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "t.pbw"
    fmt.save(_workload(2000), path)
    data = path.read_bytes()
    path.write_bytes(data[:keep] if keep >= 0 else data[:-1])
    with pytest.raises(UserError, match=rf"file {path}: .*(truncated|corrupted)"):
        fmt.load(path)


def test_truncated_after_whole_blocks_names_the_missing_trailer(tmp_path: Path) -> None:
    path = tmp_path / "t.pbw"
    fmt.save(_workload(2000), path)
    start, length = _frames(path)[-1]
    path.write_bytes(path.read_bytes()[:start - 4])  # drop exactly the trailer frame
    with pytest.raises(UserError, match=r"after record 2000: truncated \(no trailer\)"):
        fmt.load(path)


def test_unknown_format_version(tmp_path: Path) -> None:
    path = tmp_path / "v.pbw"
    fmt.save(_workload(5), path)
    data = path.read_bytes()
    path.write_bytes(fmt.PREFIX.pack(fmt.MAGIC, 7) + data[fmt.PREFIX.size:])
    with pytest.raises(UserError, match=rf"file {path}: unknown workload format version 7"):
        fmt.read_header(path)


def test_not_a_workload_file(tmp_path: Path) -> None:
    path = tmp_path / "x.pbw"
    path.write_bytes(b'{"json": "not a workload"}')
    with pytest.raises(UserError, match="not a partbench workload file"):
        fmt.load(path)
    with pytest.raises(UserError, match="cannot open"):
        fmt.load(tmp_path / "missing.pbw")


def test_failed_save_leaves_nothing(tmp_path: Path) -> None:
    bad_header = Workload("bad", {"origin": {"when": object()}}, _records(3))
    with pytest.raises(UserError, match="not JSON-serializable"):
        fmt.save(bad_header, tmp_path / "bad.pbw")

    def exploding():
        yield from _records(5)
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError), fmt.WorkloadWriter(tmp_path / "half.pbw", {"origin": {}}) as writer:
        writer.write_all(exploding())
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "w.pbw"
    fmt.save(_workload(5), path)
    fmt.save(_workload(9), path)
    assert len(fmt.load(path).records) == 9
    assert _no_temp_files(tmp_path)
