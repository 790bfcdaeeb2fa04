"""One `results[]` entry of the results file from the verification, probe and timing outcomes."""

from __future__ import annotations

from typing import Any

from bench.runner import defaults, stats
from bench.runner.stages import stages_or_none
from bench.runner.timing import Timed
from bench.runner.workload_cache import PreparedWorkload
from impls.base import Implementation


def build_result(impl: Implementation, prepared: PreparedWorkload, batch_size: int,
                 settings: dict[str, Any], verification: dict[str, str], timed: Timed | None,
                 probe: dict[str, Any] | None, error: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "impl": impl.name,
        "kind": impl.kind,
        "runtime": impl.runtime,
        "description": getattr(impl, "description", ""),
        "workload": prepared.name,
        "workload_file": str(prepared.path),
        "workload_checksum": prepared.checksum,
        "events": prepared.events,
        "batch_size": batch_size,
        "stage_settings": settings,
        "verification": verification,
        "throughput": None,
        "end_to_end": None,
        "batch_latency_ms": None,
        "peak_rss_mb": None,
        "baseline_rss_mb": None,
        "peak_rss_child_mb": None,
        "cpu_seconds_per_kevent": None,
        "stages": None,
        "warnings": [],
        "error": error,
        "pyperf_benchmark": None,
        "ratio_to_reference": None,
    }
    if verification["status"] != "passed" or timed is None:
        return result  # not timed: the verification (or error) says why

    latency = probe.get("latency_s") if probe else None
    result["throughput"] = stats.throughput(timed.process_values)
    if timed.e2e_process_values:
        result["end_to_end"] = stats.throughput(timed.e2e_process_values)
    result["pyperf_benchmark"] = timed.bench.get_name()
    if probe:
        result["batch_latency_ms"] = stats.latency_summary(latency or [], defaults.MAX_LATENCY_SAMPLES)
        result["peak_rss_mb"] = round(probe["peak_rss_mb"] + (probe.get("peak_rss_child_mb") or 0.0), 1)
        result["baseline_rss_mb"] = round(probe["baseline_rss_mb"], 1)
        if probe.get("peak_rss_child_mb") is not None:
            result["peak_rss_child_mb"] = round(probe["peak_rss_child_mb"], 1)
        if probe.get("events_processed"):
            result["cpu_seconds_per_kevent"] = probe["cpu_seconds"] / (probe["events_processed"] / 1000)
        result["stages"] = stages_or_none(probe.get("stage_seconds"))
    result["warnings"] = stats.stability_warnings(
        timed.process_values, timed.bench.required_nprocesses(),
        len(latency) if latency is not None else None)
    return result


def add_ratios(results: list[dict[str, Any]], reference: str) -> None:
    """Speed relative to the reference measured in the same run, same workload and batch size."""
    baseline = {(r["workload"], r["batch_size"]): r["throughput"]["events_per_s"]
                for r in results if r["impl"] == reference and r["throughput"]}
    for r in results:
        base = baseline.get((r["workload"], r["batch_size"]))
        if r["throughput"] and base:
            r["ratio_to_reference"] = r["throughput"]["events_per_s"] / base
