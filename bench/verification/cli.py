"""`partbench process` and `partbench verify`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bench.atomic import write_bytes
from bench.errors import UserError
from bench.verification.canonical import digest
from bench.verification.compare import VerifyResult, verify
from bench.verification.process import AccountingError, run
from bench.workloads.model import Workload
from impls import registry
from impls.base import STREAMS

DEFAULT_VERIFY_EVENTS = 600  # per profile when no workload is named: small, every case present
EXIT_EQUAL, EXIT_MISMATCH, EXIT_CANNOT_RUN = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("process", help="run one implementation over a workload, write its outputs",
                              description="Write each output stream as JSON lines plus summary.json.")
    p.add_argument("workload", metavar="WORKLOAD", help="a workload file, or a profile name to generate")
    p.add_argument("--impl", default=registry.REFERENCE, help="implementation name (default: reference)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    _common(p, events_default=2000)
    p.set_defaults(func=cmd_process)

    v = subparsers.add_parser("verify", help="compare implementations' outputs with the reference",
                              description="Exit 0 when all equal, 1 on a mismatch, 2 when something could "
                                          "not run. Without WORKLOAD: small generated workloads of every profile. "
                                          "--impl all skips stripped implementations (name one to run it).")
    v.add_argument("workloads", nargs="*", metavar="WORKLOAD", help="workload files or profile names")
    v.add_argument("--impl", default="all", help="implementation name, or 'all' (default)")
    _common(v, events_default=DEFAULT_VERIFY_EVENTS)
    v.set_defaults(func=cmd_verify)


def _common(parser: argparse.ArgumentParser, *, events_default: int) -> None:
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--events", type=int, default=events_default,
                        help=f"events per generated profile workload (default {events_default})")
    parser.add_argument("--seed", type=int, default=1, help="seed for generated workloads (default 1)")


def load_workload(spec: str, *, events: int, seed: int) -> Workload:
    """A workload file, else a generator profile name."""
    from bench.workloads import format as wformat
    from bench.workloads import generator

    if os.path.exists(spec):
        try:
            return wformat.load(spec)
        except UserError:
            raise
        except Exception as exc:
            raise UserError(f"{spec}: cannot load workload: {exc}") from None
    if spec in generator.PROFILES:
        return generator.generate(spec, events, seed)
    raise UserError(f"{spec}: no such workload file or profile (profiles: {', '.join(generator.PROFILES)})")


def cmd_process(args: argparse.Namespace) -> int:
    workload = load_workload(args.workload, events=args.events, seed=args.seed)
    try:
        impl = registry.get(args.impl)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None
    reason = impl.unavailable_reason()
    if reason is not None:
        raise UserError(f"implementation {args.impl}: unavailable: {reason}")
    try:
        outputs = run(impl, workload, batch_size=args.batch_size)
    except AccountingError as exc:
        raise UserError(f"{args.workload}: {exc}") from None
    # Everything is computed before the first file is written: a failure leaves no partial output.
    summary = {
        "impl": impl.name, "workload": workload.name, "records": outputs.records,
        "batch_size": outputs.batch_size, "batches": outputs.batches, "outcomes": outputs.outcomes,
        "streams": {name: len(outputs.streams[name]) for name in STREAMS},
        "digest": digest(outputs.streams, outputs.outcomes),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name in STREAMS:
        write_bytes(args.out / f"{name}.jsonl", b"".join(row + b"\n" for row in outputs.streams[name]))
    write_bytes(args.out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    print(f"{impl.name} on {workload.name}: {outputs.records} records -> {args.out} ({summary['digest']})")
    return 0


def _print_result(result: VerifyResult) -> None:
    line = f"{result.status.upper():11s} {result.impl} on {result.workload}"
    if result.status == "passed":
        line += f"  {result.digest}"
    elif result.detail:
        line += f"\n            {result.detail}"
    print(line, flush=True)


def cmd_verify(args: argparse.Namespace) -> int:
    from bench.workloads import generator

    if args.impl == "all":
        names, explicit = [], False
        for name in registry.names():
            try:
                kind = registry.get(name).kind
            except Exception:
                kind = "realistic"  # cannot even load: verify() reports the error
            if kind == "stripped":
                # A stripped variant (e.g. decode + re-encode only) is not meant to match.
                print(f"{'SKIPPED':11s} {name}  (stripped: not expected to match the reference)")
            else:
                names.append(name)
    elif args.impl in registry.names():
        names, explicit = [args.impl], True
    else:
        raise UserError(f"unknown implementation {args.impl!r} (known: {', '.join(registry.names())})")
    specs = args.workloads or list(generator.PROFILES)
    workloads = [load_workload(spec, events=args.events, seed=args.seed) for spec in specs]
    results = [verify(name, w, batch_size=args.batch_size) for w in workloads for name in names]
    for result in results:
        _print_result(result)
    statuses = {r.status for r in results}
    if "failed" in statuses:
        return EXIT_MISMATCH
    # With --impl all an implementation that is not built here is reported, not an error.
    if "error" in statuses or (explicit and "unavailable" in statuses):
        return EXIT_CANNOT_RUN
    if not any(r.status == "passed" for r in results):
        print("partbench verify: nothing could be verified", file=sys.stderr)
        return EXIT_CANNOT_RUN
    return EXIT_EQUAL
