"""Check a sizing against the lane's lag SLA by simulation, and find the fewest pods meeting it.

The SLA is judged on the hottest consumer (the one holding the hot key's partition and the most
partitions): its events must meet both bounds. That is stricter than a lane-wide percentile,
which is reported beside it, because an SLA met on average while one customer's events lag is
not met for that customer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.capacity import model
from bench.capacity.config import Pipeline
from bench.capacity.simulate import QueueResult, percentile, rate_trace, simulate_queue


def effective_hot_share(pipeline: Pipeline, growth: float) -> float:
    """The hot key's share of the lane that stays on its partition.

    With overflow on, the key's token bucket lets through only `overflow_replenish_per_s` events/s
    once its capacity is spent; the rest leaves for the overflow lane (sized by its own file).
    """
    h = pipeline.traffic.hot_key_share
    if h <= 0 or not pipeline.stages["overflow_enabled"]:
        return h
    demand = growth * pipeline.traffic.peak_events_per_s
    return min(h, float(pipeline.stages["overflow_replenish_per_s"]) / demand)


@dataclass
class Simulator:
    pipeline: Pipeline
    mu_partition: float
    efficiency: float
    samples_s: list[float]        # measured seconds per batch of `samples_batch` events, one core
    samples_batch: int

    def __post_init__(self) -> None:
        lane, sim = self.pipeline, self.pipeline.simulation
        self.tick_s = sim.tick_ms / 1000.0
        self.base_trace = rate_trace(
            lane.traffic.peak_events_per_s, window_s=sim.window_s, tick_s=self.tick_s,
            trough_ratio=sim.trough_ratio, bursts_per_hour=sim.bursts_per_hour,
            burst_factor=sim.burst_factor, burst_s=sim.burst_s, seed=sim.seed)
        t = lane.traffic
        # A consumer's share of its pod: c consumers on `cores` cores at efficiency e.
        self.slowdown = t.consumers_per_pod / (t.cores_per_pod * self.efficiency)
        samples = self.samples_s or [self.samples_batch / self.mu_partition]
        self.service = np.asarray(samples, dtype=np.float64) * self.slowdown
        self.consumer_capacity = self.mu_partition / self.slowdown
        self._cache: dict[tuple[float, int, bool], dict[str, Any]] = {}

    def partitions(self, growth: float, pods: int) -> int:
        t = self.pipeline.traffic
        return model.partitions_needed(growth * t.peak_events_per_s, self.mu_partition,
                                       self.pipeline.target_utilization, pods, t.consumers_per_pod,
                                       t.partitions)

    def _queue(self, trace: np.ndarray, share: float) -> QueueResult:
        return simulate_queue(trace * share, self.tick_s, int(self.pipeline.stages["batch_size"]),
                              self.service, float(self.samples_batch), self.pipeline.simulation.seed)

    def evaluate(self, growth: float, pods: int, lane_wide: bool = False) -> dict[str, Any]:
        key = (growth, pods, lane_wide)
        if key in self._cache:
            return self._cache[key]
        t, sla = self.pipeline.traffic, self.pipeline.sla
        consumers = pods * t.consumers_per_pod
        parts = self.partitions(growth, pods)
        k_hot, k_floor = math.ceil(parts / consumers), parts // consumers
        n_ceil = parts - consumers * k_floor or consumers  # consumers holding k_hot partitions
        h = effective_hot_share(self.pipeline, growth)
        hot_share = h + (1 - h) * k_hot / parts
        trace = self.base_trace * growth
        hot = self._queue(trace, hot_share)
        p99, p999 = hot.p(0.99), hot.p(0.999)
        out: dict[str, Any] = {
            "pods": pods, "partitions": parts, "consumers": consumers,
            "p99_lag_s": p99, "p999_lag_s": p999,
            "meets_sla": p999 <= sla.p999_lag_s and p99 <= sla.p99_lag_s,
            "max_lag_s": hot.max_lag_s, "drain_after_window_s": hot.drain_s,
            "hot_consumer": {
                "partitions": k_hot, "share_of_lane": hot_share,
                "peak_events_per_s": hot_share * growth * t.peak_events_per_s,
                "capacity_events_per_s": self.consumer_capacity,
                "utilization_at_peak": hot_share * growth * t.peak_events_per_s / self.consumer_capacity,
            },
        }
        if lane_wide:
            hist = hot.hist.copy()
            groups = [(n_ceil - 1, (1 - h) * k_hot / parts), (consumers - n_ceil, (1 - h) * k_floor / parts)]
            for count, share in groups:
                if count > 0 and share > 0:
                    hist += count * self._queue(trace, share).hist
            out["lane_p99_lag_s"] = percentile(hist, 0.99)
            out["lane_p999_lag_s"] = percentile(hist, 0.999)
        self._cache[key] = out
        return out

    def hot_key_alone_too_much(self, growth: float) -> bool:
        """True when the hot key by itself exceeds one consumer: no pod count can fix that."""
        h = effective_hot_share(self.pipeline, growth)
        return h * growth * self.pipeline.traffic.peak_events_per_s >= self.consumer_capacity

    def min_pods(self, growth: float, hint: int) -> int | None:
        """Fewest pods whose hottest consumer meets the SLA (lag assumed not to grow with pods)."""
        if self.hot_key_alone_too_much(growth):
            return None
        cap = max(64, 64 * hint)
        hi = max(1, hint)
        lo = 0  # largest pod count known to fail
        while not self.evaluate(growth, hi)["meets_sla"]:
            lo = hi
            hi *= 2
            if hi > cap:
                return None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.evaluate(growth, mid)["meets_sla"]:
                hi = mid
            else:
                lo = mid
        return hi
