"""`partbench kafka run|max-rate|broker`: an implementation on a real Kafka-protocol cluster."""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import signal
import sys
import time
from typing import Any

from bench.errors import UserError
from bench.kafka import config as kconfig


def register(subparsers: argparse._SubParsersAction) -> None:
    kafka = subparsers.add_parser("kafka", help="run implementations on a Kafka cluster (consumer groups, max rate)")
    sub = kafka.add_subparsers(dest="kafka_command", required=True, metavar="SUBCOMMAND")

    run = sub.add_parser("run", help="N workers in one consumer group process a topic through an implementation")
    run.add_argument("--bootstrap", required=True, metavar="HOST:PORT")
    run.add_argument("--topic", required=True)
    run.add_argument("--impl", required=True, help="registry name, or module.path:ATTR")
    run.add_argument("--workers", type=int, default=1)
    run.add_argument("--group", help="consumer group (default: a fresh one, so the topic is read from its start)")
    out = run.add_mutually_exclusive_group(required=True)
    out.add_argument("--output-topic-prefix", metavar="P", help="produce each output stream to topic P_<stream>")
    out.add_argument("--discard", action="store_true", help="process but do not produce the outputs")
    run.add_argument("--context", metavar="WORKLOAD_FILE",
                     help="workload file whose header gives the team table and person snapshot")
    run.add_argument("--batch-size", type=int, default=500)
    run.add_argument("--records", type=int, help="stop once this many input records are committed")
    run.add_argument("--idle-timeout", type=float, default=10.0, help="stop after this many seconds without records")
    run.add_argument("--max-seconds", type=float, default=600.0)
    run.add_argument("--no-verify", action="store_true", help="skip verification (then no figures are reported)")
    run.add_argument("-o", "--output", metavar="FILE", help="results file (default results/kafka-<run id>.json)")
    kconfig.add_arguments(run)
    run.set_defaults(func=cmd_run)

    mr = sub.add_parser("max-rate", help="highest rate each implementation sustains with lag inside the SLA")
    mr.add_argument("--bootstrap", required=True, metavar="HOST:PORT")
    mr.add_argument("--workload", required=True, metavar="FILE", help="records to offer (cycled) and the context")
    mr.add_argument("--impl", action="append", required=True, help="repeatable; registry name or module:ATTR")
    mr.add_argument("--partitions", type=int, default=1)
    mr.add_argument("--workers", type=int, default=1)
    mr.add_argument("--topic-prefix", default="partbench-maxrate", help="a fresh topic is created per implementation")
    mr.add_argument("--batch-size", type=int, default=500)
    mr.add_argument("--start-rate", type=float, default=1000.0, help="records/s of the first step")
    mr.add_argument("--step-seconds", type=float, default=5.0)
    mr.add_argument("--sla-p99-ms", type=float, default=5000.0, help="end-to-end p99 latency SLA")
    mr.add_argument("--max-backlog-s", type=float, default=1.0, help="backlog allowed, in seconds of traffic")
    mr.add_argument("--precision", type=float, default=0.1, help="stop when failed/sustained rates are this close")
    mr.add_argument("--max-steps", type=int, default=12)
    mr.add_argument("--output-topic-prefix", metavar="P", help="produce outputs to P_<stream> (default: discard)")
    mr.add_argument("--no-verify", action="store_true")
    mr.add_argument("-o", "--output", metavar="FILE")
    kconfig.add_arguments(mr)
    mr.set_defaults(func=cmd_max_rate)

    br = sub.add_parser("broker", help="start a local in-memory Tansu broker for demos (Ctrl-C stops it)")
    br.add_argument("--port", type=int, help="default: a free port")
    br.set_defaults(func=cmd_broker)


def _positive(name: str, value: float | int | None) -> None:
    if value is not None and value <= 0:
        raise UserError(f"{name}: must be positive, got {value}")


def load_context(path: str | None, batch_size: int) -> tuple[dict[str, Any], str | None, str | None, Any]:
    """(context fields, workload name, checksum, workload) from a workload file's header."""
    settings = {"batch_size": batch_size}
    if path is None:
        return {"teams": [], "persons": [], "settings": settings}, None, None, None
    from bench.workloads import format as wformat

    workload = wformat.load(path)
    context = dataclasses.asdict(workload.context(settings))
    context.pop("topic", None)
    context.pop("partition", None)
    return context, workload.name, workload.header.get("checksum"), workload


