"""`partbench nightly`: run the rigorous bench, append to history, judge, report.

A regression is *confirmed* only when two consecutive runs are each judged slower than the
last run before them (compare's rule: significant and beyond the noise threshold):
    compare(run[N-2], run[N-1]) == regression  and  compare(run[N-2], run[N]) == regression
One slow run alone is "suspected": reported, exit 0. Exit 1 only on a confirmed regression,
2 when the new run cannot be judged (bench failed, results missing or unverified).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.atomic import write_text
from bench.errors import UserError
from bench.reporting import charts, compare, history
from bench.reporting.html import TrendSection, render_report
from bench.reporting.load import ResultsFile, load_results

TREND_RUNS = 30   # runs shown per trend chart (step detection sees the whole history)


@dataclass
class Outcome:
    exit_code: int
    verdict: str
    comparison: compare.Comparison | None
    confirmed: list[tuple[str, str]] = field(default_factory=list)
    suspected: list[tuple[str, str]] = field(default_factory=list)


def run_bench(out: Path, fast: bool) -> None:
    """The harness in a subprocess, exactly as a user would run it."""
    cmd = [sys.executable, "-m", "bench.cli", "run", "--fast" if fast else "--rigorous", "-o", str(out)]
    print(f"nightly: {shlex.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, check=False)
    if proc.returncode != 0:
        raise UserError(f"nightly: `{shlex.join(cmd)}` exited with {proc.returncode}; nothing appended")


def _regressed(comp: compare.Comparison) -> set[tuple[str, str]]:
    return {(r.impl, r.workload) for r in comp.rows if r.verdict == compare.REGRESSION}


def evaluate(runs: list[ResultsFile], settings: compare.Settings) -> Outcome:
    """Judge the newest run of a history (oldest first) against the ones before it."""
    latest = runs[-1]
    if len(runs) < 2:
        return Outcome(compare.EXIT_OK, f"first run in this history ({latest.run_id}): nothing to compare yet", None)
    prev = runs[-2]
    comp = compare.compare_runs(prev.data, latest.data, settings, str(prev.path), str(latest.path))
    suspected = _regressed(comp)
    confirmed: set[tuple[str, str]] = set()
    if len(runs) >= 3:
        before = runs[-3]
        first = _regressed(compare.compare_runs(before.data, prev.data, settings))
        against_before = compare.compare_runs(before.data, latest.data, settings, str(before.path),
                                              str(latest.path))
        confirmed = first & _regressed(against_before)
        if confirmed:
            comp = against_before   # show the drop against the last run before the step
    suspected -= confirmed
    names = lambda keys: ", ".join(f"{i} on {w}" for i, w in sorted(keys))  # noqa: E731
    if confirmed:
        code = compare.EXIT_REGRESSION
        verdict = f"REGRESSION confirmed by two consecutive runs: {names(confirmed)}"
    elif comp.exit_code == compare.EXIT_CANNOT_JUDGE:
        code = compare.EXIT_CANNOT_JUDGE
        verdict = f"could not judge run {latest.run_id}: {comp.summary}"
    else:
        code = compare.EXIT_OK
        verdict = "no confirmed regression"
    if suspected:
        verdict += f"; suspected (one run, needs a second to confirm): {names(suspected)}"
    return Outcome(code, verdict, comp, sorted(confirmed), sorted(suspected))


def trend_sections(runs: list[ResultsFile], outcome: Outcome, threshold_pct: float) -> list[TrendSection]:
    sections = []
    labels = [r.run_id[:16] for r in runs]
    for key, results in history.series(runs).items():
        eps = [r["throughput"]["events_per_s"] if r else None for r in results]
        if not any(eps):
            continue
        steps = history.detect_steps(eps, labels, threshold_pct / 100.0)
        shown = range(max(0, len(runs) - TREND_RUNS), len(runs))
        points, fit = [], []
        for i in shown:
            r = results[i]
            if r is None:
                continue
            mark = ""
            if i >= len(runs) - 2 and key in outcome.confirmed:
                mark = "confirmed"
            elif i == len(runs) - 1 and key in outcome.suspected:
                mark = "suspected"
            tp = r["throughput"]
            points.append(charts.TrendPoint(labels[i], tp["events_per_s"], tp["ci95"][0], tp["ci95"][1], mark))
            fit.append(steps.fit[i])
        title = f"{key[1]} · {key[0]}"
        svg = charts.trend_chart(title, points, fit, f"trend-{key[0]}-{key[1]}")
        sections.append(TrendSection(title=title, svg=svg, steps=steps.regressions))
    return sections


def nightly(args_fast: bool, results_out: Path, from_results: Path | None, root: Path, machine: str | None,
            report: Path, settings: compare.Settings, command: str) -> Outcome:
    if from_results is None:
        run_bench(results_out, args_fast)
        from_results = results_out
    latest = load_results(from_results)   # validate before anything is appended
    machine = history.machine_id(machine)
    history.append(latest, root, machine)
    runs = history.load_runs(root, machine)
    outcome = evaluate(runs, settings)
    threshold = outcome.comparison.threshold_pct if outcome.comparison else settings.floor_pct
    trends = trend_sections(runs, outcome, threshold)
    html = render_report(
        [runs[-1]], comparison=outcome.comparison, trends=trends,
        verdict=f"Nightly on {machine}: {outcome.verdict}", report_command=command,
        title=f"partbench nightly — {machine} — {time.strftime('%Y-%m-%d', time.gmtime())}",
        seed=settings.seed,
    )
    write_text(report, html)
    return outcome
