"""`partbench` command line: each subsystem registers its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys

from bench.errors import UserError

# Each module has register(subparsers); a command sets `func(args) -> int` (the exit code).
COMMAND_MODULES = (
    "bench.workloads.cli",     # workload gen|inspect|import|export|anonymize|record|replay
    "bench.verification.cli",  # process, verify
    "bench.runner.cli",        # run, list
    "bench.profiling.cli",     # profile
    "bench.capacity.cli",      # project
    "bench.reporting.cli",     # report, compare, nightly
    "bench.kafka.cli",         # kafka run|max-rate
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="partbench", description="Per-partition throughput benchmarks for event-ingestion pipelines."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"partbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("partbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
