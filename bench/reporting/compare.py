"""Is the candidate run slower than the baseline? Per result, with honest statistics.

The unit of comparison is the per-process mean (`throughput.per_process`): each worker process
gets its own memory layout, hash seed and neighbours, so the variance lives *between*
processes, and values inside one process are not independent. Treating every value as a
sample (pyperf's pooled t-test) understates the noise and cries wolf; see docs/reports.md.

A result is a "regression" only when both hold:
  * Mann-Whitney U (two-sided) p < alpha, and
  * the whole bootstrap 95% CI of the relative change (candidate/baseline - 1) lies below
    -threshold, where threshold = max(floor, k x the measured A/A noise of either run).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from bench.errors import UserError

DEFAULT_ALPHA = 0.05
# faster-cpython measured 2.5-3% between identical builds; a smaller threshold only adds alarms.
DEFAULT_FLOOR_PCT = 3.0
DEFAULT_NOISE_K = 1.0
DEFAULT_SEED = 20261127
DEFAULT_RESAMPLES = 9999
NOISY_PCT = 10.0   # above this threshold the summary warns that small slowdowns are invisible

EXIT_OK, EXIT_REGRESSION, EXIT_CANNOT_JUDGE = 0, 1, 2

REGRESSION, IMPROVEMENT, NO_CHANGE, CANNOT_JUDGE, NEW = (
    "regression", "improvement", "no change", "cannot judge", "new",
)


@dataclass(frozen=True)
class Settings:
    alpha: float = DEFAULT_ALPHA
    floor_pct: float = DEFAULT_FLOOR_PCT
    noise_k: float = DEFAULT_NOISE_K
    threshold_pct: float | None = None     # fixed threshold: overrides floor and noise
    seed: int = DEFAULT_SEED
    n_resamples: int = DEFAULT_RESAMPLES


@dataclass(frozen=True)
class Change:
    """Relative change of the candidate against the baseline (-0.1 = 10% fewer events/s)."""

    change: float
    ci: tuple[float, float]
    p_value: float
    n_baseline: int
    n_candidate: int


@dataclass
class Row:
    impl: str
    workload: str
    verdict: str
    reason: str = ""
    change: Change | None = None
    baseline_eps: float | None = None
    candidate_eps: float | None = None


@dataclass
class Comparison:
    baseline_id: str
    candidate_id: str
    threshold_pct: float
    threshold_source: str
    alpha: float
    rows: list[Row] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        verdicts = {r.verdict for r in self.rows}
        if REGRESSION in verdicts:
            return EXIT_REGRESSION
        if CANNOT_JUDGE in verdicts or not any(r.change for r in self.rows):
            return EXIT_CANNOT_JUDGE
        return EXIT_OK

    @property
    def summary(self) -> str:
        counts = {v: sum(r.verdict == v for r in self.rows) for v in (REGRESSION, IMPROVEMENT, CANNOT_JUDGE)}
        code = self.exit_code
        if code == EXIT_REGRESSION:
            head = f"REGRESSION in {counts[REGRESSION]} result(s)"
        elif code == EXIT_CANNOT_JUDGE:
            head = f"COULD NOT JUDGE {counts[CANNOT_JUDGE] or len(self.rows)} result(s)"
        else:
            head = "no regression"
        extra = f"; {counts[IMPROVEMENT]} improvement(s)" if counts[IMPROVEMENT] else ""
        text = f"{head}{extra} (threshold {self.threshold_pct:.1f}%, {self.threshold_source}; alpha {self.alpha})"
        if self.threshold_pct > NOISY_PCT:
            text += f": too noisy to see changes smaller than {self.threshold_pct:.0f}%"
        return text


def _ratio_minus_one(cand: np.ndarray, base: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(cand, axis=axis) / np.mean(base, axis=axis) - 1.0


def min_two_sided_p(n1: int, n2: int) -> float:
    """Smallest p-value an exact Mann-Whitney test can reach with these sample sizes."""
    return 2.0 / math.comb(n1 + n2, n1)


def relative_change(
    baseline: list[float], candidate: list[float], seed: int = DEFAULT_SEED, n_resamples: int = DEFAULT_RESAMPLES
) -> Change:
    """Bootstrap CI (BCa, fixed seed) of mean(candidate)/mean(baseline) - 1, plus Mann-Whitney p."""
    base = np.asarray(baseline, dtype=float)
    cand = np.asarray(candidate, dtype=float)
    point = float(_ratio_minus_one(cand, base))
    if np.ptp(base) == 0 and np.ptp(cand) == 0:
        ci = (point, point)   # no spread at all: nothing to resample
    else:
        ci = (math.nan, math.nan)
        for method in ("BCa", "percentile"):   # BCa can degenerate on tiny, tied samples
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = stats.bootstrap(
                    (cand, base), _ratio_minus_one, n_resamples=n_resamples, vectorized=True,
                    method=method, rng=np.random.default_rng(seed),
                )
            lo, hi = res.confidence_interval
            if math.isfinite(lo) and math.isfinite(hi):
                ci = (float(lo), float(hi))
                break
    p = float(stats.mannwhitneyu(cand, base, alternative="two-sided").pvalue)
    return Change(change=point, ci=ci, p_value=p, n_baseline=len(base), n_candidate=len(cand))


def noise_pct(run: dict[str, Any]) -> float | None:
    """The run's A/A noise in percent: the difference it saw between two measurements of the
    same code, or the half-width of that difference's 95% CI (the resolution of a comparison
    in this run), whichever is larger. None when the run measured no A/A pair."""
    noise = run.get("noise")
    if not noise:
        return None
    lo, hi = noise["ci95_pct"]
    return max(abs(noise["diff_pct"]), (hi - lo) / 2.0)


def choose_threshold(baseline: dict[str, Any], candidate: dict[str, Any], settings: Settings) -> tuple[float, str]:
    """Threshold in percent and a short note saying where it came from."""
    if settings.threshold_pct is not None:
        return settings.threshold_pct, "set with --threshold"
    measured = [n for n in (noise_pct(baseline), noise_pct(candidate)) if n is not None]
    if not measured:
        return settings.floor_pct, "floor: no A/A noise measured"
    noise = max(measured)
    scaled = settings.noise_k * noise
    if scaled <= settings.floor_pct:
        return settings.floor_pct, f"floor; A/A noise {noise:.1f}%"
    return scaled, f"{settings.noise_k:g} x A/A noise {noise:.1f}%"


def judge(change: Change, threshold_pct: float, alpha: float) -> str:
    thr = threshold_pct / 100.0
    if change.p_value < alpha and change.ci[1] < -thr:
        return REGRESSION
    if change.p_value < alpha and change.ci[0] > thr:
        return IMPROVEMENT
    return NO_CHANGE


def _index(run: dict[str, Any], label: str) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in run["results"]:
        key = (r["impl"], r["workload"])
        if key in out:
            raise UserError(f"{label}: two results for {key[0]} on {key[1]}; cannot tell which to compare")
        out[key] = r
    return out


def _why_unverified(r: dict[str, Any], side: str) -> str | None:
    ver = r["verification"]
    if ver["status"] != "passed":
        detail = f": {ver.get('detail')}" if ver.get("detail") else ""
        return f"{side} verification {ver['status']}{detail}"
    if r.get("throughput") is None:
        return f"{side} has no throughput"
    return None


def compare_row(base: dict[str, Any] | None, cand: dict[str, Any] | None, key: tuple[str, str],
                threshold_pct: float, settings: Settings) -> Row:
    row = Row(impl=key[0], workload=key[1], verdict=CANNOT_JUDGE)
    if cand is None:
        row.reason = "missing from the candidate"
        return row
    if base is None:
        row.verdict, row.reason = NEW, "not in the baseline"
        return row
    why = _why_unverified(base, "baseline") or _why_unverified(cand, "candidate")
    if why:
        row.reason = why
        return row
    if base.get("workload_checksum") and cand.get("workload_checksum") and (
        base["workload_checksum"] != cand["workload_checksum"]
    ):
        row.reason = "workload file differs (checksum)"
        return row
    b_pp, c_pp = base["throughput"]["per_process"], cand["throughput"]["per_process"]
    row.baseline_eps, row.candidate_eps = base["throughput"]["events_per_s"], cand["throughput"]["events_per_s"]
    if min(len(b_pp), len(c_pp)) < 2 or min_two_sided_p(len(b_pp), len(c_pp)) >= settings.alpha:
        row.reason = (f"too few processes ({len(b_pp)} vs {len(c_pp)}) for p < {settings.alpha}: "
                      "use --rigorous runs")
        return row
    row.change = relative_change(b_pp, c_pp, settings.seed, settings.n_resamples)
    row.verdict = judge(row.change, threshold_pct, settings.alpha)
    if row.verdict == NO_CHANGE and row.change.p_value < settings.alpha:
        row.reason = "significant but within the noise threshold"
    return row


def compare_runs(baseline: dict[str, Any], candidate: dict[str, Any], settings: Settings | None = None,
                 baseline_label: str = "baseline", candidate_label: str = "candidate") -> Comparison:
    """Compare two results documents (`partbench.results/1` dicts), result by result."""
    settings = settings or Settings()
    threshold, source = choose_threshold(baseline, candidate, settings)
    base_idx, cand_idx = _index(baseline, baseline_label), _index(candidate, candidate_label)
    comparison = Comparison(
        baseline_id=str(baseline.get("run_id", baseline_label)),
        candidate_id=str(candidate.get("run_id", candidate_label)),
        threshold_pct=threshold, threshold_source=source, alpha=settings.alpha,
    )
    for key in list(base_idx) + [k for k in cand_idx if k not in base_idx]:
        comparison.rows.append(compare_row(base_idx.get(key), cand_idx.get(key), key, threshold, settings))
    return comparison


# --- rendering -------------------------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def row_cells(row: Row) -> list[str]:
    """impl, workload, baseline, candidate, change, 95% CI, p, verdict (with reason)."""
    ch = row.change
    verdict = row.verdict + (f" ({row.reason})" if row.reason else "")
    return [
        row.impl, row.workload,
        f"{row.baseline_eps:,.0f}" if row.baseline_eps else "-",
        f"{row.candidate_eps:,.0f}" if row.candidate_eps else "-",
        _pct(ch.change) if ch else "-",
        f"[{_pct(ch.ci[0])}, {_pct(ch.ci[1])}]" if ch else "-",
        f"{ch.p_value:.3g}" if ch else "-",
        verdict,
    ]


HEADERS = ["impl", "workload", "baseline ev/s", "candidate ev/s", "change", "95% CI", "p (MWU)", "verdict"]


def to_markdown(comparison: Comparison) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = [
        f"### partbench compare: {esc(comparison.summary)}",
        "",
        f"Baseline `{esc(comparison.baseline_id)}` → candidate `{esc(comparison.candidate_id)}`. "
        "Change = candidate/baseline − 1 in events/s (negative is slower).",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    for row in comparison.rows:
        lines.append("| " + " | ".join(esc(c) for c in row_cells(row)) + " |")
    return "\n".join(lines) + "\n"


def print_table(comparison: Comparison) -> None:
    """A terminal table (verdicts in colour), reasons as numbered notes under it."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    styles = {REGRESSION: "bold red", IMPROVEMENT: "green", CANNOT_JUDGE: "yellow"}
    table = Table(title=f"{comparison.baseline_id} → {comparison.candidate_id}")
    for h in HEADERS:
        table.add_column(h, justify="right" if "ev/s" in h or h in ("change", "p (MWU)") else "left")
    notes = []
    for row in comparison.rows:
        cells = row_cells(row)
        if row.reason:
            notes.append(row.reason)
            cells[-1] = f"{row.verdict} [{len(notes)}]"
        table.add_row(*(escape(c) for c in cells), style=styles.get(row.verdict))
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(width=150, highlight=False)   # logs and CI: do not squeeze to 80 columns
    console.print(table)
    for i, note in enumerate(notes, 1):
        console.print(f"  [{i}] {escape(note)}")
    console.print(escape(comparison.summary), style=styles.get(
        {1: REGRESSION, 2: CANNOT_JUDGE}.get(comparison.exit_code, "")))
