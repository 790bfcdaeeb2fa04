"""Profile one implementation: sampling (unless py-spy cannot see into it), stage timers, summary.

Everything is computed before anything is written, and each file is written atomically, so a
failure leaves no partial profile behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.atomic import write_text
from bench.profiling import artifacts, pyspy
from bench.profiling.attribution import Attribution, attribute
from bench.profiling.defaults import DEFAULT_BATCH_SIZE, DEFAULT_DURATION_S, DEFAULT_RATE_HZ
from bench.profiling.lookup import resolve, sampling_blind_reason
from bench.profiling.passes import BOUNDARY_FUNCTION, batches
from bench.profiling.summary import bottleneck_stage, file_stem, flagged_stages, write_summary
from bench.profiling.timers import TimerRun, run_timers
from bench.profiling.workload_source import Prepared

MIN_STAGE_SAMPLES = 200   # below this a share is uncertain by more than a few points
MAX_OUTSIDE_SHARE = 0.5   # more samples than this outside stages: sampling cannot see the stages


class Unavailable(Exception):
    """The implementation cannot run here (extension not built, toolchain missing…)."""


@dataclass
class Options:
    batch_size: int = DEFAULT_BATCH_SIZE
    rate: int = DEFAULT_RATE_HZ
    native: bool = False
    nonblocking: bool = False
    duration: float | None = DEFAULT_DURATION_S
    loops: int | None = None
    out_dir: Path = Path("results/profiles")
    json_out: Path | None = None
    top: int = 10
    command: str = ""


def profile_impl(spec: str, prepared: Prepared, options: Options) -> dict[str, Any]:
    """Profile `spec` on `workload`; writes the summary and artifacts and returns the summary."""
    impl = resolve(spec)
    reason = impl.unavailable_reason()
    if reason:
        raise Unavailable(reason)
    workload = prepared.workload
    context = workload.context({"batch_size": options.batch_size})
    batch_list = batches(workload.records, options.batch_size)
    blind = sampling_blind_reason(impl)
    stem = file_stem(impl.name, prepared.name)
    files: dict[str, str] = {}   # file name -> content, written at the end
    notes: list[str] = []

    sampling = attribution = None
    if blind:
        notes.append(f"py-spy cannot see into {impl.name} ({blind}): stage shares come from its own "
                     "stage timers only, and no function-level profile is possible.")
    else:
        target_argv = ["--impl", spec, *prepared.target_argv, "--batch-size", str(options.batch_size)]
        native = options.native or bool(getattr(impl, "sampling_native", False))
        sampling, attribution = _sample(target_argv, options, native)
        if not native and attribution.outside_stages_share() > MAX_OUTSIDE_SHARE:
            # Compiled (Cython) stages leave no Python frames; native unwinding recovers them.
            notes.append(f"re-sampled with --native: without it {attribution.outside_stages_share():.0%} of "
                         "samples were outside every stage (declare sampling_native = True to skip that run).")
            native = True
            sampling, attribution = _sample(target_argv, options, native)
        title = f"{impl.name} on {prepared.name} ({options.rate} Hz{', native' if native else ''})"
        files[f"{stem}.raw.txt"] = sampling.raw
        files[f"{stem}.svg"] = artifacts.flamegraph_svg(sampling.raw, title)
        files[f"{stem}.speedscope.json"] = artifacts.dumps_speedscope(sampling.raw, title)
        notes += _sampling_notes(attribution, sampling)

    timers = run_timers(impl, context, batch_list, seconds=options.duration, loops=options.loops)
    if not timers.stage_seconds:
        notes.append(f"{impl.name} reports no stage timers (instrument=True gave nothing).")

    summary = build_summary(impl, prepared.name, options, attribution, sampling, timers, notes,
                            stem if sampling else None)
    summary["events"] = len(workload.records)
    out_dir = options.out_dir
    for name, text in files.items():
        write_text(out_dir / name, text)
    write_summary(options.json_out or out_dir / f"{stem}.json", summary)
    return summary


def _sample(target_argv: list[str], options: Options, native: bool) -> tuple[pyspy.SamplingRun, Attribution]:
    sampling = pyspy.record(target_argv, rate=options.rate, native=native, nonblocking=options.nonblocking,
                            duration=options.duration, loops=options.loops)
    return sampling, attribute(sampling.raw, BOUNDARY_FUNCTION)


def build_summary(
    impl: Any,
    workload_name: str,
    options: Options,
    attribution: Attribution | None,
    sampling: pyspy.SamplingRun | None,
    timers: TimerRun,
    notes: list[str],
    stem: str | None,
) -> dict[str, Any]:
    timer_shares = timers.shares()
    sampled_shares = attribution.stage_shares() if attribution else {}
    source = "py-spy" if attribution and sampled_shares else "timers"
    shares = sampled_shares if source == "py-spy" else timer_shares  # what names the bottleneck
    stage = bottleneck_stage(shares)
    function = attribution.top_in_stage(stage, 1) if attribution and source == "py-spy" and stage else []
    flagged = flagged_stages(sampled_shares, timer_shares)
    if flagged:
        notes.append(f"sampled and timer shares differ by more than 10 points for: {', '.join(flagged)}.")
    top = options.top
    return {
        "impl": impl.name,
        "workload": workload_name,
        "source": source,
        "samples": sampling.samples if sampling else 0,
        "rate": options.rate if sampling else None,
        "stages": sampled_shares,      # sampled only: empty when py-spy could not see the stages
        "timer_stages": timer_shares,
        "flagged": flagged,
        "top_self": attribution.top_self(top) if attribution else [],
        "top_total": attribution.top_total(top) if attribution else [],
        "flamegraph": f"{stem}.svg" if stem else None,
        "speedscope": f"{stem}.speedscope.json" if stem else None,
        "note": " ".join(notes),
        # extensions (docs/results.md): everything below is optional for readers
        "bottleneck": {
            "stage": stage, "share": shares.get(stage) if stage else None, "source": source,
            "function": function[0]["function"] if function else None,
            "function_share": function[0]["share"] if function else None,  # of that stage's samples
        },
        "samples_in_loop": attribution.samples_in_loop if attribution else 0,
        "samples_in_stages": attribution.samples_in_stages if attribution else 0,
        "outside_stages": attribution.outside_stages_share() if attribution else None,
        "timer_seconds": {s: v for s, v in timers.stage_seconds.items() if v > 0},
        "passes": {"sampled": sampling.passes if sampling else 0, "timers": timers.passes},
        "raw": f"{stem}.raw.txt" if stem else None,
        "native": bool(sampling and sampling.native),
        "kind": getattr(impl, "kind", None),
        "runtime": getattr(impl, "runtime", None),
        "batch_size": options.batch_size,
        "command": options.command,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _sampling_notes(attribution: Attribution, sampling: pyspy.SamplingRun) -> list[str]:
    notes = []
    if not attribution.samples_in_loop:
        notes.append("py-spy took no samples in the steady state (workload too small or rate too low).")
    elif attribution.outside_stages_share() > MAX_OUTSIDE_SHARE:
        notes.append(f"{attribution.outside_stages_share():.0%} of steady-state samples are outside every "
                     "stage_<name> frame: py-spy cannot see into the stages"
                     + (" even with native frames." if sampling.native else " (compiled code? try --native)."))
    if 0 < attribution.samples_in_stages < MIN_STAGE_SAMPLES:
        notes.append(f"only {attribution.samples_in_stages} samples inside stages: shares are uncertain "
                     "by several points (raise --duration or --rate).")
    if sampling.errors:
        notes.append(f"py-spy reported {sampling.errors} sampling errors.")
    notes += [f"py-spy: {w}" for w in sampling.warnings]
    return notes
