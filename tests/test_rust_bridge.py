"""The real Rust binary behind the bridge: its failure modes (test-only `--fault` flags) and the
floor mode's output. Needs `make rust` (the `rust` marker); fails with that hint otherwise."""

from __future__ import annotations

import dataclasses
import json

import pytest

from impls import registry
from impls.base import STAGES, PartitionContext, Record
from impls.reference import jsonrules
from impls.rust_bridge import BridgeError, RustBridge

pytestmark = pytest.mark.rust
CONTEXT = PartitionContext(teams=[], persons=[])


@pytest.fixture(scope="module")
def floor(rust_floor: RustBridge) -> RustBridge:
    return rust_floor


def record(offset: int, value: bytes | None) -> Record:
    return Record(offset, 1_700_000_000_000, b"k", (("token", b"phc_x"),), value)


HOSTILE_DATA = [
    {"event": "$pageview", "properties": {"f": 1.5, "tiny": 1e-7, "big": 1e300, "n": 12}},
    {"event": "lone \ud800 surrogate", "properties": {"emoji": "😀", "nul": "a\u0000b", "ctl": "\x7f"}},
    {"event": "big", "properties": {"huge": 123456789012345678901234567890, "neg": -(2**70)}},
    {"event": "dup", "properties": {"x": [1, {"y": None}], "t": True, "u64": 2**64 - 1, "deep": [[[[[[1]]]]]]}},
]
# Breaking the JSON rules (jsonrules): not JSON, NaN, a number out of double range, > 64 levels.
BAD_DATA = ["[1,", "[NaN]", "[1e400]", "[" * 65 + "]" * 65, '{"a": 1} x']


def test_floor_decodes_and_reencodes_both_layers(floor: RustBridge) -> None:
    values = [json.dumps({"uuid": str(i), "data": json.dumps(d), "token": "phc_x"}).encode()
              for i, d in enumerate(HOSTILE_DATA)]
    batch = [record(i, v) for i, v in enumerate(values)]
    batch += [record(90, b"{not json"), record(91, None), record(93, b"\xff\xfe")]
    batch += [record(100 + i, json.dumps({"data": d}).encode()) for i, d in enumerate(BAD_DATA)]
    session = floor.start(CONTEXT, instrument=True)
    try:
        out = session.process_batch(batch)
    finally:
        session.close()
    assert out.outcomes == {"event": len(values), "drop:undecodable": 3 + len(BAD_DATA)}
    assert out.processing_seconds is not None and out.processing_seconds > 0
    for raw, want in zip(out.streams["events"], HOSTILE_DATA, strict=True):
        row = json.loads(raw)
        # the reference's JSON rules agree on every value (big ints → nearest double etc.)
        assert jsonrules.json_equal(jsonrules.loads(row["data"]), jsonrules.loads(json.dumps(want)))
        raw.decode("ascii")  # ensure_ascii output
    assert set(session.stage_seconds()) == set(STAGES)


def test_floor_matches_python_spelling(floor: RustBridge) -> None:
    """Byte-identical to jsonrules.dumps (compact, ASCII-only) for floats, escapes and big ints."""
    data = {"a": [0.1, 1e16, 1.5e-05, 100.0, -0.0, 2**80, 2**64 - 1, -(2**63)], "s": "é\ud83d\ude00\ud800\n\"\\\x7f"}
    value = json.dumps({"data": json.dumps(data)}).encode()
    session = floor.start(CONTEXT)
    try:
        out = session.process_batch([record(0, value)])
    finally:
        session.close()
    row = json.loads(out.streams["events"][0])
    assert row["data"] == jsonrules.dumps(jsonrules.loads(json.dumps(data)))


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("crash", r"rust-floor: child closed its output during batch 1 \(killed by SIGABRT\)"),
        ("hang", r"rust-floor: child did not answer batch 1 within 1 s \(killed\)"),
        ("garbage", r"rust-floor: malformed frame from the child: bad frame magic b'PBRX'"),
        # panic = "abort": the hook still tells the parent where
        ("panic", r"rust-floor: child reported an error during batch 1: panic in batch 1: injected \(--fault panic\)"),
    ],
)
def test_binary_batch_faults(floor: RustBridge, fault: str, message: str) -> None:
    impl = dataclasses.replace(floor, extra_args=("--fault", fault, "--fault-after", "1"), timeout_s=1.0)
    session = impl.start(CONTEXT)
    try:
        value = json.dumps({"data": "{}"}).encode()
        assert session.process_batch([record(0, value)]).outcomes == {"event": 1}
        with pytest.raises(BridgeError, match=message):
            session.process_batch([record(1, value)])
    finally:
        session.close()


def test_binary_version_mismatch(floor: RustBridge) -> None:
    impl = dataclasses.replace(floor, extra_args=("--fault", "bad-version"))
    from impls.rust_bridge.frames import PROTOCOL_VERSION as V

    with pytest.raises(BridgeError, match=rf"rust-floor: bridge protocol version mismatch: child speaks {V + 1}, this side speaks {V}"):
        impl.start(CONTEXT)


