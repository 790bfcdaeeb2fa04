"""A Session backed by a long-lived child process speaking the bridge protocol (docs/bridge.md).

All pipe I/O is non-blocking under one deadline per exchange (poll), so a child that
crashes, hangs, writes garbage or speaks another protocol version becomes a BridgeError naming
the implementation, never a hung benchmark; the child is killed on any failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import select
import signal
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence

from impls.base import STAGES, BatchOutput, PartitionContext, Record
from impls.rust_bridge import frames

# Pipes big enough for a whole batch frame each way: every wake-up of the other process costs a
# scheduler hand-off, which on a busy machine is most of the bridge's cost. Linux caps unprivileged
# pipes at /proc/sys/fs/pipe-max-size (1 MiB by default); larger sizes need CAP_SYS_RESOURCE.
_PIPE_SIZES = (16 << 20, 4 << 20, 1 << 20)


# Bulk payloads go through a shared-memory file (docs/bridge.md, "Shared memory"); the pipe
# carries only small control frames. PARTBENCH_BRIDGE_SHM=0 forces inline frames.
_SHM_DIR = "/dev/shm"
_SHM_INITIAL = 8 << 20
_SHM_STEP = 1 << 20
# Fault the mapping's pages in when mapping it (session start, untimed), not in the first batches:
# a fresh session per measured pass otherwise paid 22-38 page faults per batch inside its timing.
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)

# Waking a process blocked on a pipe cost ~40-120 µs per wake-up on the dev VM (a halted idle
# vCPU is woken by the host; docs/bridge.md, "Waiting"). So with two CPUs or more each side
# polls instead of blocking for the last stretch of its wait: the child for up to CHILD_SPIN_US
# after a result (the next batch follows within ~1 ms), the parent from SPIN_FROM of the
# previous batch's processing time until SPIN_UNTIL of it, and for at most SPIN_MAX_S (then it
# blocks as before). PARTBENCH_BRIDGE_SPIN=0 turns both off.
_CHILD_SPIN_US = 2000
_SPIN_FROM = 0.8
_SPIN_UNTIL = 1.5
_SPIN_MAX_S = 0.005


def _spin_allowed() -> bool:
    if os.environ.get("PARTBENCH_BRIDGE_SPIN", "1") == "0":
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2  # one CPU: polling would take the child's
    except (AttributeError, OSError):
        return (os.cpu_count() or 1) >= 2


class _SharedRegion:
    """A file in /dev/shm mapped by both processes; either side may grow it."""

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="partbench-bridge-", dir=_SHM_DIR)
        self.fd = fd
        try:
            os.ftruncate(fd, _SHM_INITIAL)
            self.map = mmap.mmap(fd, _SHM_INITIAL, flags=_MAP_FLAGS)
        except OSError:
            self.close()
            raise

    def unlink(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def covers(self, n: int, *, grow: bool) -> bool:
        """Map at least n bytes: re-map if the file grew; with grow, enlarge the file first."""
        if n <= len(self.map):
            return True  # the usual case: no system call
        size = os.fstat(self.fd).st_size
        if size < n and grow:
            size = (n + n // 4 + _SHM_STEP) // _SHM_STEP * _SHM_STEP
            os.ftruncate(self.fd, size)
        if size != len(self.map):
            self.map.close()
            self.map = mmap.mmap(self.fd, size, flags=_MAP_FLAGS)
        return n <= len(self.map)

    def write_batch(self, batch: Sequence[Record]) -> int:
        """The batch's payload at offset 0 (growing the file if needed); its length."""
        if frames.write_batch is None:
            return self.write(frames.batch_parts(batch))
        try:
            n = frames.write_batch(batch, self.map)
            if n > len(self.map):
                self.covers(n, grow=True)
                n = frames.write_batch(batch, self.map)
        except frames.Unsupported:
            return self.write(frames.batch_parts(batch))
        return n

    def write(self, parts: list[bytes]) -> int:
        """Concatenate parts at offset 0 (growing the file if needed); their total length."""
        pos = 0
        self.covers(sum(map(len, parts)), grow=True)
        for part in parts:
            end = pos + len(part)
            self.map[pos:end] = part
            pos = end
        return pos

    def close(self) -> None:
        with contextlib.suppress(AttributeError, BufferError):
            self.map.close()
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.unlink()


def _open_region() -> _SharedRegion | None:
    if os.environ.get("PARTBENCH_BRIDGE_SHM", "1") == "0" or not os.path.isdir(_SHM_DIR):
        return None
    try:
        return _SharedRegion()
    except OSError:
        return None


