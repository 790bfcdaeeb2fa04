"""The bridge moves every record field unchanged (the Rust binary's test-only `--echo` mode sends
each record back as it parsed it), and the parent rejects results that are not well formed."""

from __future__ import annotations

import dataclasses
import marshal

import pytest

from impls.base import PartitionContext, Record
from impls.rust_bridge import RustBridge, frames

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


@pytest.mark.rust
@pytest.mark.parametrize("shm", ["1", "0"])
def test_every_field_arrives_unchanged(echo: RustBridge, shm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTBENCH_BRIDGE_SHM", shm)
    session = echo.start(CONTEXT)
    try:
        assert (session._shm is not None) == (shm == "1")  # type: ignore[attr-defined]
        # the big batch (12 MiB) grows the shared memory past its first 8 MiB, on both sides
        big = [Record(i, i, None, (), bytes([i]) * (1 << 20)) for i in range(12)]
        for batch in (tricky_records(), general_records(), [], big, tricky_records()[:1], big):
            out = session.process_batch(batch)
            assert out.outcomes == ({"event": len(batch)} if batch else {"event": 0})
            got = [marshal.loads(raw) for raw in out.streams["events"]]
            want = [(r.offset, r.timestamp_ms, r.key, tuple(map(tuple, r.headers)), r.value) for r in batch]
            assert got == want
    finally:
        session.close()


def _result(streams: object = (("events", [b"a", b"b"]),), outcomes: object = (("event", 2),),
            stages: object = (), ns: object = 5) -> bytes:
    return marshal.dumps((ns, streams, outcomes, stages), 4)


def test_parse_result_accepts_a_well_formed_result() -> None:
    result = frames.parse_result(memoryview(_result(stages=(("decode", 3),))))
    assert result.output.streams["events"] == [b"a", b"b"]
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
        (_result(streams=(("nonsense", []),)), "unknown output stream 'nonsense'"),
        (_result(streams=(("events", [b"a", 1]),)), "not bytes"),
        (_result(streams=(("events", (b"a",)),)), "malformed result stream"),
        (_result(outcomes=(("event", "2"),)), "malformed result outcome"),
        (_result(outcomes=(("event", -2),)), "negative outcome count"),
        (_result(stages=(("nonsense", 1),)), "unknown stage 'nonsense'"),
        (_result(stages=[("decode", 1)]), "stages are not a tuple"),
    ],
)
def test_parse_result_rejects_malformed_results(payload: bytes, message: str) -> None:
    with pytest.raises(frames.FrameError, match=message):
        frames.parse_result(payload)
