"""Turn a Kafka run's reports into a results-file entry (docs/results.md, source "kafka").

Figures (throughput, latencies) appear only when verification passed; otherwise the entry
carries the counts, the verdict and why, and `throughput: null`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from bench.kafka.config import redact
from bench.kafka.run import RunOutcome
from bench.kafka.verify import Verdict
from bench.runner.stats import latency_summary, mean_ci95

KEEP_SAMPLES = 5000


def _percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    arr = np.asarray(values, dtype=float)
    return {"p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99)),
            "p999": float(np.percentile(arr, 99.9)), "max": float(arr.max())}


def partition_table(outcome: RunOutcome) -> dict[str, dict[str, Any]]:
    """Per partition: records and batches, and three rates (events/s):
    busy = records / time spent on its batches (process + produce + acknowledge + commit; waiting
    for input excluded) — the over-Kafka counterpart of the in-process per-partition figure;
    processing = records / time inside the implementation only; wall = records / first-to-last batch."""
    acc: dict[int, dict[str, Any]] = defaultdict(lambda: {"events": 0, "batches": 0, "busy_s": 0.0,
                                                          "proc_s": 0.0, "t0": None, "t1": None, "offsets": set()})
    for b in outcome.batches():
        a = acc[b["p"]]
        a["events"] += b["n"]
        a["batches"] += 1
        a["busy_s"] += b["busy_s"]
        a["proc_s"] += b["proc_s"]
        start = b["t"] - b["busy_s"]
        a["t0"] = start if a["t0"] is None else min(a["t0"], start)
        a["t1"] = b["t"] if a["t1"] is None else max(a["t1"], b["t"])
        a["offsets"].update(range(b["first"], b["last"] + 1))
    table = {}
    for p in sorted(acc):
        a = acc[p]
        wall = a["t1"] - a["t0"]
        table[str(p)] = {
            "events": a["events"], "distinct_events": len(a["offsets"]), "batches": a["batches"],
            "busy_events_per_s": a["events"] / a["busy_s"] if a["busy_s"] > 0 else None,
            "processing_events_per_s": a["events"] / a["proc_s"] if a["proc_s"] > 0 else None,
            "wall_events_per_s": a["events"] / wall if wall > 0 else None,
        }
    return table


def build_result(outcome: RunOutcome, verdict: Verdict, *, impl_name: str, kind: str, runtime: str,
                 workload: str, workload_file: str | None, workload_checksum: str | None) -> dict[str, Any]:
    spec = outcome.spec
    batches = outcome.batches()
    verified = verdict.status == "passed"
    table = partition_table(outcome)
    distinct = sum(row["distinct_events"] for row in table.values())
    processed = sum(row["events"] for row in table.values())
    warnings: list[str] = []
    killed = [w.index for w in outcome.workers if w.killed]
    if killed:
        warnings.append(f"worker(s) {killed} were killed during the run; their CPU and memory are not counted")
    failed = [f"worker {w.index}: {w.fatal}" for w in outcome.workers if w.fatal]
    warnings.extend(failed)
    if processed > distinct:
        warnings.append(f"{processed - distinct} records were processed more than once (at-least-once redelivery)")
    if len(table) < outcome.partitions:
        warnings.append(f"only {len(table)} of {outcome.partitions} partitions had records")

    e2e = [v for b in batches for v in b["e2e_ms"]]
    excluded = processed - len(e2e)
    exits = [w.exit for w in outcome.workers if w.exit]
    by_worker_events: dict[int, int] = defaultdict(int)
    for b in batches:
        by_worker_events[b["w"]] += b["n"]
    reported_events = sum(by_worker_events[e["w"]] for e in exits)
    cpu = sum(e["cpu_s"] for e in exits)

    throughput = None
    if verified:
        rates = [row["busy_events_per_s"] for row in table.values() if row["busy_events_per_s"]]
        mean, ci = mean_ci95(rates)
        throughput = {
            "events_per_s": mean, "ci95": list(ci) if ci else None,
            "per_process": rates,  # for source "kafka": one figure per partition (busy rate)
            "values": [b["n"] / b["busy_s"] for b in batches if b["busy_s"] > 0][:KEEP_SAMPLES],
        }
    started = outcome.started
    kafka: dict[str, Any] = {
        "bootstrap": spec.bootstrap, "topic": spec.topic, "group": spec.group, "workers": spec.workers,
        "partitions": outcome.partitions,
        "output": f"{spec.output_prefix}_<stream>" if spec.output_prefix else "discarded",
        "client_config": redact(spec.config), "stop_reason": outcome.stop_reason,
        "duration_s": outcome.finished - started,
        "records_processed": processed, "records_distinct": distinct,
        "rebalances": sum(1 for e in outcome.events if e["ev"] == "revoke"),
        "per_partition": table if verified else {
            p: {k: v for k, v in row.items() if not k.endswith("_per_s")} for p, row in table.items()},
        "lag_over_time": [{"t_s": round(s["t"] - started, 3), "total": s["total"], "lag": s["lag"]}
                          for s in outcome.lag_samples],
        "end_to_end_ms": ({**(_percentiles(e2e) or {}), "count": len(e2e), "excluded": excluded,
                           "basis": "record timestamp → outputs acknowledged, for records timestamped "
                                    "after the run started"} if verified and e2e else None),
    }
    return {
        "impl": impl_name, "kind": kind, "runtime": runtime, "workload": workload,
        "workload_file": workload_file, "workload_checksum": workload_checksum,
        "events": distinct, "batch_size": spec.batch_size,
        "verification": verdict.as_dict(),
        "throughput": throughput,
        "end_to_end": None,
        "batch_latency_ms": latency_summary([b["busy_s"] for b in batches], KEEP_SAMPLES) if verified else None,
        "peak_rss_mb": max((e["peak_rss_mb"] for e in exits), default=None) if verified else None,
        "cpu_seconds_per_kevent": (cpu / (reported_events / 1000.0)
                                   if verified and reported_events and len(exits) == len(outcome.workers) else None),
        "stages": None,
        "warnings": warnings,
        "kafka": kafka,
    }