class BridgeError(RuntimeError):
    """The child failed: crashed, timed out, sent a malformed frame or a protocol mismatch."""


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def _grow_pipe(fd: int) -> None:
    for size in _PIPE_SIZES:
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)
            return
        except (OSError, AttributeError):
            continue


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class BridgeSession:
    """One child process for one partition's session (context sent once, then batches)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        context: PartitionContext,
        *,
        mode: str,
        instrument: bool = False,
        timeout_s: float = 60.0,
        start_timeout_s: float = 15.0,
    ) -> None:
        self.name = name
        self._timeout_s = timeout_s
        self._instrument = instrument
        self._stage_ns = dict.fromkeys(STAGES, 0)
        self._batches = 0
        self._failed: str | None = None
        self._shm: _SharedRegion | None = None
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(
                list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, bufsize=0
            )
        except OSError as exc:
            self._stderr.close()
            raise BridgeError(f"{name}: cannot start {argv[0]}: {exc}") from None
        # Kill the child if the session is dropped without close() (e.g. the harness errored).
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._wfd = self._proc.stdin.fileno()
        self._rfd = self._proc.stdout.fileno()
        for fd in (self._wfd, self._rfd):
            os.set_blocking(fd, False)
            _grow_pipe(fd)
        # One poll object for the session (the write side is registered only while a frame is
        # too big for one write): cheaper per exchange than a new selector.
        self._poll = select.poll()
        self._poll.register(self._rfd, select.POLLIN)

        self._shm = _open_region()
        self._spin = _spin_allowed()
        self._expect_s = 0.0  # the last batch's processing time: when to start polling
        try:
            hello_out = frames.hello_payload(
                mode, instrument, self._shm.path if self._shm else None, _CHILD_SPIN_US if self._spin else 0
            )
            kind, payload = self._exchange(frames.HELLO, hello_out, start_timeout_s, "hello")
        finally:
            if self._shm is not None:
                self._shm.unlink()  # the child has opened it (or failed): no file left behind
        if kind != frames.HELLO:
            self._fail(f"expected a hello frame from the child, got kind {chr(kind)!r}")
        hello = self._checked(lambda: frames.parse_hello(payload))
        if self._shm is not None and hello.get("shm") is not True:
            self._shm.close()  # the child did not take it: inline frames
            self._shm = None
        if hello["protocol"] != frames.PROTOCOL_VERSION:
            self._fail(
                f"bridge protocol version mismatch: child speaks {hello['protocol']}, "
                f"this side speaks {frames.PROTOCOL_VERSION}"
            )
        if hello.get("mode") != mode:
            self._fail(f"child answered mode {hello.get('mode')!r}, asked for {mode!r}")
        self.child_description = str(hello.get("impl", ""))
        kind, _ = self._exchange(frames.CONTEXT, frames.context_payload(context), start_timeout_s, "context")
        if kind != frames.READY:
            self._fail(f"expected a ready frame after the context, got kind {chr(kind)!r}")

    # -- Session protocol ------------------------------------------------------------------

    def process_batch(self, batch: Sequence[Record]) -> BatchOutput:
        what = f"batch {self._batches}"
        if self._shm is not None:
            length = self._shm.write_batch(batch)
            kind, payload = self._exchange(
                frames.BATCH_SHM, frames.U64.pack(length), self._timeout_s, what, self._expect_s
            )
        else:
            kind, payload = self._exchange(
                frames.BATCH, frames.batch_payload(batch), self._timeout_s, what, self._expect_s
            )
        if kind == frames.RESULT_SHM and self._shm is not None:
            result = self._shm_result(payload)
        elif kind == frames.RESULT:
            result = self._checked(lambda: frames.parse_result(payload))
        else:
            self._fail(f"expected a result frame for batch {self._batches}, got kind {chr(kind)!r}")
        for stage, ns in result.stage_ns.items():
            self._stage_ns[stage] += ns
        total = sum(result.output.outcomes.values())
        if total != len(batch):
            self._fail(f"batch {self._batches}: outcomes account for {total} of {len(batch)} records")
        self._batches += 1
        if self._spin:
            self._expect_s = result.output.processing_seconds or 0.0
        return result.output

    def stage_seconds(self) -> dict[str, float]:
        if not self._instrument:
            return {}
        return {stage: ns / 1e9 for stage, ns in self._stage_ns.items()}

    def close(self) -> None:
        if self._proc.poll() is None and self._failed is None:
            with contextlib.suppress(OSError):
                os.set_blocking(self._wfd, True)
                os.write(self._wfd, frames.frame(frames.QUIT))
            with contextlib.suppress(OSError):
                self._proc.stdin.close()  # type: ignore[union-attr]
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        _kill(self._proc)
        with contextlib.suppress(OSError):
            self._proc.stdout.close()  # type: ignore[union-attr]
        self._stderr.close()
        if self._shm is not None:
            self._shm.close()
            self._shm = None
        self._finalizer.detach()

    # -- internals -------------------------------------------------------------------------

    def _shm_result(self, control: bytes) -> frames.Result:
        """The result a RESULT_SHM frame points at, parsed straight from the shared memory."""
        assert self._shm is not None
        if len(control) != frames.SHM_RESULT.size:
            self._fail(f"malformed frame from the child: shared-memory result frame of {len(control)} bytes")
        offset, length = frames.SHM_RESULT.unpack(control)
        if length > frames.MAX_PAYLOAD or not self._shm.covers(offset + length, grow=False):
            self._fail(
                f"malformed frame from the child: result at {offset}+{length} is past the shared memory"
            )
        view = memoryview(self._shm.map)[offset : offset + length]
        try:
            return frames.parse_result(view)
        except frames.FrameError as exc:
            view.release()  # before _fail closes the mapping
            self._fail(f"malformed frame from the child: {exc}")
            raise  # unreachable: _fail raises
        finally:
            view.release()  # the mapping can be re-mapped or closed again

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 400))
            tail = self._stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return f"; stderr: {tail}" if tail else ""

    def _fail(self, reason: str) -> None:
        _kill(self._proc)
        if self._shm is not None:
            self._shm.close()
            self._shm = None
        self._failed = reason
        raise BridgeError(f"{self.name}: {reason}")

    def _checked(self, parse):  # noqa: ANN001, ANN202 - tiny helper: FrameError → BridgeError
        try:
            return parse()
        except frames.FrameError as exc:
            self._fail(f"malformed frame from the child: {exc}")

    def _exchange(
        self, kind: int, payload: bytes, timeout_s: float, what: str, expect_s: float = 0.0
    ) -> tuple[int, bytes]:
        """Send one frame and read one back, both under one deadline.

        The frame is written at once when the pipe takes it (always, for the shared-memory control
        frames); the reply's body is read straight into a buffer of its announced size (os.readv).
        With expect_s (the reply's expected delay), the wait polls from SPIN_FROM of it to
        SPIN_UNTIL of it instead of sleeping (see _CHILD_SPIN_US).
        """
        if self._failed is not None:
            raise BridgeError(f"{self.name}: session already failed ({self._failed})")
        now = time.monotonic()
        deadline = now + timeout_s
        spin_from = now + expect_s * _SPIN_FROM
        spin_until = min(now + expect_s * _SPIN_UNTIL, spin_from + _SPIN_MAX_S) if expect_s > 0 else now
        out = memoryview(frames.frame(kind, payload))
        out = out[self._write(out) :]
        if len(out):
            self._poll.register(self._wfd, select.POLLOUT)
        head = bytearray(frames.HEADER_LEN)
        header: frames.Header | None = None
        buf = memoryview(head)
        got = 0
        try:
            while True:
                now = time.monotonic()
                remaining = deadline - now
                if remaining <= 0:
                    self._fail(f"child did not answer {what} within {timeout_s:g} s (killed)")
                wait_ms = remaining * 1000
                if now < spin_until and header is None and not len(out):
                    wait_ms = max(0.0, spin_from - now) * 1000  # sleep until spin_from, then poll
                for fd, _ in self._poll.poll(wait_ms):
                    if fd == self._wfd:
                        out = out[self._write(out) :]
                        if not len(out):
                            self._poll.unregister(self._wfd)
                        continue
                    # Read what is there: the header, then (often in the same wake-up) the body.
                    while True:
                        try:
                            n = os.readv(self._rfd, [buf[got:]])
                        except BlockingIOError:
                            break
                        if n == 0:
                            self._child_gone(what)
                        got += n
                        if got < len(buf):
                            continue
                        if header is None:
                            header = self._parse_header(bytes(head))
                            buf = memoryview(bytearray(header.length))
                            got = 0
                            if header.length:
                                continue
                        data = bytes(buf)
                        if header.kind == frames.ERROR:
                            message = data.decode(errors="replace")
                            self._fail(f"child reported an error during {what}: {message}{self._stderr_tail()}")
                        return header.kind, data
        finally:
            if len(out):  # registered exactly while output is left
                self._poll.unregister(self._wfd)

    def _write(self, out: memoryview) -> int:
        """Write what the pipe takes now; a gone child counts as all written (the read side reports it)."""
        try:
            return os.write(self._wfd, out)
        except BlockingIOError:
            return 0
        except BrokenPipeError:
            return len(out)

    def _parse_header(self, head: bytes) -> frames.Header:
        try:
            return frames.parse_header(head)
        except frames.FrameError as exc:
            self._fail(f"malformed frame from the child: {exc}")
            raise  # unreachable: _fail raises

    def _child_gone(self, what: str) -> None:
        try:
            code = self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self._fail(f"child closed its output during {what} ({_describe_exit(code)}){self._stderr_tail()}")
