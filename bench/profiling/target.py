"""The profiled program: `python -m bench.profiling.target --impl SPEC [workload options] …`.

Loads the workload and does one warm-up pass (imports, caches, JIT) before py-spy attaches, so
the samples show the steady state. Protocol with the profiler (pyspy.py), one line each:
  target -> stdout: "ready"          (loaded and warmed up; waiting)
  profiler -> stdin: "go"            (py-spy is attached and sampling)
  target runs passes until --loops passes are done, or until stdin says "stop" or closes
  target -> stdout: "done PASSES"
The reader of stdin is a thread blocked in read(): idle, so py-spy (without --idle) skips it.
"""

from __future__ import annotations

import argparse
import sys
import threading

from bench.errors import UserError
from bench.profiling.lookup import resolve
from bench.profiling.passes import batches, run_pass
from bench.profiling.workload_source import WorkloadSource


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--workload", metavar="FILE", help="workload file (or module.path:ATTR)")
    source.add_argument("--profile", default="general", metavar="NAME", help="generator profile (default: general)")
    parser.add_argument("--events", type=int, default=20000, help="events to generate (default: 20000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default: 1)")
    parser.add_argument("--batch-size", type=int, default=500, help="records per batch (default: 500)")


def workload_source(args: argparse.Namespace) -> WorkloadSource:
    return WorkloadSource(workload=args.workload, profile=args.profile, events=args.events, seed=args.seed)


def _wait_for_stop(stop: threading.Event) -> None:
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    stop.set()  # "stop" or EOF (the profiler went away): either way, finish


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
    stop = threading.Event()
    threading.Thread(target=_wait_for_stop, args=(stop,), daemon=True).start()
    passes = 0
    while not stop.is_set() and (args.loops is None or passes < args.loops):
        run_pass(impl, context, batch_list)
        passes += 1
    print(f"done {passes}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
