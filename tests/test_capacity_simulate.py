"""The lag simulation on cases with known answers, monotonicity in pods, determinism by seed."""

from __future__ import annotations

import numpy as np
import pytest

from bench.capacity import config, simulate
from bench.capacity.sla import Simulator, effective_hot_share


def queue(rate: float, seconds: float, tick_s: float, service_s: float, ref: int = 500,
          batch: int = 500, seed: int = 1) -> simulate.QueueResult:
    trace = np.full(int(round(seconds / tick_s)), rate)
    return simulate.simulate_queue(trace, tick_s, batch, np.array([service_s]), ref, seed)


def test_light_load_lag_is_the_batch_service_time() -> None:
    # 1 event/s, 1 ms ticks, a batch of 1 event takes 5 ms (service_ref_events = 1): the consumer
    # is busy 0.5% of the time, so over 99% of events find it idle and lag = half a tick of
    # waiting + 5 ms of service.
    r = queue(rate=1, seconds=5000, tick_s=0.001, service_s=0.005, ref=1)
    assert 4500 < r.events < 5500
    assert r.p(0.5) == pytest.approx(0.0055, rel=0.01)
    assert r.p(0.99) == pytest.approx(0.0055, rel=0.01)
    assert r.max_lag_s < 0.0155  # at worst: wait out one batch, then a batch of two
    assert r.drain_s < 0.02


def test_overload_lag_grows_linearly() -> None:
    # Arrivals at twice the service rate (500 events per 10 ms = 50000/s; offered 100000/s) for
    # W seconds: the event arriving at t finishes near 2t, so its lag is about t.
    w = 20.0
    r = queue(rate=100_000, seconds=w, tick_s=0.01, service_s=0.01)
    assert r.max_lag_s == pytest.approx(w, rel=0.02)
    assert r.p(0.5) == pytest.approx(w / 2, rel=0.03)
    assert r.drain_s == pytest.approx(w, rel=0.02)
    longer = queue(rate=100_000, seconds=2 * w, tick_s=0.01, service_s=0.01)
    assert longer.p(0.99) > 1.8 * r.p(0.99)


def test_percentile_of_known_histogram() -> None:
    hist = np.zeros(simulate.N_BINS)
    hist[0] = 99
    hist[5000] = 1
    assert simulate.percentile(hist, 0.5) == simulate.LAG_MIN_S
    assert simulate.percentile(hist, 0.995) == pytest.approx(simulate.LAG_MIN_S * 1.001 ** 5000)
    assert simulate.percentile(np.zeros(simulate.N_BINS), 0.99) == 0.0


def test_rate_trace_peaks_at_the_centre_and_is_seeded() -> None:
    kw = dict(window_s=86400, tick_s=60, trough_ratio=0.25, bursts_per_hour=0, burst_factor=2, burst_s=60,
              seed=1)
    smooth = simulate.rate_trace(1000, **kw)
    assert smooth.max() == pytest.approx(1000, rel=1e-4)
    assert smooth.min() == pytest.approx(250, rel=1e-3)
    kw.update(window_s=3600, tick_s=1, bursts_per_hour=10)
    a, b = simulate.rate_trace(1000, **kw), simulate.rate_trace(1000, **kw)
    assert np.array_equal(a, b)
    assert a.max() == pytest.approx(2000, rel=1e-3)  # bursts multiply the rate
    assert not np.array_equal(a, simulate.rate_trace(1000, **{**kw, "seed": 2}))


def test_same_seed_same_lags_other_seed_differs() -> None:
    a = queue(rate=40_000, seconds=60, tick_s=0.01, service_s=0.011, seed=7)
    b = queue(rate=40_000, seconds=60, tick_s=0.01, service_s=0.011, seed=7)
    c = queue(rate=40_000, seconds=60, tick_s=0.01, service_s=0.011, seed=8)
    assert np.array_equal(a.hist, b.hist) and a.events == b.events
    assert a.events != c.events


def lane(**traffic: object) -> config.Pipeline:
    t = {"peak_events_per_s": 20000, "partitions": 8, "pods": 2, "cores_per_pod": 2, "hot_key_share": 0.0}
    t.update(traffic)
    return config.parse({
        "workload": {"profile": "general", "events": 1000},
        "traffic": t,
        "stages": {"overflow_enabled": False},
        "simulation": {"window_s": 600, "bursts_per_hour": 12, "burst_factor": 1.5, "burst_s": 20},
    }, "test.toml")


def simulator(pipeline: config.Pipeline, mu: float = 10_000, e: float = 0.9) -> Simulator:
    rng = np.random.default_rng(0)
    samples = list(500 / mu * rng.lognormal(0, 0.2, 300))
    return Simulator(pipeline, mu, e, samples, 500)


def test_more_pods_never_worse() -> None:
    sim = simulator(lane())
    lags = [sim.evaluate(10, pods)["p999_lag_s"] for pods in (10, 12, 14, 16, 20, 28, 40)]
    assert all(b <= a * 1.02 for a, b in zip(lags, lags[1:], strict=False)), lags
    assert lags[0] > lags[-1]


def test_min_pods_search_is_the_boundary() -> None:
    sim = simulator(lane())
    n = sim.min_pods(10, hint=5)
    assert n is not None
    assert sim.evaluate(10, n)["meets_sla"]
    assert n == 1 or not sim.evaluate(10, n - 1)["meets_sla"]


def test_hot_key_alone_over_capacity_is_unreachable() -> None:
    # 30% of 200000/s on one key = 60000/s, far beyond one consumer (10000 × 2 × 0.9 / 2 = 9000/s).
    sim = simulator(lane(hot_key_share=0.3))
    assert sim.hot_key_alone_too_much(10)
    assert sim.min_pods(10, hint=20) is None


def test_overflow_keeps_only_the_bucket_rate_on_the_hot_partition() -> None:
    doc = {"workload": {"profile": "general", "events": 1000},
           "traffic": {"peak_events_per_s": 1000, "partitions": 8, "pods": 2, "cores_per_pod": 2,
                       "hot_key_share": 0.3},
           "stages": {"overflow_enabled": True, "overflow_replenish_per_s": 2.0}}
    assert effective_hot_share(config.parse(doc, "x.toml"), 10) == pytest.approx(2.0 / 10000)
    doc["stages"]["overflow_enabled"] = False
    assert effective_hot_share(config.parse(doc, "x.toml"), 10) == 0.3


def test_evaluate_is_deterministic_and_reports_lane_wide() -> None:
    a = simulator(lane(hot_key_share=0.02)).evaluate(10, 14, lane_wide=True)
    b = simulator(lane(hot_key_share=0.02)).evaluate(10, 14, lane_wide=True)
    assert a == b
    assert a["lane_p999_lag_s"] <= a["p999_lag_s"]  # the hottest consumer is the worst one
