"""Run progress: a live rich bar with ETA on a terminal, plain lines under CI or in a pipe.

Units: one per pyperf worker process, plus a few for each verification and probe, so the ETA
follows where the time goes.
"""

from __future__ import annotations

import os
import sys
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RunProgress(Protocol):
    def start(self, total: float) -> None: ...
    def step(self, text: str) -> None: ...
    def advance(self, units: float = 1.0) -> None: ...
    def log(self, text: str) -> None: ...
    def stop(self) -> None: ...


def use_plain(stream=None) -> bool:
    stream = stream or sys.stdout
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    return ci or not stream.isatty()


class PlainProgress:
    """One line per step, flushed: readable in CI logs, no control characters."""

    def __init__(self, stream=None) -> None:
        self._stream = stream or sys.stdout
        self._total = 0.0
        self._done = 0.0

    def start(self, total: float) -> None:
        self._total = total

    def step(self, text: str) -> None:
        pct = 100 * self._done / self._total if self._total else 0
        print(f"[{pct:3.0f}%] {text}", file=self._stream, flush=True)

    def advance(self, units: float = 1.0) -> None:
        self._done += units

    def log(self, text: str) -> None:
        print(f"       {text}", file=self._stream, flush=True)

    def stop(self) -> None:
        pass


class RichProgress:
    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=False)
        self._task = None

    def start(self, total: float) -> None:
        self._progress.start()
        self._task = self._progress.add_task("starting", total=total)

    def step(self, text: str) -> None:
        self._progress.update(self._task, description=text)

    def advance(self, units: float = 1.0) -> None:
        self._progress.advance(self._task, units)

    def log(self, text: str) -> None:
        self._progress.console.print(text, highlight=False, markup=False)

    def stop(self) -> None:
        self._progress.stop()


def make_progress(console: Console, plain: bool | None = None) -> RunProgress:
    if plain is None:
        plain = use_plain(console.file)
    return PlainProgress(console.file) if plain else RichProgress(console)
