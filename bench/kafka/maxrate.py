"""Max sustainable rate, in the manner of the OpenMessaging Benchmark's rate controller.

Offer the workload's records to a fresh topic at a rate, in steps of a few seconds, while a
consumer group of workers processes them. A step is sustained when, at its end, the backlog
(records acknowledged by the broker but not yet processed) is within `max_backlog_s` seconds of
traffic and the p99 end-to-end latency of the step's records is within the SLA. The rate ramps up
multiplicatively while steps are sustained; after the first failure it bisects between the best
sustained and the lowest failed rate, letting the backlog drain before each new step.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from confluent_kafka import Producer

from bench.kafka.config import client_config
from bench.kafka.pacer import TokenBucket
from bench.kafka.run import Run, RunOutcome, RunSpec, run_group
from impls.base import Record


class RateController:
    """Pure decision logic: feed it each step's verdict, it answers the next rate (None = done)."""

    def __init__(self, start_rate: float, *, ramp: float = 2.0, precision: float = 0.1,
                 min_rate: float = 10.0, max_steps: int = 12) -> None:
        self.rate = float(start_rate)
        self.ramp = ramp
        self.precision = precision
        self.min_rate = min_rate
        self.max_steps = max_steps
        self.best: float | None = None      # highest sustained rate
        self.failed: float | None = None    # lowest rate that was not sustained
        self.steps = 0

    def record(self, rate: float, sustained: bool) -> float | None:
        self.steps += 1
        if sustained:
            self.best = rate if self.best is None else max(self.best, rate)
        else:
            self.failed = rate if self.failed is None else min(self.failed, rate)
        if self.best is not None and self.failed is not None:
            if (self.failed - self.best) / self.best <= self.precision:
                return None
            self.rate = (self.best + self.failed) / 2
        elif self.failed is not None:
            self.rate = rate / self.ramp
            if self.rate < self.min_rate:
                return None
        else:
            self.rate = rate * self.ramp
        return None if self.steps >= self.max_steps else self.rate


@dataclass
class Step:
    rate: float              # offered (target) records/s
    achieved: float          # records/s actually handed to the producer
    backlog_end: int         # acknowledged − processed at the end of the step
    allowed_backlog: float
    p99_ms: float | None     # end-to-end latency of this step's records that were processed
    processed: int
    sustained: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class MaxRateSpec:
    bootstrap: str
    topic: str               # a fresh topic (created by the caller) with `partitions` partitions
    impl: str
    group: str
    records: Sequence[Record]
    context: dict[str, Any]
    config: dict[str, str]
    workers: int = 1
    batch_size: int = 500
    start_rate: float = 1000.0
    step_s: float = 5.0
    sla_p99_ms: float = 5000.0
    max_backlog_s: float = 1.0
    ramp: float = 2.0
    precision: float = 0.1
    max_steps: int = 12
    output_prefix: str | None = None


@dataclass
class MaxRateOutcome:
    best_rate: float | None
    steps: list[Step]
    run: RunOutcome
    partition_share: dict[int, int] = field(default_factory=dict)   # records produced per partition
    note: str = ""


