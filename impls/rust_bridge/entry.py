"""Registry entries for the Rust prototype: one per mode of the same binary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from impls.base import PartitionContext, Session
from impls.rust_bridge import binary
from impls.rust_bridge.session import BridgeSession


@dataclass
class RustBridge:
    """An Implementation whose sessions are child processes of the Rust binary.

    `command` replaces the binary's argv (tests plug in fake children); `extra_args` are added to
    the binary's argv (tests use its `--fault` modes).
    """

    name: str
    description: str
    mode: Literal["full", "floor"]
    kind: Literal["realistic", "stripped"] = "realistic"
    runtime: Literal["in-process", "subprocess"] = "subprocess"
    timeout_s: float = 60.0
    start_timeout_s: float = 15.0
    command: Sequence[str] | None = None
    extra_args: Sequence[str] = field(default_factory=tuple)

    def argv(self) -> list[str]:
        if self.command is not None:
            return list(self.command)
        return [str(binary.binary_path()), *self.extra_args]

    def unavailable_reason(self) -> str | None:
        if self.command is not None:
            return None
        return binary.unavailable_reason()

    def start(self, context: PartitionContext, *, instrument: bool = False) -> Session:
        reason = self.unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"{self.name}: {reason}")
        return BridgeSession(
            self.name,
            self.argv(),
            context,
            mode=self.mode,
            instrument=instrument,
            timeout_s=self.timeout_s,
            start_timeout_s=self.start_timeout_s,
        )
