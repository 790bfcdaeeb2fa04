"""The end-of-run summary table and the A/A noise line."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from bench.reporting.load import is_verified
from bench.runner import stats

STATUS_STYLE = {"passed": "green", "failed": "red", "error": "red", "unavailable": "yellow"}


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(document: dict[str, Any]) -> Table:
    rounds = document.get("settings", {}).get("rounds", 1)
    how = document["mode"] + (f", {rounds} interleaved rounds" if rounds > 1 else "")
    t = Table(title=f"partbench run {document['run_id']} ({how})", title_justify="left")
    for name, justify in (("impl", "left"), ("workload", "left"), ("batch", "right"), ("events/s", "right"),
                          ("± 95% CI", "right"), ("vs ref", "right"), ("p99 batch ms", "right"),
                          ("peak RSS MB", "right"), ("verification", "left")):
        t.add_column(name, justify=justify)
    for r in document["results"]:
        status = r["verification"]["status"]
        style = STATUS_STYLE.get(status, "")
        verdict = f"[{style}]{status}[/]"
        thr = r["throughput"]
        if thr is None:
            reason = r.get("error") or r["verification"].get("detail") or ""
            t.add_row(r["impl"], r["workload"], str(r["batch_size"]), "—", "", "", "", "",
                      verdict + (f" {_short(reason)}" if reason else ""))
            continue
        half = stats.ci_half_width_pct(thr)
        ratio = r.get("ratio_to_reference")
        lat = r.get("batch_latency_ms") or {}
        extra = f" ({len(r['warnings'])} warning{'s' if len(r['warnings']) != 1 else ''})" if r["warnings"] else ""
        if r["verification"].get("scope") == "accounting":
            verdict += " [yellow](stripped: accounting only)[/]"
        t.add_row(
            r["impl"], r["workload"], str(r["batch_size"]), _rate(thr["events_per_s"]),
            f"±{half:.1f}%" if half is not None else "n/a",
            f"{ratio:.2f}×" if ratio else "",
            f"{lat['p99']:.1f}" if lat.get("p99") is not None else "",
            f"{r['peak_rss_mb']:.0f}" if r.get("peak_rss_mb") is not None else "",
            verdict + extra,
        )
    return t


def noise_line(document: dict[str, Any]) -> str:
    noise = document.get("noise")
    if not noise:
        return ("A/A noise: not measured in this run (--no-aa, the reference could not be timed, "
                "or too few processes for an interval).")
    ci = noise.get("ci95_pct")
    ci_text = f"95% CI {ci[0]:+.1f}% … {ci[1]:+.1f}%" if ci else "no CI (too few processes)"
    return (f"A/A noise ({noise['impl']} on {noise['workload']}, measured twice): "
            f"{noise['diff_pct']:+.1f}% ({ci_text}). Differences within about "
            f"{noise.get('threshold_pct', abs(noise['diff_pct'])):.1f}% are not distinguishable from noise.")


def outside_share(result: dict[str, Any]) -> float | None:
    """Share of end-to-end time spent outside the implementation's own processing time (for a
    subprocess implementation: the bridge's framing, transfer and waking), or None."""
    e2e, own = result.get("end_to_end"), result.get("throughput")
    if not e2e or not own:
        return None
    return 1.0 - e2e["events_per_s"] / own["events_per_s"]


def end_to_end_lines(document: dict[str, Any]) -> list[str]:
    """One line per self-timed result: its end-to-end rate and what share of the time the
    bridge takes, so the cost of running out of process is visible next to the headline."""
    lines = []
    for r in document["results"]:
        share = outside_share(r)
        if share is not None:
            lines.append(f"end to end: {r['impl']}/{r['workload']}/b{r['batch_size']} "
                         f"{_rate(r['end_to_end']['events_per_s'])} events/s including transfer; "
                         f"{share:.1%} of that time is outside the implementation's own (the bridge)")
    return lines


def floor_lines(document: dict[str, Any]) -> list[str]:
    """Per workload and batch size with a verified stripped floor (e.g. rust-floor): each verified
    full implementation's throughput as a share of the floor's, measured in this run."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in document["results"]:
        if is_verified(r):
            groups.setdefault((r["workload"], r["batch_size"]), []).append(r)
    lines = []
    for (workload, batch), rs in groups.items():
        floors = [r for r in rs if r.get("kind") == "stripped"]
        full = [r for r in rs if r.get("kind") != "stripped"]
        if not floors or not full:
            continue
        floor = max(floors, key=lambda r: r["throughput"]["events_per_s"])
        floor_eps = floor["throughput"]["events_per_s"]
        shares = ", ".join(f"{r['impl']} {r['throughput']['events_per_s'] / floor_eps:.1%}"
                           for r in sorted(full, key=lambda r: -r["throughput"]["events_per_s"]))
        lines.append(f"of the floor ({floor['impl']}, {_rate(floor_eps)} events/s) on {workload}/b{batch}: {shares}")
    return lines


def print_summary(document: dict[str, Any], console: Console, results_path: str | None = None) -> None:
    console.print(table(document))
    console.print(noise_line(document), highlight=False)
    for line in end_to_end_lines(document) + floor_lines(document):
        console.print(line, highlight=False)
    for r in document["results"]:
        for warning in r["warnings"]:
            console.print(f"warning: {r['impl']}/{r['workload']}/b{r['batch_size']}: {warning}", highlight=False)
    if results_path:
        console.print(f"results: {results_path}", highlight=False)
