"""Headline timing of one benchmark: pyperf's manager run as a subprocess.

`python -m bench.runner.worker … -o FILE` spawns the worker processes, calibrates loops, drops
warm-ups and writes pyperf's JSON, which is loaded back here. Its stdout prints one "." per
finished worker process: that drives the progress bar.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyperf

from bench.runner import defaults


class TimingError(RuntimeError):
    """The benchmark could not be timed (a worker crashed or timed out)."""


@dataclass
class Timed:
    bench: pyperf.Benchmark
    process_values: list[list[float]]           # seconds per event, one list per worker process
    e2e_process_values: list[list[float]] | None  # subprocess implementations: wall-time values


@dataclass(frozen=True)
class PyperfOptions:
    """How many processes/values: pyperf's `--fast`/`--rigorous` on our base counts, or explicit."""

    mode: str = "normal"                 # fast | normal | rigorous
    processes: int | None = None
    values: int | None = None
    warmups: int | None = None
    loops: int | None = None
    min_time: float | None = None

    def args(self) -> list[str]:
        explicit = [("--processes", self.processes), ("--values", self.values), ("--warmups", self.warmups),
                    ("--loops", self.loops), ("--min-time", self.min_time)]
        out = [f"{flag}={value}" for flag, value in explicit if value is not None]
        # pyperf's --fast/--rigorous would override explicit process/value counts: use one or the other
        if self.mode in ("fast", "rigorous") and self.processes is None and self.values is None:
            out.append("--" + self.mode)
        return out

    def expected_processes(self) -> int:
        if self.processes is not None:
            return self.processes
        if self.mode == "fast":
            return max(defaults.BASE_PROCESSES // 2, 3)
        if self.mode == "rigorous":
            return defaults.BASE_PROCESSES * 2
        return defaults.BASE_PROCESSES

    def expected_values(self) -> int:
        if self.values is not None:
            return self.values
        if self.mode == "fast" and self.processes is None:
            return max(defaults.BASE_VALUES * 2 // 3, 2)
        return defaults.BASE_VALUES

    def expected_warmups(self) -> int:
        return defaults.WARMUPS if self.warmups is None else self.warmups

    def one_round(self, rounds: int, loops: int | None) -> PyperfOptions:
        """The counts for one of `rounds` interleaved rounds: the processes shared out (rounded
        up), the same values and warm-ups per process, and after the first round the loops the
        first one calibrated (so every round's values time the same work)."""
        return PyperfOptions(mode=self.mode, processes=math.ceil(self.expected_processes() / rounds),
                             values=self.expected_values(), warmups=self.expected_warmups(),
                             loops=self.loops if loops is None else loops, min_time=self.min_time)


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


def root_error(stderr: str, lines: int = 4) -> str:
    """The first exception line of a child's stderr (the worker's own error comes before the
    pyperf manager's "failed with exit code"), or its last lines."""
    text = stderr.strip().splitlines()
    for line in text:
        if _EXCEPTION_LINE.match(line):
            return line.strip()
    return " | ".join(line.strip() for line in text[-lines:])


def _stderr_tail(path: Path) -> str:
    try:
        return root_error(path.read_text(errors="replace"))
    except OSError:
        return ""


def inherited_environment() -> str:
    """--inherit-environ for the pyperf workers: pyperf gives a worker only the variables
    named, and the PARTBENCH_* settings (which binary, shared memory, polling) and
    CARGO_TARGET_DIR (where the binary is) must be the ones the verification ran with."""
    names = ["PYTHONPATH", "CARGO_TARGET_DIR", *(k for k in os.environ if k.startswith("PARTBENCH_"))]
    return ",".join(sorted(set(names)))


def calibrated_loops(timed: Timed) -> int:
    """Passes per value in a timed benchmark (pyperf's calibration, or the --loops given)."""
    return next(run.get_loops() for run in timed.bench.get_runs() if run.values)


def merge_rounds(first: Timed, later: Timed) -> Timed:
    """One benchmark of two rounds' worker processes (pyperf's own merge of runs)."""
    bench = pyperf.Benchmark(first.bench.get_runs())
    bench.add_runs(later.bench)
    e2e = None if first.e2e_process_values is None else first.e2e_process_values + (later.e2e_process_values or [])
    return Timed(bench, first.process_values + later.process_values, e2e)


def run_pyperf(name: str, impl_spec: str, workload_file: Path, batch_size: int, settings: dict,
               options: PyperfOptions, workdir: Path, on_process: Callable[[], None] = lambda: None,
               tag: str = "") -> Timed:
    """`tag` tells apart the files of several rounds of one benchmark."""
    slug = name.replace("/", "__") + tag
    out = workdir / f"{slug}.json"
    e2e = workdir / f"{slug}.e2e.jsonl"
    err = workdir / f"{slug}.stderr"
    cmd = [sys.executable, "-m", "bench.runner.worker",
           "--bench-name", name, "--impl", impl_spec, "--workload-file", str(workload_file),
           "--batch-size", str(batch_size), "--settings", json.dumps(settings, sort_keys=True),
           "--e2e-out", str(e2e), "--timeout", str(defaults.WORKER_TIMEOUT_S),
           "--inherit-environ", inherited_environment(), "-o", str(out), *options.args()]
    with open(err, "wb") as err_file:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err_file, bufsize=0)
        try:
            assert proc.stdout is not None
            while (char := proc.stdout.read(1)) not in (b"", b"\n"):
                if char == b".":
                    on_process()
            proc.stdout.read()
            code = proc.wait()
        finally:
            if proc.poll() is None:  # interrupted: do not leave workers behind
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    if code != 0 or not out.exists():
        raise TimingError(f"pyperf exited with code {code}: {_stderr_tail(err)}")
    bench = pyperf.Benchmark.load(str(out))
    process_values = [list(run.values) for run in bench.get_runs() if run.values]
    e2e_values = None
    if e2e.exists():
        e2e_values = [json.loads(line)["values"] for line in e2e.read_text().splitlines() if line.strip()]
    return Timed(bench, process_values, e2e_values)
