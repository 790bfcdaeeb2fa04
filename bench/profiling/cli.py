"""`partbench profile`: per implementation, the bottleneck stage and functions (docs/profiling.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from bench.errors import UserError
from bench.profiling.defaults import DEFAULT_DURATION_S, DEFAULT_RATE_HZ
from bench.profiling.lookup import load_error
from bench.profiling.passes import ContractError
from bench.profiling.run import Options, Unavailable, profile_impl
from bench.profiling.table import print_summary
from bench.profiling.target import add_workload_arguments, workload_source
from impls import registry


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile", help="profile implementations: bottleneck stage and functions (py-spy + stage timers)",
        description="Sample each implementation's steady state with py-spy, attribute samples to pipeline "
        "stages, and compare with the implementation's own stage timers.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--impl", action="append", metavar="NAME",
                       help="implementation (registry name or module.path:ATTR); repeatable")
    which.add_argument("--all", action="store_true", help="every registered implementation (unavailable ones skipped)")
    add_workload_arguments(parser)
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE_HZ, metavar="HZ",
                        help=f"py-spy samples per second (default: {DEFAULT_RATE_HZ})")
    parser.add_argument("--native", action="store_true", help="also sample native frames (Cython, C extensions)")
    parser.add_argument("--nonblocking", action="store_true",
                        help="do not pause the target per sample (less overhead, less accurate)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--duration", type=int, default=None, metavar="SECONDS",
                        help=f"seconds of steady state to sample, and to time (default: {DEFAULT_DURATION_S})")
    length.add_argument("--loops", type=int, default=None, metavar="N",
                        help="instead of --duration: whole passes over the workload to sample, and to time")
    parser.add_argument("--out-dir", type=Path, default=Path("results/profiles"),
                        help="where summaries, flamegraphs and speedscope files go (default: results/profiles)")
    parser.add_argument("--json-out", type=Path, default=None, metavar="FILE",
                        help="summary file (one implementation only; default OUT_DIR/<impl>--<workload>.json)")
    parser.add_argument("--top", type=int, default=10, metavar="N", help="top functions listed (default: 10)")
    parser.set_defaults(func=run)


def _options(args: argparse.Namespace) -> Options:
    if not 1 <= args.rate <= 10000:
        raise UserError(f"--rate must be between 1 and 10000 Hz, got {args.rate}")
    if args.loops is not None and args.loops < 1:
        raise UserError(f"--loops must be at least 1, got {args.loops}")
    if args.duration is not None and args.duration < 1:
        raise UserError(f"--duration must be at least 1 second, got {args.duration}")
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {args.batch_size}")
    duration = None if args.loops is not None else (args.duration or DEFAULT_DURATION_S)
    return Options(
        batch_size=args.batch_size, rate=args.rate, native=args.native,
        nonblocking=args.nonblocking, duration=duration, loops=args.loops, out_dir=args.out_dir,
        json_out=args.json_out, top=args.top, command="partbench " + " ".join(sys.argv[1:]),
    )


def run(args: argparse.Namespace) -> int:
    options = _options(args)
    specs = registry.names() if args.all else args.impl
    if options.json_out is not None and len(specs) != 1:
        raise UserError("--json-out needs exactly one --impl")
    console = Console()
    prepared = workload_source(args).prepare()  # once, shared by every implementation
    if not prepared.workload.records:
        raise UserError(f"workload {prepared.name}: no records")
    failures = 0
    for spec in specs:
        console.rule(f"profile {spec}")
        if args.all and (reason := load_error(spec)):
            console.print(f"[yellow]skipped {spec}: unavailable: {reason}[/]")
            continue
        try:
            summary = profile_impl(spec, prepared, options)
        except Unavailable as exc:
            console.print(f"[yellow]skipped {spec}: unavailable: {exc}[/]")
            continue
        except Exception as exc:  # one broken implementation must not stop the others
            if len(specs) == 1:
                if isinstance(exc, UserError | ContractError):
                    raise UserError(f"profile {spec}: {exc}") from None
                raise
            kind = "" if isinstance(exc, UserError | ContractError) else f"{type(exc).__name__}: "
            print(f"partbench: error: profile {spec}: {kind}{exc}", file=sys.stderr)
            failures += 1
            continue
        print_summary(summary, console)
    return 1 if failures else 0
