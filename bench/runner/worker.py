"""The pyperf benchmark script: `python -m bench.runner.worker --bench-name NAME --impl … …`.

Run without `--worker` it is pyperf's manager: it spawns worker processes (this same module with
`--worker`), calibrates loops, drops warm-ups and writes pyperf's JSON (`-o`). Each worker loads
the workload once, then pyperf calls `Target.time_loops(loops)`; one loop is one pass over the
whole workload with a fresh session. Values are seconds per event (inner_loops = events).

For subprocess implementations the headline value is the child's own processing time; the wall
time of the same passes (end-to-end, transfer included) goes to the `--e2e-out` side file, one
JSON line per worker process, since a pyperf value can hold only one number.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pyperf

from bench.runner import defaults


def _forward_args(cmd: list[str], args: Any) -> None:
    """pyperf calls this to build each worker's command line: pass our options on."""
    cmd.extend(["--bench-name", args.bench_name, "--impl", args.impl,
                "--workload-file", args.workload_file, "--batch-size", str(args.batch_size),
                "--settings", args.settings])
    if args.e2e_out:
        cmd.extend(["--e2e-out", args.e2e_out])


def _manager_placeholder(loops: int) -> float:
    raise AssertionError("the pyperf manager process never times anything itself")


def _write_e2e(path: str, bench: pyperf.Benchmark, wall_log: list[float], events: int) -> None:
    run = bench.get_runs()[0]
    if run._is_calibration() or not run.values:
        return  # calibration-only process: pyperf drops it, so do we
    loops = run.get_loops()
    walls = wall_log[-len(run.values):]  # warm-ups came first
    values = [wall / (loops * events) for wall in walls]
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"values": values}) + "\n")


def main(argv: list[str] | None = None) -> None:
    runner = pyperf.Runner(
        processes=defaults.BASE_PROCESSES,
        values=defaults.BASE_VALUES,
        warmups=defaults.WARMUPS,
        program_args=("-m", "bench.runner.worker"),
        add_cmdline_args=_forward_args,
    )
    parser = runner.argparser
    parser.add_argument("--bench-name", required=True, help="e.g. reference/general/b500")
    parser.add_argument("--impl", required=True, help="registry name or module:ATTR")
    parser.add_argument("--workload-file", required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--settings", default="{}", help="stage settings as JSON")
    parser.add_argument("--e2e-out", default=None, help="side file for end-to-end values")
    args = runner.parse_args(argv)

    if not args.worker:
        runner.bench_time_func(args.bench_name, _manager_placeholder)
        return

    from bench.runner.target import load_target

    target = load_target(args.impl, args.workload_file, args.batch_size, args.settings)
    metadata = {
        "partbench_impl": target.impl.name,
        "partbench_events": target.events,
        "partbench_batch_size": args.batch_size,
        "partbench_headline": "child processing time" if target.self_timed else "wall time",
    }
    bench = runner.bench_time_func(args.bench_name, target.time_loops,
                                   inner_loops=target.events, metadata=metadata)
    if bench is not None and args.e2e_out and target.self_timed:
        _write_e2e(args.e2e_out, bench, target.wall_log, target.events)


if __name__ == "__main__":
    main(sys.argv[1:])
