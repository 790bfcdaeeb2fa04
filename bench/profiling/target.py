"""The profiled program: `python -m bench.profiling.target --impl SPEC [workload options] …`.

Loads the workload and does one warm-up pass (imports, caches, JIT) before py-spy attaches, so
the samples show the steady state. Protocol with the profiler (pyspy.py), one line each:
  target -> stdout: "ready"          (loaded and warmed up; waiting)
  profiler -> stdin: "go"            (py-spy is attached and sampling)
  target runs passes until --loops passes are done, or until stdin says "stop" or closes
  target -> stdout: "done PASSES"
"""

from __future__ import annotations

import argparse
import select
import sys

from bench.errors import UserError
from bench.profiling.defaults import DEFAULT_BATCH_SIZE, DEFAULT_EVENTS, DEFAULT_PROFILE, DEFAULT_SEED
from bench.profiling.lookup import resolve
from bench.profiling.passes import batches, run_pass
from bench.profiling.workload_source import WorkloadSource


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--workload", metavar="FILE", help="workload file (or module.path:ATTR)")
    source.add_argument("--profile", default=DEFAULT_PROFILE, metavar="NAME",
                        help=f"generator profile (default: {DEFAULT_PROFILE})")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS,
                        help=f"events to generate (default: {DEFAULT_EVENTS}, as in `partbench run`)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default: {DEFAULT_SEED})")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"records per batch (default: {DEFAULT_BATCH_SIZE})")


def workload_source(args: argparse.Namespace) -> WorkloadSource:
    return WorkloadSource(workload=args.workload, profile=args.profile, events=args.events, seed=args.seed)


def _stop_requested() -> bool:
    """Polled between passes: a line ("stop") or EOF on stdin means finish. (No reader thread:
    py-spy does not always recognise a thread blocked in read() as idle.)"""
    readable, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(readable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling.target")
    parser.add_argument("--impl", required=True, metavar="SPEC")
    add_workload_arguments(parser)
    parser.add_argument("--loops", type=int, default=None, help="passes to run (default: until told to stop)")
    args = parser.parse_args(argv)
    try:
        impl = resolve(args.impl)
        workload = workload_source(args).load()
        if not workload.records:
            raise UserError(f"workload {workload.name}: no records")
        context = workload.context({"batch_size": args.batch_size})
        batch_list = batches(workload.records, args.batch_size)
    except UserError as exc:
        print(f"target: error: {exc}", file=sys.stderr)
        return exc.exit_code

    run_pass(impl, context, batch_list)  # warm-up, not sampled
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    passes = 0
    while (args.loops is None or passes < args.loops) and not _stop_requested():
        run_pass(impl, context, batch_list)
        passes += 1
    print(f"done {passes}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