def test_binary_rejects_other_parent_version(floor: RustBridge, monkeypatch: pytest.MonkeyPatch) -> None:
    from impls.rust_bridge import frames

    v = frames.PROTOCOL_VERSION
    monkeypatch.setattr(frames, "PROTOCOL_VERSION", 7)
    with pytest.raises(BridgeError, match=r"rust-floor: child reported an error during hello: "
                                          rf"protocol version mismatch: parent speaks 7, child speaks {v}"):
        floor.start(CONTEXT)


def _general_batches(n: int = 3, size: int = 200) -> tuple[PartitionContext, list[list[Record]]]:
    from bench.workloads.generator import generate  # noqa: PLC0415 - only this test needs it

    workload = generate("general", events=n * size, seed=5)
    records = list(workload.records)
    return workload.context({"batch_size": size}), [records[i:i + size] for i in range(0, len(records), size)]


def test_shared_memory_and_inline_frames_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Protocol 2 moves payloads through /dev/shm; PARTBENCH_BRIDGE_SHM=0 forces inline frames.
    Both must give the same outputs, and no shared-memory file is left behind."""
    import os

    impl = registry.get("rust")
    if impl.unavailable_reason() is not None:
        pytest.fail(f"rust unavailable: {impl.unavailable_reason()}")
    context, batches = _general_batches()
    before = {f for f in os.listdir("/dev/shm") if f.startswith("partbench-bridge-")}
    outputs = {}
    for shm in ("1", "0"):
        monkeypatch.setenv("PARTBENCH_BRIDGE_SHM", shm)
        session = impl.start(context)
        try:
            assert (session._shm is not None) == (shm == "1")  # type: ignore[attr-defined]
            outputs[shm] = [(out.streams, out.outcomes) for out in map(session.process_batch, batches)]
        finally:
            session.close()
    assert outputs["1"] == outputs["0"]
    assert {f for f in os.listdir("/dev/shm") if f.startswith("partbench-bridge-")} == before


def test_the_first_batch_finds_the_heap_faulted_in() -> None:
    """The child faults its heap in before answering the context (alloc::prefault_heap), so a
    fresh session's first batch, which every measured pass starts with, does not page-fault its
    way through the first megabytes (~1,000 minor faults before)."""
    impl = registry.get("rust")
    if impl.unavailable_reason() is not None:
        pytest.fail(f"rust unavailable: {impl.unavailable_reason()}")
    context, batches = _general_batches(n=1, size=500)

    def minor_faults(pid: int) -> int:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[7])

    session = impl.start(context)
    try:
        pid = session._proc.pid  # type: ignore[attr-defined]
        before = minor_faults(pid)
        session.process_batch(batches[0])
        assert minor_faults(pid) - before < 400  # ~1,000 without; ~170 with
    finally:
        session.close()


def test_polling_and_blocking_waits_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """With PARTBENCH_BRIDGE_SPIN on, the parent asks the child to poll for the next frame
    (`spin_us`, docs/bridge.md "Waiting") and polls for results itself; the outputs are the same
    as with both sides blocking."""
    impl = registry.get("rust")
    if impl.unavailable_reason() is not None:
        pytest.fail(f"rust unavailable: {impl.unavailable_reason()}")
    monkeypatch.setattr("impls.rust_bridge.session._spin_allowed", lambda: True)
    context, batches = _general_batches(n=4)
    outputs = {}
    for spin in ("1", "0"):
        monkeypatch.setenv("PARTBENCH_BRIDGE_SPIN", spin)
        if spin == "0":
            monkeypatch.undo()  # the real check, which reads the variable
            monkeypatch.setenv("PARTBENCH_BRIDGE_SPIN", "0")
        session = impl.start(context)
        try:
            assert session._spin is (spin == "1")  # type: ignore[attr-defined]
            outputs[spin] = [(out.streams, out.outcomes) for out in map(session.process_batch, batches)]
        finally:
            session.close()
    assert outputs["1"] == outputs["0"]


@pytest.mark.parametrize(
    ("layout", "args"),
    [("in place", ()), ("rest larger than the gap", ("--result-gap", "0")),
     ("events outgrow their room", ("--events-room", "4096"))],
)
def test_result_layouts_in_shared_memory_agree_with_inline_frames(
    layout: str, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child writes the events stream straight into the shared memory (main.rs, InPlace);
    when the rest of the result does not fit before it, or the stream outgrew its room, the
    result is copied after it instead. Every layout gives what inline frames give, batch by
    batch (the layout is forced with the child's test-only size flags)."""
    impl = registry.get("rust")
    if impl.unavailable_reason() is not None:
        pytest.fail(f"rust unavailable: {impl.unavailable_reason()}")
    assert isinstance(impl, RustBridge)
    context, batches = _general_batches(n=4)

    def outputs(bridge: RustBridge) -> list[tuple[object, object]]:
        session = bridge.start(context)
        try:
            return [(out.streams, out.outcomes) for out in map(session.process_batch, batches)]
        finally:
            session.close()

    monkeypatch.setenv("PARTBENCH_BRIDGE_SHM", "0")
    inline = outputs(impl)
    monkeypatch.setenv("PARTBENCH_BRIDGE_SHM", "1")
    assert outputs(dataclasses.replace(impl, extra_args=args)) == inline, layout
