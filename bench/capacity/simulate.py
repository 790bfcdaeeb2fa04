"""Lag simulation: does a sizing meet the lag SLA under bursty traffic?

A consumer is one queue of events (the merged partitions it owns, served oldest first). Arrivals
come per tick from a seeded Poisson draw around a rate trace (diurnal curve around the daily
peak, plus bursts). When the consumer is free it takes every visible event up to the batch size;
the batch's service time is a measured per-batch latency sample scaled by batch fill and by the
per-consumer slowdown on a shared pod. Each event's lag = batch completion - its arrival.
Lags go into a log-spaced histogram (0.1% relative resolution) so percentiles are cheap to
combine across consumers.

The numeric loops are numba-compiled (`cache=True`: compiled once per machine, then loaded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

# Histogram of lags: bin b holds lags in [LAG_MIN·R^(b-1), LAG_MIN·R^b); bin 0 holds < LAG_MIN.
LAG_MIN_S = 1e-4
_R = 1.001
_LOG_R = math.log(_R)
N_BINS = int(math.log(1e6 / LAG_MIN_S) / _LOG_R) + 2  # up to ~11 days of lag


@njit(cache=True)
def _arrivals(expected: np.ndarray, seed: int) -> np.ndarray:
    """Poisson event counts per tick around the expected counts (seeded, reproducible)."""
    np.random.seed(seed)
    out = np.empty(expected.shape[0], dtype=np.int64)
    for i in range(expected.shape[0]):
        lam = expected[i]
        out[i] = np.random.poisson(lam) if lam > 0 else 0
    return out


@njit(cache=True)
def _serve(counts: np.ndarray, tick_s: float, batch_size: int, service_s: np.ndarray,
           service_ref_events: float, seed: int, hist: np.ndarray) -> tuple[float, float, int]:
    """Serve the queue; add each event's lag into `hist`. Returns (max lag, finish time, batches).

    Events of tick i arrive (on average) at (i + 0.5)·tick and become visible to the consumer at
    the end of the tick; a batch takes every visible event, up to `batch_size`.
    """
    np.random.seed(seed)
    n = counts.shape[0]
    remaining = counts.copy()
    head = 0
    free_at = 0.0
    max_lag = 0.0
    batches = 0
    n_samples = service_s.shape[0]
    log_r = math.log(1.001)
    while True:
        while head < n and remaining[head] == 0:
            head += 1
        if head >= n:
            break
        start = max(free_at, (head + 1) * tick_s)
        last_visible = min(n - 1, int(start / tick_s + 1e-9) - 1)
        # Draw the service time first: its value does not depend on which events are taken.
        taken = 0
        i = head
        while i <= last_visible and taken < batch_size:
            taken += min(remaining[i], batch_size - taken)
            i += 1
        sample = service_s[np.random.randint(0, n_samples)]
        done = start + sample * taken / service_ref_events
        left = taken
        i = head
        while left > 0:
            c = min(remaining[i], left)
            if c > 0:
                lag = done - (i + 0.5) * tick_s
                if lag > max_lag:
                    max_lag = lag
                if lag < 1e-4:
                    b = 0
                else:
                    b = int(math.log(lag / 1e-4) / log_r) + 1
                    if b >= hist.shape[0]:
                        b = hist.shape[0] - 1
                hist[b] += c
                remaining[i] -= c
                left -= c
            i += 1
        free_at = done
        batches += 1
    return max_lag, free_at, batches


def percentile(hist: np.ndarray, q: float) -> float:
    """The q-quantile (0..1) of the lags in `hist`, as the upper edge of its bin (conservative)."""
    total = hist.sum()
    if total <= 0:
        return 0.0
    cum = np.cumsum(hist)
    b = int(np.searchsorted(cum, q * total, side="left"))
    return LAG_MIN_S * _R ** b


def rate_trace(peak_events_per_s: float, *, window_s: float, tick_s: float, trough_ratio: float,
               bursts_per_hour: float, burst_factor: float, burst_s: float, seed: int) -> np.ndarray:
    """Events/s per tick for the whole lane over a window centred on the daily peak.

    Diurnal: a cosine over 24 h from `trough_ratio`·peak to the peak at the window's centre.
    Bursts: a seeded Poisson number of them, each multiplying the rate by `burst_factor` for
    `burst_s` seconds (on top of the diurnal peak: λ is the peak of the smooth curve).
    """
    n = max(1, int(round(window_s / tick_s)))
    t = (np.arange(n) + 0.5) * tick_s - window_s / 2
    diurnal = trough_ratio + (1 - trough_ratio) * 0.5 * (1 + np.cos(2 * np.pi * t / 86400.0))
    rate = peak_events_per_s * diurnal
    rng = np.random.default_rng(seed)
    mult = np.ones(n)
    if bursts_per_hour > 0 and burst_factor > 1:
        for start in rng.uniform(0, window_s, rng.poisson(bursts_per_hour * window_s / 3600.0)):
            a = int(start / tick_s)
            mult[a:a + max(1, int(round(burst_s / tick_s)))] = burst_factor
    return rate * mult


@dataclass(frozen=True)
class QueueResult:
    hist: np.ndarray      # lag histogram (event counts per bin)
    events: int
    max_lag_s: float
    drain_s: float        # time after the window's end until the queue is empty
    batches: int

    def p(self, q: float) -> float:
        return percentile(self.hist, q)


def simulate_queue(rate_per_s: np.ndarray, tick_s: float, batch_size: int, service_s: np.ndarray,
                   service_ref_events: float, seed: int) -> QueueResult:
    """One consumer: arrivals at `rate_per_s` per tick; service samples are seconds per batch of
    `service_ref_events` events (already scaled for the consumer's share of the pod)."""
    if len(service_s) == 0:
        raise ValueError("no service-time samples")
    expected = np.ascontiguousarray(rate_per_s * tick_s, dtype=np.float64)
    counts = _arrivals(expected, seed)
    hist = np.zeros(N_BINS, dtype=np.float64)
    max_lag, finish, batches = _serve(counts, float(tick_s), int(batch_size),
                                      np.ascontiguousarray(service_s, dtype=np.float64),
                                      float(service_ref_events), seed + 1, hist)
    window_end = len(rate_per_s) * tick_s
    return QueueResult(hist=hist, events=int(counts.sum()), max_lag_s=float(max_lag),
                       drain_s=max(0.0, float(finish) - window_end), batches=int(batches))
