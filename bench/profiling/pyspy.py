"""Run the target under `py-spy record` and collect raw collapsed stacks.

One sampling run, raw format only: the flamegraph SVG and the speedscope JSON are converted from
the same samples (artifacts.py), so every view shows exactly the samples behind the table and no
second run is paid for. py-spy attaches by pid after the target has loaded and warmed up, and the
target starts its steady loop only once py-spy reports that it is sampling.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import UserError
from bench.profiling.attribution import parse_raw

_MARKER = "Sampling process"
_SAMPLES = re.compile(r"Samples: (\d+) Errors: (\d+)")


@dataclass
class SamplingRun:
    raw: str                    # collapsed stacks, `frame;frame;leaf COUNT` per line
    samples: int                # as reported by py-spy
    errors: int
    passes: int                 # steady-state passes the target completed
    warnings: list[str] = field(default_factory=list)  # e.g. py-spy falling behind
    native: bool = False


def pyspy_binary() -> str:
    """The venv's py-spy (installed with the package), else one on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise UserError("py-spy not found (expected beside the interpreter or on PATH; run make setup)")
    return found


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
        spy_log_path = Path(tmp) / "py-spy.log"
        with open(stderr_path, "w+") as target_err, open(spy_log_path, "w") as spy_log:
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
                # py-spy reports on stdout ("Sampling process…" once attached, sample counts at the end)
                spy = subprocess.Popen(spy_cmd, stdin=subprocess.DEVNULL, stdout=spy_log, stderr=subprocess.STDOUT)
                _wait_for(lambda: spy.poll() is not None or _MARKER in spy_log_path.read_text(), 60)
                if spy.poll() is not None and not raw_path.exists():
                    raise UserError(f"py-spy failed: {_first_error(spy_log_path)}")
                with contextlib.suppress(BrokenPipeError):
                    target.stdin.write("go\n")
                    target.stdin.flush()
                if duration is not None:
                    spy.wait(timeout=duration + timeout)
                    with contextlib.suppress(BrokenPipeError):  # it may have failed meanwhile
                        target.stdin.write("stop\n")
                        target.stdin.close()
                    done = target.stdout.readline().strip()
                    target.wait(timeout=timeout)
                else:
                    done = target.stdout.readline().strip()  # py-spy stops when the target exits
                    target.wait(timeout=timeout)
                    spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                raise UserError(f"profiling timed out after {timeout:.0f} s") from None
            finally:
                for proc in (spy, target):
                    if proc is not None and proc.poll() is None:
                        proc.kill()
                        proc.wait()
        if target.returncode != 0 or not done.startswith("done"):
            raise UserError(f"profiled program failed: {_last_line(stderr_path)}")
        log = spy_log_path.read_text(errors="replace")
        if spy.returncode != 0 or not raw_path.exists():
            raise UserError(f"py-spy failed (exit {spy.returncode}): {_first_error(spy_log_path)}")
        counts = _SAMPLES.search(log)
        warnings = sorted({line.removeprefix("py-spy> ") for line in log.splitlines() if "behind in sampling" in line})
        raw = raw_path.read_text(errors="replace")  # native frames may carry odd bytes
        return SamplingRun(
            raw=raw,
            samples=int(counts.group(1)) if counts else sum(count for _, count in parse_raw(raw)),
            errors=int(counts.group(2)) if counts else 0,
            passes=int(done.split()[1]),
            warnings=warnings[:3],
            native=native,
        )


def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired("py-spy", timeout)
        time.sleep(0.02)


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no error output"


def _first_error(log_path: Path) -> str:
    lines = log_path.read_text(errors="replace").splitlines()
    useful = [line for line in lines if line.strip() and _MARKER not in line]
    return useful[0] if useful else "no error output"