class _Progress:
    """Processed counts and end-to-end samples, fed from the workers' batch reports."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.processed = 0
        self.samples: list[tuple[float, list[float]]] = []   # (oldest record ts ms, e2e values)
        self.ready = threading.Event()
        self.assigned: set[int] = set()

    def on_event(self, _run: Run, event: dict[str, Any]) -> None:
        with self.lock:
            if event["ev"] == "batch":
                self.processed += event["n"]
                if event["e2e_ts"]:
                    self.samples.append((event["e2e_ts"][0], event["e2e_ms"]))
            elif event["ev"] == "assign":
                self.assigned.update(event["partitions"])
            elif event["ev"] == "revoke":
                self.assigned.difference_update(event["partitions"])

    def since(self, t_ms: float) -> list[float]:
        with self.lock:
            return [v for ts, values in self.samples if ts >= t_ms for v in values]


def _judge(spec: MaxRateSpec, rate: float, achieved: float, backlog: int, p99: float | None,
           processed: int) -> Step:
    allowed = max(rate * spec.max_backlog_s, spec.batch_size)
    if achieved < 0.9 * rate:
        return Step(rate, achieved, backlog, allowed, p99, processed, False,
                    f"producer reached only {achieved:.0f}/s")
    if backlog > allowed:
        return Step(rate, achieved, backlog, allowed, p99, processed, False, f"backlog {backlog} > {allowed:.0f}")
    if p99 is None:
        return Step(rate, achieved, backlog, allowed, p99, processed, False, "no record of the step was processed")
    if p99 > spec.sla_p99_ms:
        return Step(rate, achieved, backlog, allowed, p99, processed, False,
                    f"p99 latency {p99:.0f} ms > {spec.sla_p99_ms:.0f} ms")
    return Step(rate, achieved, backlog, allowed, p99, processed, True, "sustained")


def find_max_rate(spec: MaxRateSpec, log: Callable[[str], None] = lambda _m: None) -> MaxRateOutcome:
    progress = _Progress()
    steps: list[Step] = []
    share: dict[int, int] = {}
    state: dict[str, Any] = {"done": None, "best": None, "error": None, "note": ""}
    run_spec = RunSpec(spec.bootstrap, spec.topic, spec.impl, spec.workers, spec.group, spec.config, spec.context,
                       output_prefix=spec.output_prefix, batch_size=spec.batch_size, records=None,
                       idle_timeout_s=float("inf"), max_seconds=spec.max_steps * spec.step_s * 4 + 120)

    def drive() -> None:
        try:
            state["best"], state["note"] = _drive(spec, progress, steps, share, log)
        except Exception as exc:  # surfaced by the caller after the workers are stopped
            state["error"] = exc
        finally:
            state["done"] = "rate search finished"

    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    outcome = run_group(run_spec, on_event=progress.on_event, should_stop=lambda: state["done"])
    state["done"] = state["done"] or "stopped"
    thread.join(30)
    if state["error"] is not None:
        raise state["error"]
    return MaxRateOutcome(state["best"], steps, outcome, share, state["note"])


def _drive(spec: MaxRateSpec, progress: _Progress, steps: list[Step], share: dict[int, int],
           log: Callable[[str], None]) -> tuple[float | None, str]:
    partitions_needed = None
    deadline = time.monotonic() + 60
    settings, _errors = client_config(spec.bootstrap, spec.config, **{
        "partitioner": "murmur2_random", "linger.ms": 5, "message.timeout.ms": 30_000})
    producer = Producer(settings)
    metadata = producer.list_topics(spec.topic, timeout=10)
    partitions_needed = set(metadata.topics[spec.topic].partitions)
    while progress.assigned != partitions_needed:   # all partitions owned before traffic starts
        if time.monotonic() > deadline:
            return None, "the workers never got all partitions assigned"
        time.sleep(0.1)
    acked = 0
    lock = threading.Lock()

    def delivered(err: Any, msg: Any) -> None:
        nonlocal acked
        if err is None:
            with lock:
                acked += 1
                share[msg.partition()] = share.get(msg.partition(), 0) + 1

    source = itertools.cycle(spec.records)
    controller = RateController(spec.start_rate, ramp=spec.ramp, precision=spec.precision, max_steps=spec.max_steps)
    rate: float | None = controller.rate
    pacer = TokenBucket(rate)
    while rate is not None:
        pacer.set_rate(rate)
        step_start_ms = time.time() * 1000.0
        t0 = time.monotonic()
        sent = 0
        while time.monotonic() - t0 < spec.step_s:
            pacer.acquire()
            record = next(source)
            while True:
                try:
                    producer.produce(spec.topic, value=record.value, key=record.key,
                                     headers=list(record.headers) or None,
                                     timestamp=int(time.time() * 1000), on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.01)
            sent += 1
            if sent % 64 == 0:
                producer.poll(0)
        elapsed = time.monotonic() - t0
        producer.flush(10)
        with lock:
            backlog = acked - progress.processed
        values = progress.since(step_start_ms)
        p99 = float(np.percentile(values, 99)) if values else None
        step = _judge(spec, rate, sent / elapsed, backlog, p99, len(values))
        steps.append(step)
        log(f"rate {rate:9.0f}/s  achieved {step.achieved:9.0f}/s  backlog {backlog:7d}  "
            f"p99 {p99 if p99 is not None else float('nan'):8.0f} ms  {step.reason}")
        if not step.sustained and step.achieved < 0.9 * rate:
            return controller.best, "stopped: the producer could not offer a higher rate on this machine"
        rate = controller.record(rate, step.sustained)
        if rate is not None and not step.sustained:
            _drain(progress, lambda: acked, max(spec.step_s * 4, 10.0))
    best, failed = controller.best, controller.failed
    if best is not None and failed is not None and (failed - best) / best > spec.precision:
        return best, f"stopped after {spec.max_steps} steps: the limit lies between {best:.0f} and {failed:.0f}/s"
    if best is not None and failed is None:
        return best, f"stopped after {spec.max_steps} steps without reaching the limit"
    return best, ""


def _drain(progress: _Progress, acked: Callable[[], int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and acked() - progress.processed > 0:
        time.sleep(0.1)
