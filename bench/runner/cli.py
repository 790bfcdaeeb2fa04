"""`partbench run` and `partbench list` (docs/running.md)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.errors import UserError
from bench.runner import defaults, listing


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="verify and measure implementations × workloads (pyperf), write results/",
        description="Verify, then measure per-partition throughput (events/s on one core), per-batch latency, "
                    "memory, CPU and stage times; write results/<run>.json, its pyperf file and latest.json.")
    run.add_argument("--impl", action="append", metavar="NAME",
                     help="implementation (repeatable; default: every registered one). NAME or module:ATTR")
    src = run.add_mutually_exclusive_group()
    src.add_argument("--workload", action="append", metavar="FILE", type=Path, help="workload file (repeatable)")
    src.add_argument("--profile", action="append", metavar="NAME",
                     help="generated workload profile (repeatable), cached under workloads/")
    run.add_argument("--events", type=int, default=None,
                     help=f"events per --profile workload (default {defaults.DEFAULT_PROFILE_EVENTS})")
    run.add_argument("--seed", type=int, default=defaults.DEFAULT_SEED, help="generator seed (default %(default)s)")
    run.add_argument("--batch-size", action="append", type=int, metavar="N",
                     help=f"batch size (repeatable; default {defaults.DEFAULT_BATCH_SIZE} or the pipeline's)")
    run.add_argument("--pipeline", metavar="NAME|FILE",
                     help="take stage settings, batch size (and workload recipe) from pipelines/NAME.toml")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--fast", action="store_true", help="quick: pyperf --fast (4 processes × 2 values)")
    mode.add_argument("--rigorous", action="store_true", help="precise: pyperf --rigorous (16 processes × 3 values)")
    run.add_argument("-o", "--output", type=Path, metavar="FILE",
                     help="results file (default results/<run-id>.json and results/latest.json)")
    run.add_argument("--rounds", type=int, default=1, metavar="N",
                     help="time every benchmark in N interleaved rounds, each with 1/N of the worker processes, "
                          "so that drift of a shared machine reaches every implementation alike (steadier ratios; "
                          "default %(default)s)")
    run.add_argument("--no-stages", action="store_true", help="skip the stage-breakdown runs")
    run.add_argument("--no-aa", action="store_true", help="skip the A/A noise measurement")
    run.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")
    adv = run.add_argument_group("advanced (override pyperf's counts; disables --fast/--rigorous scaling)")
    adv.add_argument("--processes", type=int, help="pyperf worker processes")
    adv.add_argument("--values", type=int, help="timed values per process")
    adv.add_argument("--warmups", type=int, help="warm-up values per process")
    adv.add_argument("--loops", type=int, help="passes per value (default: calibrated by pyperf)")
    adv.add_argument("--min-time", type=float, help="pyperf's minimum seconds per value when calibrating")
    adv.add_argument("--reference", default=defaults.NOISE_IMPL, help=argparse.SUPPRESS)
    adv.add_argument("--results-dir", type=Path, default=Path(defaults.RESULTS_DIR), help=argparse.SUPPRESS)
    adv.add_argument("--workload-dir", type=Path, default=Path(defaults.WORKLOAD_DIR), help=argparse.SUPPRESS)
    run.set_defaults(func=cmd_run)

    lst = subparsers.add_parser("list", help="implementations (kind, runtime), workloads and pipelines")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(func=cmd_list)


def _positive(value: int | None, flag: str) -> None:
    if value is not None and value < 1:
        raise UserError(f"{flag} must be at least 1, got {value}")


def config_from_args(args: argparse.Namespace):
    from bench.runner.plan import RunConfig, WorkloadRequest, default_workloads
    from bench.runner.timing import PyperfOptions

    for flag in ("events", "processes", "values", "loops", "rounds"):
        _positive(getattr(args, flag), "--" + flag)
    for size in args.batch_size or []:
        _positive(size, "--batch-size")
    settings: dict[str, Any] = {}
    recipe: dict[str, Any] = {}
    if args.pipeline:
        settings, recipe = listing.pipeline_settings(args.pipeline)
    batch_sizes = args.batch_size or [int(settings.get("batch_size", defaults.DEFAULT_BATCH_SIZE))]
    settings.pop("batch_size", None)  # set per benchmark from the batch size actually used
    if args.workload:
        workloads = [WorkloadRequest(file=path) for path in args.workload]
    elif args.profile:
        events = args.events or defaults.DEFAULT_PROFILE_EVENTS
        workloads = [WorkloadRequest(profile=p, events=events, seed=args.seed) for p in dict.fromkeys(args.profile)]
    elif recipe.get("profile"):
        workloads = [WorkloadRequest(profile=recipe["profile"],
                                     events=args.events or int(recipe.get("events", defaults.DEFAULT_PROFILE_EVENTS)),
                                     seed=int(recipe.get("seed", args.seed)))]
    else:
        workloads = default_workloads(args.seed)
    if args.impl:
        impls = list(args.impl)
    else:
        from impls import registry

        impls = registry.names()
    mode = "fast" if args.fast else "rigorous" if args.rigorous else "normal"
    return RunConfig(
        impls=impls, workloads=workloads, batch_sizes=list(dict.fromkeys(batch_sizes)), settings=settings,
        pyperf=PyperfOptions(mode=mode, processes=args.processes, values=args.values, warmups=args.warmups,
                             loops=args.loops, min_time=args.min_time),
        stages=not args.no_stages, aa=not args.no_aa, rounds=args.rounds, reference=args.reference, output=args.output,
        results_dir=args.results_dir, workload_dir=args.workload_dir,
        command="partbench " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["run"] else "partbench run",
        plain=True if args.plain else None,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from bench.runner.run import run

    _, code = run(config_from_args(args))
    return code


def cmd_list(args: argparse.Namespace) -> int:
    data = {"implementations": listing.implementations(), "workloads": listing.workloads(),
            "pipelines": listing.pipelines()}
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    from bench.runner.run import default_console

    console = default_console()
    t = Table(title="implementations", title_justify="left")
    for col in ("name", "kind", "runtime", "status", "description"):
        t.add_column(col)
    for row in data["implementations"]:
        status = "[green]available[/]" if row["available"] else f"[yellow]unavailable[/]: {row['reason']}"
        t.add_row(row["name"], row["kind"], row["runtime"], status, row["description"])
    console.print(t)
    w = data["workloads"]
    console.print("workload profiles: " + (", ".join(w["profiles"]) or f"(generator not available: {w['profiles_error']})"),
                  highlight=False)
    console.print("default set (make bench): " + ", ".join(
        f"{d['profile']} ({d['events']:,} events, seed {d['seed']})" for d in w["default_set"]), highlight=False)
    console.print("cached workload files: " + (", ".join(w["cached_files"]) or "none"), highlight=False)
    if data["pipelines"]:
        p = Table(title="pipelines", title_justify="left")
        for col in ("name", "batch size", "workload", "file"):
            p.add_column(col)
        for row in data["pipelines"]:
            if "error" in row:
                p.add_row(row["name"], "", f"[red]{row['error']}[/]", row["file"])
                continue
            recipe = row["workload"]
            what = " ".join(f"{k}={v}" for k, v in recipe.items()) if recipe else ""
            p.add_row(row["name"], str(row["batch_size"] or ""), what, row["file"])
        console.print(p)
    else:
        console.print("pipelines: none (no pipelines/*.toml)", highlight=False)
    return 0
