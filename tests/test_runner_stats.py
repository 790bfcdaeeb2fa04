"""Confidence intervals across processes, A/A noise and stability warnings."""

from __future__ import annotations

import math

import pytest

from bench.runner import stats


def test_ci_is_t_interval_over_per_process_rates():
    # seconds per event per process → rates 100, 200, 300 (1/mean of each process's values)
    process_values = [[0.01, 0.01], [0.005, 0.005], [1 / 300, 1 / 300]]
    thr = stats.throughput(process_values)
    assert thr["per_process"] == pytest.approx([100, 200, 300])
    assert thr["events_per_s"] == pytest.approx(200)
    # t(0.975, df=2) = 4.302653; s = 100; half-width = 4.302653 * 100 / sqrt(3)
    half = 4.302653 * 100 / math.sqrt(3)
    assert thr["ci95"] == pytest.approx([200 - half, 200 + half], rel=1e-5)
    assert len(thr["values"]) == 6


def test_per_process_rate_is_events_over_time_not_mean_of_rates():
    # one process, two passes at 1 and 3 µs per event → 2 µs mean → 500,000 events/s
    assert stats.per_process_rates([[1e-6, 3e-6]]) == pytest.approx([500_000])


def test_single_process_has_no_ci():
    thr = stats.throughput([[0.01, 0.01]])
    assert thr["ci95"] is None
    assert stats.ci_half_width_pct(thr) is None


def test_aa_noise_difference_and_ci():
    a = [100.0, 102.0, 98.0, 100.0]
    b = [110.0, 112.0, 108.0, 110.0]
    noise = stats.aa_noise(a, b)
    assert noise["diff_pct"] == pytest.approx(10.0)
    low, high = noise["ci95_pct"]
    assert low < 10.0 < high
    assert low > 0  # a real 10% difference with this spread is resolved
    same = stats.aa_noise(a, a)
    assert same["diff_pct"] == 0
    assert same["ci95_pct"][0] < 0 < same["ci95_pct"][1]


def test_warnings():
    stable = [[1e-5, 1e-5], [1e-5, 1.01e-5], [1.01e-5, 1e-5]]
    assert stats.stability_warnings(stable) == []
    noisy = [[1e-5, 3e-5], [1e-5, 1e-5], [1e-5, 1e-5]]
    text = " ".join(stats.stability_warnings(noisy))
    assert "std dev is 31% of the mean" in text
    assert "minimum is 62% below the mean" in text
    assert any("only 2 worker" in w for w in stats.stability_warnings([[1e-5], [1e-5]]))
    assert any("p99 batch latency from only 40" in w for w in stats.stability_warnings(stable, latency_samples=40))


def test_latency_summary():
    lat = stats.latency_summary([0.001 * i for i in range(1, 101)], keep=10)
    assert lat["p50"] == pytest.approx(50.5)
    assert lat["max"] == pytest.approx(100.0)
    assert len(lat["samples"]) == 10
    assert stats.latency_summary([], keep=10) is None
