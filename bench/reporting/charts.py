"""Charts as SVG strings (matplotlib, no pyplot, no global state) to inline in the report.

Labels come from workload and implementation names: mathtext parsing is off so a `$` in a
name stays a `$`, and matplotlib's SVG writer escapes text, so names cannot inject markup.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)

PALETTE = ["#3366aa", "#ee7733", "#228833", "#cc3311", "#aa3377", "#009988", "#bbbbbb", "#66ccee",
           "#997700", "#555555", "#ee3377", "#0077bb", "#33bbee"]
RC = {
    "text.parse_math": False,
    "svg.fonttype": "none",          # text stays text: small files, selectable, searchable
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def to_svg(fig: Figure, salt: str) -> str:
    """The figure as an `<svg>` element, deterministic (fixed salt, no date), ready to inline."""
    buf = io.StringIO()
    with matplotlib.rc_context({**RC, "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # Drop fixed pt sizes so CSS can scale the chart; the viewBox keeps its proportions.
    return re.sub(r'^<svg([^>]*?) width="[^"]+" height="[^"]+"', r"<svg\1", text, count=1)


def _figure(rows: int, width: float = 8.0, per_row: float = 0.32, min_h: float = 2.0) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(width, max(min_h, 0.9 + per_row * rows)))


@dataclass
class Bar:
    label: str
    value: float
    low: float | None = None
    high: float | None = None


def hbar_chart(bars: Sequence[Bar], xlabel: str, salt: str, ref_line: float | None = None,
               colors: Sequence[str] | None = None) -> str:
    """Horizontal bars with optional CI whiskers (top to bottom in the given order)."""
    with matplotlib.rc_context(RC):
        fig = _figure(len(bars))
        ax = fig.add_subplot()
        ys = list(range(len(bars)))[::-1]
        vals = [b.value for b in bars]
        err = None
        if any(b.low is not None for b in bars):
            err = [[max(0.0, b.value - (b.low if b.low is not None else b.value)) for b in bars],
                   [max(0.0, (b.high if b.high is not None else b.value) - b.value) for b in bars]]
        ax.barh(ys, vals, xerr=err, color=colors or PALETTE[0], capsize=3, height=0.6,
                error_kw={"elinewidth": 1, "ecolor": "#222222"})
        ax.set_yticks(ys, [b.label for b in bars])
        ax.set_xlabel(xlabel)
        if ref_line is not None:
            ax.axvline(ref_line, color="#888888", linestyle="--", linewidth=1)
        ax.grid(axis="x", alpha=0.3)
        return to_svg(fig, salt)


def stacked_chart(labels: Sequence[str], stages: Sequence[str], shares: Sequence[dict[str, float]],
                  salt: str) -> str:
    """One horizontal bar per result, split into the pipeline's stages (share of time)."""
    with matplotlib.rc_context(RC):
        fig = _figure(len(labels), per_row=0.4, min_h=2.4)
        ax = fig.add_subplot()
        ys = list(range(len(labels)))[::-1]
        left = [0.0] * len(labels)
        for i, stage in enumerate(stages):
            widths = [s.get(stage, 0.0) * 100 for s in shares]
            ax.barh(ys, widths, left=left, height=0.6, label=stage, color=PALETTE[i % len(PALETTE)])
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.set_yticks(ys, labels)
        ax.set_xlabel("share of pipeline time (%)")
        ax.set_xlim(0, max(100.0, *left))
        ax.legend(ncol=min(7, len(stages)), fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25),
                  frameon=False)
        return to_svg(fig, salt)


def grouped_chart(labels: Sequence[str], series: dict[str, Sequence[float]], ylabel: str, salt: str) -> str:
    """Grouped horizontal bars, e.g. latency p50/p99/max per result."""
    with matplotlib.rc_context(RC):
        fig = _figure(len(labels) * max(1, len(series)) // 2 + 1, per_row=0.35)
        ax = fig.add_subplot()
        n = max(1, len(series))
        height = 0.8 / n
        base = list(range(len(labels)))[::-1]
        for i, (name, values) in enumerate(series.items()):
            ys = [y + 0.4 - height * (i + 0.5) for y in base]
            ax.barh(ys, values, height=height, label=name, color=PALETTE[i % len(PALETTE)])
        ax.set_yticks(base, labels)
        ax.set_xlabel(ylabel)
        ax.legend(fontsize=7, frameon=False)
        ax.grid(axis="x", alpha=0.3)
        return to_svg(fig, salt)


def lines_chart(x: Sequence[float], series: dict[str, Sequence[float]], xlabel: str, ylabel: str,
                salt: str) -> str:
    """Lines over a shared x (the projection's sensitivity: pods needed vs growth)."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(7.0, 3.2))
        ax = fig.add_subplot()
        for i, (name, ys) in enumerate(series.items()):
            ax.plot(x, ys, marker="o", markersize=3, label=name, color=PALETTE[i % len(PALETTE)])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False)
        return to_svg(fig, salt)


@dataclass
class TrendPoint:
    label: str            # run id (short)
    value: float          # events/s
    low: float
    high: float
    mark: str = ""        # "", "suspected" or "confirmed"


def trend_chart(title: str, points: Sequence[TrendPoint], fit: Sequence[float | None], salt: str) -> str:
    """events/s per nightly run with CI whiskers, the step fit and flagged runs."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(7.0, 2.6))
        ax = fig.add_subplot()
        xs = list(range(len(points)))
        ax.errorbar(xs, [p.value for p in points],
                    yerr=[[p.value - p.low for p in points], [p.high - p.value for p in points]],
                    fmt="o", markersize=3, color=PALETTE[0], ecolor="#999999", capsize=2, label="run")
        fit_x = [x for x, f in zip(xs, fit, strict=True) if f is not None]
        if fit_x:
            ax.step(fit_x, [f for f in fit if f is not None], where="mid", color=PALETTE[1],
                    linewidth=1.2, label="step fit (asv)")
        for kind, color in (("suspected", "#ddaa33"), ("confirmed", "#cc3311")):
            marked = [x for x, p in zip(xs, points, strict=True) if p.mark == kind]
            if marked:
                ax.scatter(marked, [points[x].value for x in marked], s=60, facecolors="none",
                           edgecolors=color, linewidths=1.5, label=kind, zorder=3)
        ax.set_xticks(xs, [p.label for p in points], rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("events/s")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False, loc="lower left")
        return to_svg(fig, salt)
