"""The subprocess bridge against a fake Python child: the protocol works, and every failure mode
(crash, hang, malformed frame, protocol mismatch, child error) is a clear BridgeError naming the
implementation, with the child killed — never a hung test."""

from __future__ import annotations

import json
import marshal
import struct
import sys
from pathlib import Path

import pytest

from impls.base import STREAMS, PartitionContext, Record
from impls.rust_bridge import BridgeError, RustBridge, frames
from impls.rust_bridge import session as bridge_session

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = PartitionContext(teams=[{"id": 1, "api_token": "phc_x"}], persons=[])


def fake(behaviour: str, *, timeout_s: float = 5.0, start_timeout_s: float = 5.0) -> RustBridge:
    return RustBridge(
        name="fake-rust",
        description="fake child",
        mode="full",
        command=[sys.executable, "-m", "impls.rust_bridge.fake_child", behaviour],
        timeout_s=timeout_s,
        start_timeout_s=start_timeout_s,
    )


def batch(n: int = 3) -> list[Record]:
    recs = [Record(i, 1_700_000_000_000 + i, b"phc_x:u", (("token", b"phc_x"),), b'{"i":%d}' % i) for i in range(n)]
    return [*recs, Record(n, 0, None, (), None)]


def test_ok_child_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    session = fake("ok").start(CONTEXT)
    try:
        for _ in range(2):
            out = session.process_batch(batch())
            assert out.streams["events"] == [b'{"i":0}', b'{"i":1}', b'{"i":2}']
            assert set(out.streams) == set(STREAMS)
            assert out.outcomes == {"event": 3, "drop:no_value": 1}
            assert out.processing_seconds == pytest.approx(1234e-9)
    finally:
        session.close()


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("version", rf"fake-rust: bridge protocol version mismatch: child speaks 99, this side speaks {frames.PROTOCOL_VERSION}"),
    ],
)
def test_start_failures(behaviour: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(BridgeError, match=message):
        fake(behaviour).start(CONTEXT)


def test_hello_timeout_kills_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(BridgeError, match=r"fake-rust: child did not answer hello within 0.5 s \(killed\)"):
        fake("hang-hello", start_timeout_s=0.5).start(CONTEXT)


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("garbage", r"fake-rust: malformed frame from the child: bad frame magic b'NOPE'"),
        ("truncated", r"fake-rust: child closed its output during batch 0 \(exited with status 0\)"),
        ("crash", r"fake-rust: child closed its output during batch 0 \(exited with status 3\); "
                  r"stderr: fake child: simulated crash"),
        ("hang", r"fake-rust: child did not answer batch 0 within 0.5 s \(killed\)"),
        ("error", r"fake-rust: child reported an error during batch 0: simulated failure in decode"),
        ("unknown-stream", r"fake-rust: malformed frame from the child: unknown output stream 'nonsense'"),
        ("miscount", r"fake-rust: batch 0: outcomes account for 5 of 4 records"),
        ("wrong-kind", r"fake-rust: expected a result frame for batch 0, got kind 'K'"),
    ],
)
def test_batch_failures(behaviour: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    session = fake(behaviour, timeout_s=0.5).start(CONTEXT)
    try:
        with pytest.raises(BridgeError, match=message):
            session.process_batch(batch())
        assert session._proc.poll() is not None, "the failed child must not be left running"
        with pytest.raises(BridgeError, match=r"fake-rust: session already failed"):
            session.process_batch(batch())
    finally:
        session.close()


def test_hang_is_caught_while_the_parent_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent polls instead of sleeping from 0.8x to 1.5x the previous batch's processing
    time (session.py, docs/bridge.md "Waiting"); a child that hangs then still times out."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(bridge_session, "_spin_allowed", lambda: True)
    session = fake("slow-then-hang", timeout_s=0.6).start(CONTEXT)
    try:
        assert session.process_batch(batch()).processing_seconds == pytest.approx(0.2)
        assert session._expect_s == pytest.approx(0.2)  # batch 1 polls from 0.16 s to 0.165 s
        with pytest.raises(BridgeError, match=r"fake-rust: child did not answer batch 1 within 0.6 s \(killed\)"):
            session.process_batch(batch())
        assert session._proc.poll() is not None
    finally:
        session.close()


@pytest.mark.parametrize(("env", "cpus", "allowed"), [("1", {0, 1}, True), ("0", {0, 1}, False), ("1", {0}, False)])
def test_polling_needs_two_cpus_and_can_be_turned_off(
    env: str, cpus: set[int], allowed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTBENCH_BRIDGE_SPIN", env)
    monkeypatch.setattr(bridge_session.os, "sched_getaffinity", lambda _pid: cpus)
    assert bridge_session._spin_allowed() is allowed
    hello = json.loads(frames.hello_payload("full", False, None, bridge_session._CHILD_SPIN_US if allowed else 0))
    assert hello.get("spin_us") == (bridge_session._CHILD_SPIN_US if allowed else None)


def test_missing_command_is_clear() -> None:
    impl = RustBridge(name="fake-rust", description="", mode="full", command=["/nonexistent/partbench-rust"])
    with pytest.raises(BridgeError, match=r"fake-rust: cannot start /nonexistent/partbench-rust"):
        impl.start(CONTEXT)


def test_frame_round_trip() -> None:
    records = batch()
    payload = frames.batch_payload(records)
    (m,) = struct.unpack_from("<I", payload)
    offsets, timestamps, keys, headers = marshal.loads(payload[4 : 4 + m])
    assert (offsets, timestamps, keys, headers) == tuple(zip(*records, strict=True))[:4]
    assert struct.unpack_from("<4i", payload, 4 + m) == (7, 7, 7, -1)  # value lengths; None = -1
    assert payload[4 + m + 16 :] == b'{"i":0}{"i":1}{"i":2}'
    header = frames.parse_header(frames.frame(frames.BATCH, payload))
    assert header == frames.Header(frames.BATCH, len(payload))
    with pytest.raises(frames.FrameError, match="bad frame magic"):
        frames.parse_header(b"XXXX" + bytes(5))
    with pytest.raises(frames.FrameError, match="unknown frame kind"):
        frames.parse_header(b"PBRGz" + bytes(4))


def test_registry_entries_and_missing_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from impls import registry

    rust, floor = registry.get("rust"), registry.get("rust-floor")
    assert (rust.kind, rust.runtime) == ("realistic", "subprocess")
    assert (floor.kind, floor.runtime) == ("stripped", "subprocess")
    monkeypatch.setenv("PARTBENCH_RUST_BIN", str(tmp_path / "partbench-rust"))
    reason = rust.unavailable_reason()
    assert reason is not None and "not built" in reason and "make rust" in reason
    with pytest.raises(RuntimeError, match=r"^rust: Rust binary not built"):
        rust.start(CONTEXT)


def test_stale_binary_is_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    from impls.rust_bridge import binary

    fake_bin = tmp_path / "release" / "partbench-rust"
    fake_bin.parent.mkdir()
    fake_bin.write_text("#!/bin/sh\n")
    fake_bin.chmod(0o755)
    os.utime(fake_bin, (1, 1))  # older than any source file
    monkeypatch.delenv("PARTBENCH_RUST_BIN", raising=False)
    monkeypatch.setenv("CARGO_TARGET_DIR", str(tmp_path))
    reason = binary.unavailable_reason()
    assert reason is not None and "older than the crate's sources" in reason
