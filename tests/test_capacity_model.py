"""The sizing formulas on hand-computed cases."""

from __future__ import annotations

import pytest

from bench.capacity import model


def test_pods_partitions_cost_hand_computed() -> None:
    # λ 60000, g 10 -> 600000/s; μ_pod = 40000 × 2 × 0.75 = 60000; 600000 / (60000 × 0.7) = 14.29
    s = model.size(peak=60000, growth=10, mu_partition=40000, cores_per_pod=2, efficiency=0.75,
                   utilization=0.7, consumers_per_pod=2, today_pods=20, today_partitions=64)
    assert s.mu_pod == 60000
    assert s.pods == 15
    # partitions: max(ceil(600000 / 28000) = 22, 15 × 2 = 30, 64 today) = 64
    assert s.partitions == 64
    assert s.consumers == 30
    assert s.cost_vs_today == pytest.approx(0.75)


def test_partitions_driven_by_consumers_and_by_throughput() -> None:
    assert model.partitions_needed(600000, 40000, 0.7, pods=15, consumers_per_pod=2, today_partitions=8) == 30
    assert model.partitions_needed(600000, 10000, 0.5, pods=15, consumers_per_pod=2, today_partitions=8) == 120
    assert model.partitions_needed(1, 1e9, 0.7, pods=1, consumers_per_pod=1) == 1


def test_exact_division_is_not_rounded_up() -> None:
    assert model.pods_needed(600000, 60000, 1.0) == 10
    assert model.pods_needed(0.7 * 3 * 1000, 1000, 0.7) == 3  # float product 2100.0000000000005
    assert model.pods_needed(1, 1e9, 0.7) == 1  # never zero pods


def test_pods_grow_with_growth() -> None:
    pods = [model.pods_needed(g * 1000, 500, 0.7) for g in range(1, 21)]
    assert pods == sorted(pods) and pods[0] == 3 and pods[-1] == 58


def test_efficiency_from_curve() -> None:
    assert model.efficiency_at([1.0, 0.9], 2)[0] == 0.9
    assert model.efficiency_at([1.0, 0.9], 1.5)[0] == pytest.approx(0.95)
    e, note = model.efficiency_at([1.0, 0.9], 8)
    assert e == 0.9 and "extrapolated" in note
    e, note = model.efficiency_at([], 4)
    assert e == 1.0 and "not measured" in note
    e, note = model.efficiency_at([1.0, 1.04], 2)
    assert e == 1.0 and "capped" in note
    assert model.efficiency_at([1.0, 0.5], 1)[0] == 1.0


def test_bad_inputs_rejected() -> None:
    with pytest.raises(ValueError):
        model.pods_needed(100, 0, 0.7)
