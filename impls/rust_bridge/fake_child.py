"""A fake bridge child in Python, for the bridge's failure tests (no Rust build needed).

Usage: `python -m impls.rust_bridge.fake_child BEHAVIOUR`. With `ok` it speaks the current protocol
correctly (inline frames only: it never accepts the shared memory offered in the hello; each
record's value comes back as one "events" record); every other behaviour
misbehaves in one specific way at the first batch (or at hello for `version`/`hang-hello`, at the
second batch for `slow-then-hang`).
"""

from __future__ import annotations

import itertools
import json
import marshal
import struct
import sys
import time

from impls.rust_bridge import frames

BEHAVIOURS = (
    "ok", "version", "hang-hello", "garbage", "truncated", "crash", "hang", "error",
    "unknown-stream", "miscount", "wrong-kind", "slow-then-hang",
)


def _read_exact(n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sys.stdin.buffer.read(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def _read_frame() -> tuple[int, bytes]:
    header = frames.parse_header(_read_exact(frames.HEADER_LEN))
    return header.kind, _read_exact(header.length)


def _write(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _records(payload: bytes) -> list[bytes | None]:
    """Just the values of a batch payload (see frames.batch_parts for the layout)."""
    (m,) = struct.unpack_from("<I", payload, 0)
    count = len(marshal.loads(payload[4:4 + m])[0])  # the offsets column
    pos = 4 + m
    value_lengths = struct.unpack_from(f"<{count}i", payload, pos)
    pos += 4 * count
    values: list[bytes | None] = []
    for n in value_lengths:
        values.append(None if n < 0 else payload[pos:pos + n])
        pos += max(n, 0)
    return values


def _result(
    values: list[bytes | None], *, stream: str = "events", extra_outcome: int = 0, ns: int = 1234
) -> bytes:
    """A result payload as the child writes it (one marshal object, see frames.parse_result)."""
    events = [v for v in values if v is not None]
    outcomes = {"event": len(events) + extra_outcome, "drop:no_value": len(values) - len(events)}
    ends = list(itertools.accumulate(map(len, events)))
    packed = (stream, b"".join(events), struct.pack(f"<{len(ends)}I", *ends))
    return marshal.dumps((ns, (packed,), tuple(outcomes.items()), ()), 2)


def main(behaviour: str) -> None:
    if behaviour not in BEHAVIOURS:
        sys.exit(f"unknown behaviour {behaviour!r}")
    if behaviour == "hang-hello":
        time.sleep(3600)
    kind, payload = _read_frame()
    hello = json.loads(payload)
    version = 99 if behaviour == "version" else frames.PROTOCOL_VERSION
    _write(frames.frame(frames.HELLO, json.dumps({"protocol": version, "mode": hello["mode"]}).encode()))
    kind, payload = _read_frame()
    _write(frames.frame(frames.READY))
    batches = 0
    while True:
        kind, payload = _read_frame()
        if kind == frames.QUIT:
            return
        values = _records(payload)
        if behaviour == "garbage":
            _write(b"NOPE" + b"\x00" * 32)
            time.sleep(3600)
        elif behaviour == "truncated":
            _write(frames.frame(frames.RESULT, b"x" * 100)[:40])
            sys.exit(0)
        elif behaviour == "crash":
            sys.stderr.write("fake child: simulated crash\n")
            sys.stderr.flush()
            sys.exit(3)
        elif behaviour == "hang":
            time.sleep(3600)
        elif behaviour == "error":
            _write(frames.frame(frames.ERROR, b"simulated failure in decode"))
            sys.exit(1)
        elif behaviour == "unknown-stream":
            _write(frames.frame(frames.RESULT, _result(values, stream="nonsense")))
        elif behaviour == "miscount":
            _write(frames.frame(frames.RESULT, _result(values, extra_outcome=1)))
        elif behaviour == "wrong-kind":
            _write(frames.frame(frames.READY))
        elif behaviour == "slow-then-hang":  # batch 0 takes (and reports) 0.2 s; batch 1 hangs
            if batches:
                time.sleep(3600)
            time.sleep(0.2)
            _write(frames.frame(frames.RESULT, _result(values, ns=200_000_000)))
        else:
            _write(frames.frame(frames.RESULT, _result(values)))
        batches += 1


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ok")
