"""`partbench workload gen|inspect|import|export|anonymize|record|replay`."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bench.atomic import atomic_write
from bench.errors import UserError

DEFAULT_DIR = Path("workloads")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("workload", help="generate, inspect, import/export, record and replay workloads")
    sub = parser.add_subparsers(dest="workload_command", required=True, metavar="SUBCOMMAND")

    gen = sub.add_parser("gen", help="generate a synthetic partition workload")
    gen.add_argument("--profile", help="general, hot-key, identify-heavy, large-properties, personless, hostile")
    gen.add_argument("--all-profiles", action="store_true", help="one file per profile into the -o folder")
    gen.add_argument("--events", type=int, default=20000)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("-o", "--output", help="file (or folder with --all-profiles); "
                                            "default workloads/<profile>-<events>-s<seed>.pbw")
    gen.set_defaults(func=cmd_gen)

    inspect = sub.add_parser("inspect", help="event mix, key skew, sizes, teams and checksum of a workload")
    inspect.add_argument("file")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.add_argument("--top", type=int, default=10, help="how many keys and events to list")
    inspect.set_defaults(func=cmd_inspect)

    imp = sub.add_parser("import", help="JSON Lines capture -> workload file")
    imp.add_argument("file")
    imp.add_argument("-o", "--output", required=True)
    imp.add_argument("--context", help="JSON file with teams/persons/groups/restrictions (overrides the file's)")
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="workload file -> JSON Lines")
    exp.add_argument("file")
    exp.add_argument("-o", "--output", default="-", help="default: standard output")
    exp.set_defaults(func=cmd_export)

    anon = sub.add_parser("anonymize", help="replace distinct ids, IPs, emails and URLs with consistent pseudonyms")
    anon.add_argument("file")
    anon.add_argument("-o", "--output", required=True)
    anon.add_argument("--key", help="secret for the pseudonyms (default: $PARTBENCH_ANON_KEY, else random)")
    anon.set_defaults(func=cmd_anonymize)

    rec = sub.add_parser("record", help="record a partition range from a Kafka cluster")
    rec.add_argument("--bootstrap", required=True, metavar="HOST:PORT")
    rec.add_argument("--topic", required=True)
    rec.add_argument("--partition", type=int, required=True)
    start = rec.add_mutually_exclusive_group(required=True)
    start.add_argument("--from-offset", type=int)
    start.add_argument("--from-time", help="epoch milliseconds or an ISO 8601 time")
    rec.add_argument("--count", type=int, required=True)
    rec.add_argument("-o", "--output", required=True)
    rec.add_argument("--context", help="JSON file with teams/persons/groups/restrictions for the header")
    rec.add_argument("-X", dest="config", action="append", default=[], metavar="KEY=VALUE",
                     help="librdkafka setting (repeatable)")
    rec.set_defaults(func=cmd_record)

    rep = sub.add_parser("replay", help="produce a workload's records to a Kafka topic")
    rep.add_argument("file")
    rep.add_argument("--bootstrap", required=True, metavar="HOST:PORT")
    rep.add_argument("--topic", required=True)
    rep.add_argument("--partition", type=int)
    rep.add_argument("--rate", type=float, help="records per second (default: as fast as possible)")
    rep.add_argument("-X", dest="config", action="append", default=[], metavar="KEY=VALUE",
                     help="librdkafka setting (repeatable)")
    rep.set_defaults(func=cmd_replay)


# --- gen ------------------------------------------------------------------------------------

def cmd_gen(args: argparse.Namespace) -> int:
    from bench.workloads import format as workload_format
    from bench.workloads import generator

    if args.all_profiles == bool(args.profile):
        raise UserError("workload gen: give exactly one of --profile NAME or --all-profiles")
    if args.events < 1:
        raise UserError(f"workload gen: --events must be positive, got {args.events}")
    profiles = list(generator.PROFILES) if args.all_profiles else [args.profile]
    for profile in profiles:
        if profile not in generator.PROFILES:
            raise UserError(f"workload gen: unknown profile {profile!r} (known: {', '.join(generator.PROFILES)})")
    folder = Path(args.output) if args.all_profiles and args.output else DEFAULT_DIR
    for profile in profiles:
        name = f"{profile}-{args.events}-s{args.seed}.pbw"
        out = Path(args.output) if args.output and not args.all_profiles else folder / name
        try:
            workload = generator.generate(profile, args.events, args.seed)
        except ValueError as exc:
            raise UserError(f"workload gen: {profile}: {exc}") from exc
        checksum = workload_format.save(workload, out)
        print(f"{out}: {len(workload.records)} records, profile {profile}, seed {args.seed}, {checksum}")
    return 0


# --- inspect --------------------------------------------------------------------------------

def cmd_inspect(args: argparse.Namespace) -> int:
    from bench.workloads.summary import summarize

    summary = summarize(args.file, top=args.top)
    if args.json:
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_summary(summary, args.top)
    if summary["checksum"]["status"] != "ok":
        print(f"partbench: error: {summary['checksum']['detail']}", file=sys.stderr)
        return 1
    return 0


def _print_summary(s: dict[str, Any], top: int) -> None:
    from rich.console import Console
    from rich.table import Table

    # Piped output (CI logs, files) gets a fixed width so the tables do not wrap at 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 120)
    origin = s["origin"]
    overview = Table(title=f"workload {s['name']}  ({s['file']})", show_header=False)
    overview.add_column(style="bold")
    overview.add_column()
    overview.add_row("format version", str(s["format_version"]))
    desc = ", ".join(f"{k}={origin[k]}" for k in ("kind", "profile", "events", "seed", "generator_version",
                                                   "topic", "partition", "first_offset", "last_offset", "source")
                     if k in origin)
    overview.add_row("origin", desc)
    overview.add_row("records", f"{s['records']:,}")
    span = s["time_span"]
    rate = f", {span['records_per_s']:,.0f} records/s of message time" if span["records_per_s"] else ""
    overview.add_row("message time", f"{span['seconds']:.1f} s{rate}")
    overview.add_row("file size", f"{s['file_bytes'] / 1e6:,.2f} MB")
    ctx = s["context"]
    overview.add_row("context", f"{ctx['teams']} teams, {ctx['persons']} persons, {ctx['groups']} groups, "
                                f"{ctx['restrictions']} restrictions")
    overview.add_row("personless events", f"{s['personless_events']:,}")
    overview.add_row("unparsable / null values", f"{s['unparsable_values']:,} / {s['null_values']:,}")
    ck = s["checksum"]
    overview.add_row("checksum", f"[green]ok[/] {ck['value']}" if ck["status"] == "ok" else f"[red]{ck['detail']}[/]")
    console.print(overview)

    mix = Table(title="event mix")
    for col in ("event", "records", "share"):
        mix.add_column(col, justify="left" if col == "event" else "right")
    for row in s["event_mix"][:top * 2]:
        name = row["event"] if len(row["event"]) <= 60 else row["event"][:57] + "…"
        mix.add_row(name, f"{row['records']:,}", f"{row['share']:.1%}")
    if len(s["event_mix"]) > top * 2:
        rest = s["event_mix"][top * 2:]
        mix.add_row(f"({len(rest)} more)", f"{sum(r['records'] for r in rest):,}", f"{sum(r['share'] for r in rest):.1%}")
    console.print(mix)

    skew = s["key_skew"]
    keys = Table(title=f"key skew: {skew['distinct_keys']:,} distinct keys, top 1 {skew['top1_share']:.1%}, "
                       f"top 10 {skew['top10_share']:.1%}")
    for col in ("key", "records", "share"):
        keys.add_column(col, justify="left" if col == "key" else "right")
    for row in skew["top_keys"]:
        key = row["key"] if row["key"] is None or len(row["key"]) <= 70 else row["key"][:67] + "…"
        keys.add_row(str(key), f"{row['records']:,}", f"{row['share']:.1%}")
    console.print(keys)

    sizes = Table(title="distributions")
    for col in ("", "p50", "p90", "p99", "mean", "max"):
        sizes.add_column(col, justify="right")
    for label, field in (("message bytes", "message_bytes"), ("properties per event", "properties_per_event")):
        d = s[field]
        if d:
            sizes.add_row(label, *(f"{d[k]:,.0f}" for k in ("p50", "p90", "p99", "mean", "max")))
    console.print(sizes)

    teams = Table(title="teams")
    for col in ("id", "name", "token", "records", "share", "anonymize_ips", "group types", "drop older than"):
        teams.add_column(col)
    for t in s["teams"]:
        teams.add_row(str(t["team_id"] or "-"), t["name"], t["token"][:14] + ("…" if len(t["token"]) > 14 else ""),
                      f"{t['records']:,}", f"{t['share']:.1%}", str(t["anonymize_ips"]),
                      ", ".join(t["group_types"] or {}) or "-", str(t["drop_events_older_than_s"] or "-"))
    console.print(teams)

    if origin.get("hostile_cases"):
        hostile = Table(title="hostile cases injected (from the header)")
        hostile.add_column("case")
        hostile.add_column("records", justify="right")
        for case, n in origin["hostile_cases"].items():
            hostile.add_row(case, str(n))
        console.print(hostile)


# --- import / export ------------------------------------------------------------------------

def _read_context(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, "rb") as handle:
            context = orjson.loads(handle.read())
    except OSError as exc:
        raise UserError(f"file {path}: cannot open ({exc.strerror or exc})") from exc
    except orjson.JSONDecodeError as exc:
        raise UserError(f"file {path}: not valid JSON ({exc})") from exc
    if not isinstance(context, dict):
        raise UserError(f"file {path}: expected an object with teams/persons/groups/restrictions")
    unknown = set(context) - {"teams", "persons", "groups", "restrictions"}
    if unknown:
        raise UserError(f"file {path}: unknown context field(s) {', '.join(sorted(unknown))}")
    for name, value in context.items():
        if not isinstance(value, list):
            raise UserError(f"file {path}: {name} must be a list")
    return context


def cmd_import(args: argparse.Namespace) -> int:
    from bench.workloads import format as workload_format
    from bench.workloads.jsonl import read_jsonl

    workload = read_jsonl(args.file, _read_context(args.context))
    workload.header["name"] = Path(args.output).name.split(".")[0]
    checksum = workload_format.save(workload, args.output)
    print(f"{args.output}: {len(workload.records)} records imported from {args.file}, {checksum}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bench.workloads.jsonl import export

    if args.output == "-":
        export(args.file, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return 0
    out = Path(args.output)
    counted: list[int] = []

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            counted.append(export(args.file, handle))

    atomic_write(out, write)
    count = counted[0]
    print(f"{out}: {count} records exported from {args.file}", file=sys.stderr)
    return 0


# --- anonymize ------------------------------------------------------------------------------

def cmd_anonymize(args: argparse.Namespace) -> int:
    from bench.workloads import format as workload_format
    from bench.workloads.anonymize import Anonymizer

    key_text = args.key or os.environ.get("PARTBENCH_ANON_KEY")
    if not key_text:
        key_text = secrets.token_hex(32)
        print("workload anonymize: no --key or $PARTBENCH_ANON_KEY; using a random key "
              "(pseudonyms are consistent within this file only)", file=sys.stderr)
    anon = Anonymizer(key_text.encode())
    header = anon.context(workload_format.read_header(args.file))
    with workload_format.WorkloadWriter(args.output, header) as writer:
        for block in workload_format.iter_record_blocks(args.file):
            for record in block:
                writer.write(anon.record(record))
    print(f"{args.output}: {header.get('record_count')} records anonymized from {args.file}, {writer.checksum}")
    return 0


# --- Kafka ----------------------------------------------------------------------------------

def _config(pairs: list[str]) -> dict[str, str]:
    config = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"-X {pair!r}: expected KEY=VALUE")
        config[key.strip()] = value
    return config


def _parse_time_ms(text: str) -> int:
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UserError(f"--from-time {text!r}: expected epoch milliseconds or an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise UserError(f"--from-time {text!r}: give a time zone (e.g. Z or +00:00)")
    return int(parsed.timestamp() * 1000)


def _kafka_io() -> Any:
    try:
        from bench.kafka import workload_io
    except ImportError as exc:
        raise UserError(f"the Kafka client module is not available ({exc})") from exc
    return workload_io


def cmd_record(args: argparse.Namespace) -> int:
    from bench.workloads import format as workload_format
    from bench.workloads.model import Workload

    if args.count < 1:
        raise UserError(f"workload record: --count must be positive, got {args.count}")
    context = _read_context(args.context)
    from_time = _parse_time_ms(args.from_time) if args.from_time is not None else None
    records = _kafka_io().record_partition(args.bootstrap, args.topic, args.partition,
                                           from_offset=args.from_offset, from_time_ms=from_time,
                                           count=args.count, config=_config(args.config))
    origin = {"kind": "recorded", "topic": args.topic, "partition": args.partition,
              "first_offset": records[0].offset if records else None,
              "last_offset": records[-1].offset if records else None}
    header = {"name": Path(args.output).name.split(".")[0], "origin": origin,
              "teams": context.get("teams", []), "persons": context.get("persons", []),
              "groups": context.get("groups", []), "restrictions": context.get("restrictions", [])}
    workload = Workload(header["name"], header, list(records))
    checksum = workload_format.save(workload, args.output)
    print(f"{args.output}: {len(records)} records from {args.topic}[{args.partition}] "
          f"offsets {origin['first_offset']}..{origin['last_offset']}, {checksum}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from bench.workloads import format as workload_format

    workload_format.read_header(args.file)  # bad files fail before anything is produced
    sent = _kafka_io().replay(workload_format.iter_records(args.file), args.bootstrap, args.topic,
                              partition=args.partition, rate=args.rate, config=_config(args.config))
    print(f"{args.file}: {sent} records replayed to {args.topic}"
          + (f"[{args.partition}]" if args.partition is not None else ""))
    return 0
