"""The bottleneck table printed by `partbench profile` (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from impls.base import STAGES


def stage_table(summary: dict[str, Any]) -> Table:
    sampled = summary.get("stages") or {}
    timers = summary.get("timer_stages") or {}
    flagged = set(summary.get("flagged", []))
    table = Table(title=f"{summary['impl']} on {summary['workload']}: share of stage time", title_justify="left")
    table.add_column("stage")
    table.add_column("sampled", justify="right")
    table.add_column("timers", justify="right")
    table.add_column("diff (pts)", justify="right")
    table.add_column("")
    order = sorted((s for s in STAGES if s in sampled or s in timers),
                   key=lambda s: -(sampled.get(s, 0.0) if sampled else timers.get(s, 0.0)))
    for stage in order:
        diff = (sampled.get(stage, 0.0) - timers.get(stage, 0.0)) * 100 if sampled and timers else None
        table.add_row(
            stage,
            _pct(sampled.get(stage, 0.0)) if sampled else "n/a",
            _pct(timers.get(stage, 0.0)) if timers else "n/a",
            ("0.0" if abs(diff) < 0.05 else f"{diff:+.1f}") if diff is not None else "",
            "[bold red]> 10 pts[/]" if stage in flagged else "",
        )
    return table


def function_table(summary: dict[str, Any]) -> Table | None:
    top_self, top_total = summary.get("top_self") or [], summary.get("top_total") or []
    if not top_self and not top_total:
        return None
    table = Table(title="top functions (share of steady-state samples)", title_justify="left")
    table.add_column("self", justify="right")
    table.add_column("function (by self time)")
    table.add_column("total", justify="right")
    table.add_column("function (by total time)")
    for i in range(max(len(top_self), len(top_total))):
        s = top_self[i] if i < len(top_self) else None
        t = top_total[i] if i < len(top_total) else None
        table.add_row(_pct(s["share"]) if s else "", s["function"] if s else "",
                      _pct(t["share"]) if t else "", t["function"] if t else "")
    return table


def headline(summary: dict[str, Any]) -> str:
    b = summary.get("bottleneck") or {}
    if not b.get("stage"):
        return f"{summary['impl']}: no stage could be measured"
    text = f"{summary['impl']}: bottleneck stage [bold]{b['stage']}[/] ({_pct(b['share'])} by {b['source']})"
    if b.get("function"):
        text += f", mostly in [bold]{b['function']}[/] ({_pct(b['function_share'])} of that stage)"
    return text


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(headline(summary))
    console.print(stage_table(summary))
    functions = function_table(summary)
    if functions is not None:
        console.print(functions)
    if summary.get("note"):
        console.print(f"[yellow]note:[/] {summary['note']}")
    files = [summary[k] for k in ("flamegraph", "speedscope") if summary.get(k)]
    if files:
        console.print("files: " + ", ".join(files))


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"
