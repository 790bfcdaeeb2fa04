"""Statistics of a timed benchmark: throughput with a 95% CI across processes, A/A noise, warnings.

pyperf's "±" is a standard deviation over all values, as if every value were independent; the
variance that matters lives between processes (hash seeds, memory layout), so the interval here
is a t interval over the per-process figures.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as sps


def per_process_rates(process_values: Sequence[Sequence[float]]) -> list[float]:
    """Events/s of each worker process from its values (seconds per event): events over the time
    of all its timed passes, i.e. 1 / mean(values)."""
    return [1.0 / statistics.fmean(values) for values in process_values if values]


def mean_ci95(samples: Sequence[float]) -> tuple[float, tuple[float, float] | None]:
    """Mean and the two-sided 95% t confidence interval of the mean (None with fewer than 2)."""
    mean = statistics.fmean(samples)
    if len(samples) < 2:
        return mean, None
    sem = statistics.stdev(samples) / math.sqrt(len(samples))
    if sem == 0:
        return mean, (mean, mean)
    low, high = sps.t.interval(0.95, len(samples) - 1, loc=mean, scale=sem)
    return mean, (float(low), float(high))


def throughput(process_values: Sequence[Sequence[float]]) -> dict[str, Any]:
    """The results-file `throughput` object from per-process values in seconds per event."""
    rates = per_process_rates(process_values)
    if not rates:
        raise ValueError("no timed values")
    mean, ci = mean_ci95(rates)
    return {
        "events_per_s": mean,
        "ci95": list(ci) if ci else None,
        "per_process": rates,
        "values": [1.0 / v for values in process_values for v in values],
    }


def ci_half_width_pct(result_throughput: dict[str, Any]) -> float | None:
    ci = result_throughput.get("ci95")
    if not ci:
        return None
    return (ci[1] - ci[0]) / 2 / result_throughput["events_per_s"] * 100


def aa_noise(a_rates: Sequence[float], b_rates: Sequence[float]) -> dict[str, Any]:
    """Relative difference B vs A of two measurements of the same thing, with a Welch 95% CI.

    Both are expressed in percent of A's mean; a difference between two implementations that is
    within this interval's width is not distinguishable from noise in this run."""
    mean_a = statistics.fmean(a_rates)
    mean_b = statistics.fmean(b_rates)
    diff_pct = (mean_b - mean_a) / mean_a * 100
    ci_pct = None
    if len(a_rates) >= 2 and len(b_rates) >= 2:
        if statistics.stdev(a_rates) == 0 and statistics.stdev(b_rates) == 0:
            ci_pct = [diff_pct, diff_pct]
        else:
            res = sps.ttest_ind(np.asarray(b_rates), np.asarray(a_rates), equal_var=False)
            ci = res.confidence_interval(0.95)
            ci_pct = [float(ci.low) / mean_a * 100, float(ci.high) / mean_a * 100]
    return {"diff_pct": diff_pct, "ci95_pct": ci_pct}


def stability_warnings(process_values: Sequence[Sequence[float]], required_processes: int | None = None,
                       latency_samples: int | None = None) -> list[str]:
    """pyperf's warnings, computed on events/s: std dev ≥ 10% of the mean, min/max ≥ 50% off the
    mean, too few samples (pyperf's own estimate of processes needed, or < 3 processes)."""
    warnings: list[str] = []
    values = [1.0 / v for values in process_values for v in values]
    if not values:
        return warnings
    mean = statistics.fmean(values)
    if len(values) >= 2:
        pct = statistics.stdev(values) / mean * 100
        if pct >= 10:
            warnings.append(f"std dev is {pct:.0f}% of the mean")
    for label, value in (("minimum", min(values)), ("maximum", max(values))):
        off = (value - mean) / mean * 100
        if abs(off) >= 50:
            warnings.append(f"{label} is {abs(off):.0f}% {'above' if off > 0 else 'below'} the mean")
    nproc = len([v for v in process_values if v])
    rates = per_process_rates(process_values)
    _, ci = mean_ci95(rates)
    half_pct = (ci[1] - ci[0]) / 2 / statistics.fmean(rates) * 100 if ci else None
    if nproc < 3:
        warnings.append(f"only {nproc} worker process(es): too few for a confidence interval")
    elif half_pct is not None and half_pct >= 5:
        # pyperf's estimate for ±1% is only worth quoting when it is a practical number
        needed = (f" (pyperf estimates {required_processes} processes for ±1%)"
                  if required_processes and required_processes <= 100 else "")
        warnings.append(f"too few samples: the 95% CI is ±{half_pct:.0f}%{needed}")
    if latency_samples is not None and latency_samples < 100:
        warnings.append(f"p99 batch latency from only {latency_samples} batches")
    return warnings


def latency_summary(seconds: Sequence[float], keep: int) -> dict[str, Any] | None:
    if not seconds:
        return None
    ms = np.asarray(seconds) * 1000.0
    return {
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()),
        "samples": [round(float(x), 4) for x in ms[:keep]],
    }