def _impl_meta(name: str) -> tuple[str, str, str]:
    from bench.kafka.impl_ref import resolve

    impl = resolve(name)
    return (name if ":" not in name else impl.name), impl.kind, impl.runtime


def cmd_run(args: argparse.Namespace) -> int:
    from bench.kafka import results_file, summary
    from bench.kafka.run import RunSpec, run_group
    from bench.kafka.verify import Verdict, run_digest, verify_run
    from impls.base import PartitionContext

    for name in ("workers", "batch_size", "records", "idle_timeout", "max_seconds"):
        _positive("--" + name.replace("_", "-"), getattr(args, name))
    client = kconfig.from_args(args)
    impl_name, kind, runtime = _impl_meta(args.impl)
    context, wname, checksum, _ = load_context(args.context, args.batch_size)
    group = args.group or f"partbench-{impl_name.replace(':', '-')}-{secrets.token_hex(3)}"
    spec = RunSpec(args.bootstrap, args.topic, args.impl, args.workers, group, client, context,
                   output_prefix=None if args.discard else args.output_topic_prefix, batch_size=args.batch_size,
                   records=args.records, idle_timeout_s=args.idle_timeout, max_seconds=args.max_seconds)
    print(f"kafka run: {args.workers} worker(s), group {group}, topic {args.topic} at {args.bootstrap}", file=sys.stderr)
    outcome = run_group(spec)
    print(f"kafka run: stopped ({outcome.stop_reason}); {len(outcome.batches())} batches", file=sys.stderr)
    if args.no_verify:
        verdict = Verdict("unavailable", run_digest(outcome.batches()), "not verified (--no-verify)")
    else:
        verdict = verify_run(args.impl, outcome.batches(), PartitionContext(**context),
                             bootstrap=args.bootstrap, topic=args.topic, config=client)
    result = summary.build_result(outcome, verdict, impl_name=impl_name, kind=kind, runtime=runtime,
                                  workload=wname or args.topic, workload_file=args.context, workload_checksum=checksum)
    doc = results_file.document([result], mode="kafka-run", command=results_file.redacted_command(sys.argv[1:]),
                                settings={"batch_size": args.batch_size, "workers": args.workers,
                                          "partitions": outcome.partitions})
    path = results_file.write(doc, args.output)
    _print_run(result)
    print(f"results: {path}", file=sys.stderr)
    fatal = [w for w in outcome.workers if w.fatal]
    return 1 if fatal or verdict.status == "failed" else 0


def _fmt(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:,.0f}{unit}"


