"""The sizing formulas (pure functions; every input is stated in the projection's assumptions).

λ = today's peak events/s, g = growth, U = target utilization,
μ_pod = μ_partition × cores_per_pod × e (e = measured multi-core scaling efficiency),
pods = ceil(g·λ / (μ_pod·U)),
partitions = max(ceil(g·λ / (μ_partition·U)), pods × consumers_per_pod, today's partitions),
cost relative to today = pods / today's pods.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

# Guards ceil() against float noise: 600000 / (60000 * 1.0) must be 10, not 11.
_EPS = 1e-9


def _ceil(x: float) -> int:
    return math.ceil(x - _EPS)


def mu_pod(mu_partition: float, cores_per_pod: float, efficiency: float) -> float:
    """Events/s one pod sustains: each core runs one partition at `efficiency` of a lone one."""
    return mu_partition * cores_per_pod * efficiency


def pods_needed(demand: float, mu_pod_: float, utilization: float) -> int:
    """ceil(demand / (μ_pod · U)), at least one pod."""
    if mu_pod_ <= 0 or utilization <= 0:
        raise ValueError("throughput and utilization must be positive")
    return max(1, _ceil(demand / (mu_pod_ * utilization)))


def partitions_needed(demand: float, mu_partition: float, utilization: float, pods: int,
                      consumers_per_pod: int, today_partitions: int = 0) -> int:
    """Enough partitions that none runs above U, at least one per consumer, never fewer than today."""
    by_throughput = _ceil(demand / (mu_partition * utilization))
    return max(by_throughput, pods * consumers_per_pod, today_partitions, 1)


def efficiency_at(curve: Sequence[float], cores: float) -> tuple[float, str]:
    """Scaling efficiency for `cores` concurrent partitions from a measured curve e[n-1], n = 1..N.

    Beyond the measured range the last point is used (said in the note); the value is capped at
    1.0 because a measured e > 1 is noise, not super-linear scaling.
    """
    if not curve:
        return 1.0, "scaling efficiency not measured: assumed 1.0 (linear scaling)"
    n = len(curve)
    if cores <= 1:
        e, note = 1.0, "one core per pod: no multi-core scaling loss"
    elif cores <= n:
        lo = int(math.floor(cores))
        hi = min(n, lo + 1)
        frac = cores - lo
        e = curve[lo - 1] * (1 - frac) + curve[hi - 1] * frac
        note = f"scaling efficiency at {cores:g} cores measured on this machine: {e:.3f}"
    else:
        e = curve[-1]
        note = (f"scaling efficiency at {cores:g} cores extrapolated from the largest measured "
                f"({n} concurrent partitions on this machine): {e:.3f}")
    if e > 1.0:
        note += " (measured above 1.0, capped at 1.0)"
        e = 1.0
    return e, note


@dataclass(frozen=True)
class Sizing:
    demand: float           # g·λ, events/s to absorb
    mu_partition: float
    mu_pod: float
    efficiency: float
    pods: int
    partitions: int
    consumers: int
    cost_vs_today: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def size(*, peak: float, growth: float, mu_partition: float, cores_per_pod: float, efficiency: float,
         utilization: float, consumers_per_pod: int, today_pods: int, today_partitions: int) -> Sizing:
    demand = growth * peak
    mp = mu_pod(mu_partition, cores_per_pod, efficiency)
    pods = pods_needed(demand, mp, utilization)
    return Sizing(
        demand=demand, mu_partition=mu_partition, mu_pod=mp, efficiency=efficiency, pods=pods,
        partitions=partitions_needed(demand, mu_partition, utilization, pods, consumers_per_pod,
                                     today_partitions),
        consumers=pods * consumers_per_pod,
        cost_vs_today=pods / today_pods,
    )
