"""Run the target under `py-spy record` and collect raw collapsed stacks.

One sampling run, raw format only: the flamegraph SVG and the speedscope JSON are converted from
the same samples (artifacts.py), so every view shows exactly the samples behind the table and no
second run is paid for. py-spy attaches by pid after the target has loaded and warmed up, and the
target starts its steady loop only once py-spy reports that it is sampling.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import UserError

_SAMPLES = re.compile(r"Samples: (\d+) Errors: (\d+)")


@dataclass
class SamplingRun:
    raw: str                    # collapsed stacks, `frame;frame;leaf COUNT` per line
    samples: int                # as reported by py-spy
    errors: int
    passes: int                 # steady-state passes the target completed
    warnings: list[str] = field(default_factory=list)  # e.g. py-spy falling behind


def pyspy_binary() -> str:
    """The venv's py-spy (installed with the package), else one on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise UserError("py-spy not found (expected beside the interpreter or on PATH; run make setup)")
    return found


class _LineReader(threading.Thread):
    """Drains a pipe in the background (py-spy may warn repeatedly; a full pipe would block it)."""

    def __init__(self, stream, marker: str) -> None:
        super().__init__(daemon=True)
        self.stream, self.marker = stream, marker
        self.lines: list[str] = []
        self.seen = threading.Event()

    def run(self) -> None:
        for line in self.stream:
            self.lines.append(line.rstrip("\n"))
            if self.marker in line:
                self.seen.set()
        self.seen.set()  # stream closed: stop waiting either way


def record(
    target_argv: list[str],
    *,
    rate: int,
    native: bool = False,
    nonblocking: bool = False,
    duration: float | None = None,
    loops: int | None = None,
    timeout: float = 900.0,
) -> SamplingRun:
    """Sample the target's steady state for `duration` seconds or for `loops` whole passes."""
    if (duration is None) == (loops is None):
        raise ValueError("give exactly one of duration and loops")
    binary = pyspy_binary()
    with tempfile.TemporaryDirectory(prefix="partbench-profile-") as tmp:
        raw_path = Path(tmp) / "profile.raw"
        stderr_path = Path(tmp) / "target.stderr"
        cmd = [sys.executable, "-m", "bench.profiling.target", *target_argv]
        if loops is not None:
            cmd += ["--loops", str(loops)]
        with open(stderr_path, "w+") as target_err:
            target = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=target_err, text=True)
            spy = None
            try:
                ready = target.stdout.readline().strip()  # loading and warm-up happen here
                if ready != "ready":
                    target.wait(timeout=30)
                    raise UserError(f"profiled program failed before sampling: {_last_line(stderr_path)}")
                spy_cmd = [binary, "record", "--pid", str(target.pid), "-f", "raw", "-F", "-r", str(rate),
                           "-o", str(raw_path)]
                spy_cmd += ["--native"] * native + ["--nonblocking"] * nonblocking
                if duration is not None:
                    spy_cmd += ["-d", str(max(1, round(duration)))]
                spy = subprocess.Popen(spy_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
                spy_log = _LineReader(spy.stderr, "Sampling process")
                spy_log.start()
                spy_log.seen.wait(timeout=60)
                if spy.poll() is not None and not raw_path.exists():
                    raise UserError(f"py-spy failed: {_first_error(spy_log.lines)}")
                target.stdin.write("go\n")
                target.stdin.flush()
                if duration is not None:
                    spy.wait(timeout=duration + timeout)
                    target.stdin.write("stop\n")
                    target.stdin.close()
                    done = target.stdout.readline().strip()
                    target.wait(timeout=timeout)
                else:
                    done = target.stdout.readline().strip()  # py-spy stops when the target exits
                    target.wait(timeout=timeout)
                    spy.wait(timeout=60)
                spy_log.join(timeout=10)
            except subprocess.TimeoutExpired:
                raise UserError(f"profiling timed out after {timeout:.0f} s") from None
            finally:
                for proc in (spy, target):
                    if proc is not None and proc.poll() is None:
                        proc.kill()
                        proc.wait()
        if target.returncode != 0 or not done.startswith("done"):
            raise UserError(f"profiled program failed: {_last_line(stderr_path)}")
        if spy.returncode != 0 or not raw_path.exists():
            raise UserError(f"py-spy failed (exit {spy.returncode}): {_first_error(spy_log.lines)}")
        counts = next((m for m in map(_SAMPLES.search, spy_log.lines) if m), None)
        warnings = sorted({line.removeprefix("py-spy> ") for line in spy_log.lines if "behind in sampling" in line})
        return SamplingRun(
            raw=raw_path.read_text(),
            samples=int(counts.group(1)) if counts else 0,
            errors=int(counts.group(2)) if counts else 0,
            passes=int(done.split()[1]),
            warnings=warnings[:3],
        )


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no error output"


def _first_error(lines: list[str]) -> str:
    useful = [line for line in lines if line.strip() and "Sampling process" not in line]
    return useful[0] if useful else "no error output"