def _print_run(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    ver = result["verification"]
    kafka = result["kafka"]
    table = Table(title=f"{result['impl']} over Kafka ({kafka['topic']}, {kafka['workers']} workers)")
    for col in ("partition", "records", "batches", "busy ev/s", "processing ev/s", "wall ev/s"):
        table.add_column(col, justify="right")
    for p, row in kafka["per_partition"].items():
        table.add_row(p, str(row["events"]), str(row["batches"]), _fmt(row.get("busy_events_per_s")),
                      _fmt(row.get("processing_events_per_s")), _fmt(row.get("wall_events_per_s")))
    console = Console(stderr=False)
    console.print(table)
    console.print(f"verification: {ver['status']} — {ver['detail']}")
    if result["throughput"]:
        tp = result["throughput"]
        e2e = kafka["end_to_end_ms"]
        console.print(f"per-partition throughput over Kafka: {tp['events_per_s']:,.0f} events/s (mean of partitions)")
        if e2e:
            console.print(f"end-to-end latency: p50 {e2e['p50']:.0f} ms, p99 {e2e['p99']:.0f} ms "
                          f"({e2e['count']} records; {e2e['excluded']} older than the run excluded)")
        else:
            console.print("end-to-end latency: not measured (every record was timestamped before the run "
                          "started; produce during the run, e.g. `workload replay --rate`, or use `kafka max-rate`)")
    else:
        console.print("no figures reported: the outputs were not verified")
    for warning in result["warnings"]:
        console.print(f"warning: {warning}")


def cmd_max_rate(args: argparse.Namespace) -> int:
    from bench.kafka import results_file, summary
    from bench.kafka.admin import create_topic
    from bench.kafka.maxrate import MaxRateSpec, find_max_rate
    from bench.kafka.verify import Verdict, run_digest, verify_run
    from impls.base import PartitionContext

    for name in ("partitions", "workers", "batch_size", "start_rate", "step_seconds", "sla_p99_ms",
                 "max_backlog_s", "precision", "max_steps"):
        _positive("--" + name.replace("_", "-"), getattr(args, name))
    client = kconfig.from_args(args)
    context, wname, checksum, workload = load_context(args.workload, args.batch_size)
    if not workload.records:
        raise UserError(f"file {args.workload}: no records")
    results = []
    status = 0
    for impl in args.impl:
        impl_name, kind, runtime = _impl_meta(impl)
        tag = f"{impl_name.replace(':', '-')}-{secrets.token_hex(3)}"
        topic = f"{args.topic_prefix}-{tag}"
        create_topic(args.bootstrap, topic, args.partitions, client)
        spec = MaxRateSpec(args.bootstrap, topic, impl, f"partbench-maxrate-{tag}", workload.records, context, client,
                           workers=args.workers, batch_size=args.batch_size, start_rate=args.start_rate,
                           step_s=args.step_seconds, sla_p99_ms=args.sla_p99_ms, max_backlog_s=args.max_backlog_s,
                           precision=args.precision, max_steps=args.max_steps,
                           output_prefix=args.output_topic_prefix)
        print(f"max-rate: {impl_name} on topic {topic} ({args.partitions} partitions, {args.workers} workers)",
              file=sys.stderr)
        found = find_max_rate(spec, log=lambda m: print("  " + m, file=sys.stderr))
        if args.no_verify:
            verdict = Verdict("unavailable", run_digest(found.run.batches()), "not verified (--no-verify)")
        else:
            verdict = verify_run(impl, found.run.batches(), PartitionContext(**context),
                                 bootstrap=args.bootstrap, topic=topic, config=client)
        result = summary.build_result(found.run, verdict, impl_name=impl_name, kind=kind, runtime=runtime,
                                      workload=wname or args.workload, workload_file=args.workload,
                                      workload_checksum=checksum)
        verified = verdict.status == "passed"
        total = sum(found.partition_share.values())
        hottest = max(found.partition_share.values(), default=0) / total if total else None
        result["kafka"]["max_rate"] = {
            "sustained_events_per_s": found.best_rate if verified else None,
            "hottest_partition_share": hottest,
            "hottest_partition_events_per_s": (found.best_rate * hottest
                                               if verified and found.best_rate and hottest else None),
            "sla_p99_ms": args.sla_p99_ms, "max_backlog_s": args.max_backlog_s, "step_s": args.step_seconds,
            "steps": [s.as_dict() for s in found.steps] if verified else None, "note": found.note,
        }
        results.append(result)
        shown = _fmt(found.best_rate, " events/s") if verified else f"withheld ({verdict.status}: {verdict.detail})"
        print(f"max sustainable rate of {impl_name}: {shown}" + (f" ({found.note})" if found.note else ""),
              file=sys.stderr)
        status = max(status, 1 if verdict.status == "failed" else 0)
    doc = results_file.document(results, mode="kafka-max-rate",
                                command=results_file.redacted_command(sys.argv[1:]),
                                settings={"batch_size": args.batch_size, "workers": args.workers,
                                          "partitions": args.partitions})
    print(f"results: {results_file.write(doc, args.output)}", file=sys.stderr)
    return status


def cmd_broker(args: argparse.Namespace) -> int:
    from bench.kafka import broker

    running = broker.start(args.port)
    print(f"Tansu broker at {running.bootstrap} (pid {running.pid}); Ctrl-C or SIGTERM stops it", flush=True)

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    # A background job ignores SIGINT, so `kill PID` (SIGTERM) must also stop the broker with it.
    signal.signal(signal.SIGTERM, stop)
    try:
        while running.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    return 0
