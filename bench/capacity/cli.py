"""`partbench project`: pods and partitions per lane and implementation at g× growth."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.atomic import write_json
from bench.capacity import config, hotkey, inputs
from bench.errors import UserError

# The projection and scaling modules (numba, numpy) are imported inside the command, so that
# every other `partbench` command starts without paying for them.


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "project", help="capacity projection: pods and partitions at N× growth within the lag SLA",
        description="Project pods and partitions per lane (pipelines/*.toml) and implementation, "
                    "checked against the lag SLA by simulation.")
    p.add_argument("--pipeline", action="append", metavar="NAME|FILE",
                   help="lane name or .toml file (repeatable; default: every file in --pipelines-dir)")
    p.add_argument("--pipelines-dir", default="pipelines", metavar="DIR")
    p.add_argument("--growth", type=float, metavar="G", help="growth factor (default: each lane's, 10)")
    p.add_argument("--results", action="append", metavar="FILE",
                   help="results file(s) of `partbench run` (default: results/latest.json)")
    p.add_argument("--json-out", default="results/projection.json", metavar="FILE")
    p.add_argument("--scaling-cache", default="results/scaling.json", metavar="FILE",
                   help="measured scaling efficiency, reused until --measure-scaling")
    m = p.add_mutually_exclusive_group()
    m.add_argument("--measure-scaling", action="store_true",
                   help="measure multi-core scaling (and validate the model) now, even if cached")
    m.add_argument("--no-measure", action="store_true",
                   help="never measure; without a cache, efficiency is assumed 1.0 (said in the output)")
    p.add_argument("--scaling-impl", default="reference", metavar="NAME")
    p.add_argument("--scaling-partitions", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="measure 1..N concurrent partitions (default: this machine's cores)")
    p.add_argument("--scaling-seconds", type=float, default=3.0, metavar="S")
    p.add_argument("--scaling-events", type=int, default=5000, metavar="N")
    p.add_argument("--scaling-repeats", type=int, default=1, metavar="R")
    p.add_argument("--no-sim-sensitivity", action="store_true",
                   help="sensitivity by formula only (skip the simulated pods per growth)")
    p.set_defaults(func=run)


def _pipelines(args: argparse.Namespace) -> list[config.Pipeline]:
    if args.pipeline:
        return [config.resolve(spec, args.pipelines_dir) for spec in args.pipeline]
    return config.load_all(args.pipelines_dir)


def _measure(args: argparse.Namespace, lane: config.Pipeline, cache: dict[str, Any]) -> None:
    """Measure the scaling curve and validate the model; results go into `cache`."""
    from bench.capacity import scaling
    from bench.workloads.generator import generate  # another subsystem: imported when needed
    from impls import registry

    impl = registry.get(args.scaling_impl)
    reason = impl.unavailable_reason()
    if reason:
        raise UserError(f"--scaling-impl {args.scaling_impl}: unavailable here: {reason}")
    n = max(1, args.scaling_partitions)
    events = min(lane.workload.events, args.scaling_events)
    workload = generate(lane.workload.profile, events, lane.workload.seed)
    print(f"measuring scaling: {impl.name} on {lane.workload.profile} ({events} events), "
          f"1..{n} concurrent partitions, {args.scaling_seconds:g} s each…", file=sys.stderr)
    curve = scaling.measure(impl, workload, dict(lane.stages), n, args.scaling_seconds, args.scaling_repeats)
    curve["workload"]["profile"] = lane.workload.profile
    cache["impls"][impl.name] = curve
    k = n if n > 1 else 1
    print(f"validating the model on {k} concurrent partitions…", file=sys.stderr)
    cache["validation"] = scaling.validate(impl, workload, dict(lane.stages), k,
                                           min(1.0, curve["efficiency"][k - 1]), args.scaling_seconds)
    cache["validation"]["created"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scaling(args: argparse.Namespace, lane: config.Pipeline) -> tuple[dict[str, Any], list[str]]:
    cache = inputs.load_scaling(args.scaling_cache)
    notes: list[str] = []
    if args.measure_scaling or (not cache["impls"] and not args.no_measure):
        try:
            _measure(args, lane, cache)
        except (ImportError, KeyError, RuntimeError, UserError) as exc:
            if args.measure_scaling:
                raise UserError(f"scaling measurement failed: {exc}") from None
            notes.append(f"scaling measurement not possible here ({exc}); efficiency assumed 1.0")
        else:
            write_json(args.scaling_cache, cache, indent=2)
    return cache, notes


def run(args: argparse.Namespace) -> int:
    from bench.capacity.project import project_lane

    if args.growth is not None and not args.growth > 0:
        raise UserError(f"--growth: must be > 0, got {args.growth:g}")
    pipelines = [hotkey.resolve(p) for p in _pipelines(args)]
    result_files = args.results or ["results/latest.json"]
    if not args.results and not Path(result_files[0]).exists():
        raise UserError(f"{result_files[0]}: no such results file (run `partbench run` first, "
                        f"or pass --results FILE)")
    results = inputs.load_results(result_files)
    if not results.usable:
        raise UserError(f"{', '.join(result_files)}: no verified result with a throughput: nothing "
                        f"to project ({len(results.ignored)} ignored)")
    primary = next((p for p in pipelines if p.name == "general"), pipelines[0])
    cache, notes = _scaling(args, primary)
    lanes = [project_lane(p, results, cache, args.growth, not args.no_sim_sensitivity) for p in pipelines]
    for lane in lanes:
        lane["assumptions"].extend(notes)
    head = next(lane for lane in lanes if lane["pipeline"] == primary.name)
    doc = {
        "schema": "partbench.projection/1",
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": _command(args),
        "results_files": result_files,
        **head,  # the primary lane at top level, as docs/results.md shows
        "validation": cache.get("validation"),
        "scaling": cache.get("impls", {}),
        "pipelines": lanes,
    }
    write_json(args.json_out, doc, indent=2)
    _print(lanes, doc["validation"], args.json_out)
    return 0


def _command(args: argparse.Namespace) -> str:
    """The command that reproduces this projection (the options that were given)."""
    words = ["partbench", "project"]
    for spec in args.pipeline or []:
        words += ["--pipeline", spec]
    for f in args.results or []:
        words += ["--results", f]
    if args.growth is not None:
        words += ["--growth", f"{args.growth:g}"]
    if args.json_out != "results/projection.json":
        words += ["--json-out", args.json_out]
    return shlex.join(words)


def _fmt_lag(x: float) -> str:
    return f"{x:.2f}" if x < 1000 else f"{x:.3g}"


def _print(lanes: list[dict[str, Any]], validation: dict[str, Any] | None, out: str) -> None:
    # Not a terminal (CI logs, files): wide enough that the table's numbers are not cut.
    console = Console(width=None if sys.stdout.isatty() else 150)
    for lane in lanes:
        today = lane["today"]
        title = escape(f"lane {lane['pipeline']}: {lane['growth']:g}× today's peak "
                       f"({today['peak_events_per_s']:g} events/s, {today['pods']} pods, "
                       f"{today['partitions']} partitions)"
                       + ("  [EXAMPLE traffic figures]" if lane["example_figures"] else ""))
        table = Table(title=title, title_justify="left")
        for col in ("impl", "μ/partition", "e", "μ/pod", "pods", "partitions", "cost vs today",
                    "sim p99 s", "sim p99.9 s", "SLA", "fewest pods (SLA)"):
            table.add_column(col, justify="left" if col == "impl" else "right")
        for r in lane["rows"]:
            sim = r["sim"]
            table.add_row(
                escape(r["impl"] + ("" if r["source"] == "local" else f" ({r['source']})")),
                f"{r['mu_partition']:,.0f}", f"{r['efficiency']:.2f}", f"{r['mu_pod']:,.0f}",
                str(r["pods"]), str(r["partitions"]), f"{r['cost_vs_today']:.2f}×",
                _fmt_lag(sim["p99_lag_s"]), _fmt_lag(sim["p999_lag_s"]),
                "[green]met[/]" if sim["meets_sla"] else "[red]missed[/]",
                "—" if sim["min_pods_meeting_sla"] is None else str(sim["min_pods_meeting_sla"]))
        console.print(table)
        for r in lane["rows"]:
            console.print(f"  {escape(r['sentence'])}", highlight=False)
        if not lane["rows"]:
            console.print("  no verified result for this lane's workload: nothing projected")
        console.print()
    for line in lanes[0]["ignored"]:  # the same results files for every lane
        console.print(f"[yellow]ignored:[/] {escape(line)}", highlight=False)
    console.print("Assumptions (in full in the JSON):", highlight=False)
    for line in lanes[0]["assumptions"]:
        console.print(f"  - {escape(line)}", highlight=False, soft_wrap=True)
    if validation:
        console.print(
            f"Model check on this machine: {validation['partitions']} concurrent partitions predicted "
            f"{validation['predicted_events_per_s']:,.0f} events/s, measured "
            f"{validation['measured_events_per_s']:,.0f} ({validation['error_pct']:+.1f}%; linear "
            f"scaling would be {validation['linear_error_pct']:+.1f}%)", highlight=False)
    else:
        console.print("Model check on this machine: not run (partbench project --measure-scaling)")
    console.print(f"wrote {out}", highlight=False)
