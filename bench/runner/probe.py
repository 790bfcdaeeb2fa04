"""Separate measurement pass: per-batch latency, peak RSS, CPU time and the stage breakdown.

`python -m bench.runner.probe --impl … --workload-file … --batch-size N --budget-s S --out FILE`
runs in its own process (so its peak RSS is this implementation's and this workload's only) and
writes one JSON object. Kept apart from the pyperf workers so that per-batch clocks and stage
timers add no overhead to the headline loops.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.atomic import write_json
from bench.runner import defaults
from bench.runner.stages import measure_stage_seconds
from bench.runner.target import Target, load_target


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def _own_rss_mb(field: str) -> float:
    """This process's memory from /proc (VmHWM: peak, VmRSS: now), in MiB.

    Not getrusage(RUSAGE_SELF): Linux carries ru_maxrss over fork and exec, so a probe started by
    a large harness process would report the harness's peak instead of its own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return _rss_mb(resource.RUSAGE_SELF)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # an out-of-process child, once reaped
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def latency_passes(target: Target, budget_s: float, max_samples: int) -> tuple[list[float], int]:
    """Per-batch service seconds over whole passes until the time budget or sample cap is reached.
    A subprocess implementation's service time is its own processing time (as in the headline)."""
    samples: list[float] = []
    passes = 0
    clock = time.perf_counter
    deadline = clock() + budget_s
    while passes == 0 or (clock() < deadline and len(samples) < max_samples):
        session = target.impl.start(target.context)
        try:
            for batch in target.batches:
                t0 = clock()
                out = session.process_batch(batch)
                elapsed = clock() - t0
                samples.append(out.processing_seconds if target.self_timed else elapsed)
        finally:
            session.close()
        passes += 1
    return samples[:max_samples], passes


def probe(target: Target, budget_s: float, stage_passes: int, max_samples: int) -> dict[str, Any]:
    baseline_rss = _own_rss_mb("VmRSS")  # interpreter + implementation + loaded workload
    target.one_pass()  # warm-up: lazy imports, caches, JIT
    cpu0 = _cpu_seconds()
    samples, passes = latency_passes(target, budget_s, max_samples)
    cpu = _cpu_seconds() - cpu0
    result: dict[str, Any] = {
        "latency_s": samples,
        "passes": passes,
        "cpu_seconds": cpu,
        "events_processed": passes * target.events,
        "baseline_rss_mb": baseline_rss,
        "peak_rss_mb": _own_rss_mb("VmHWM"),
        "peak_rss_child_mb": _rss_mb(resource.RUSAGE_CHILDREN) if target.self_timed else None,
        "stage_seconds": measure_stage_seconds(target, stage_passes) if stage_passes > 0 else None,
    }
    return result


class ProbeError(RuntimeError):
    """The probe process failed (its stderr's last lines are in the message)."""


def run_probe(impl_spec: str, workload_file: Path, batch_size: int, settings: dict, budget_s: float,
              stage_passes: int, workdir: Path, name: str) -> dict[str, Any]:
    """Run the probe in its own process (harness side) and return its measurements."""
    out = workdir / (name.replace("/", "__") + ".probe.json")
    cmd = [sys.executable, "-m", "bench.runner.probe", "--impl", impl_spec,
           "--workload-file", str(workload_file), "--batch-size", str(batch_size),
           "--settings", json.dumps(settings, sort_keys=True), "--budget-s", str(budget_s),
           "--stage-passes", str(stage_passes), "--out", str(out)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=defaults.WORKER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ProbeError(f"probe timed out after {defaults.WORKER_TIMEOUT_S} s") from None
    if proc.returncode != 0 or not out.exists():
        from bench.runner.timing import root_error

        raise ProbeError(f"probe exited with code {proc.returncode}: {root_error(proc.stderr)}")
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runner.probe")
    parser.add_argument("--impl", required=True)
    parser.add_argument("--workload-file", required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--settings", default="{}")
    parser.add_argument("--budget-s", type=float, default=2.0)
    parser.add_argument("--stage-passes", type=int, default=1)
    parser.add_argument("--max-samples", type=int, default=defaults.MAX_LATENCY_SAMPLES)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    target = load_target(args.impl, args.workload_file, args.batch_size, args.settings)
    result = probe(target, args.budget_s, args.stage_passes, args.max_samples)
    write_json(args.out, result, indent=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
