"""Run N worker processes in one consumer group over a topic and gather what they report.

The workers (bench/kafka/worker.py) report every batch on stdout; this module starts them,
reads those reports, samples the group's lag (end offset − committed offset per partition)
over time, decides when the run is over, and stops the workers by pid.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from bench.errors import UserError
from bench.kafka.admin import create_topics
from bench.kafka.config import ClientErrors, client_config, unreachable
from bench.kafka.workload_io import check_topic
from impls.base import STREAMS

STOP_GRACE_S = 10.0
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunSpec:
    bootstrap: str
    topic: str
    impl: str
    workers: int
    group: str
    config: dict[str, str]
    context: dict[str, Any]                # PartitionContext fields (teams, persons, settings…)
    output_prefix: str | None = None       # None: outputs discarded
    batch_size: int = 500
    records: int | None = None             # stop once this many input offsets are committed
    idle_timeout_s: float = 10.0           # …or when nothing was processed for this long
    max_seconds: float = 600.0
    sample_interval_s: float = 1.0


@dataclass
class WorkerProc:
    index: int
    process: subprocess.Popen[str]
    stderr_path: str
    exit: dict[str, Any] | None = None
    fatal: str | None = None
    killed: bool = False


@dataclass
class RunOutcome:
    spec: RunSpec
    partitions: int
    start_offsets: dict[int, int]
    started: float
    finished: float
    events: list[dict[str, Any]] = field(default_factory=list)
    lag_samples: list[dict[str, Any]] = field(default_factory=list)
    workers: list[WorkerProc] = field(default_factory=list)
    stop_reason: str = ""

    def batches(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["ev"] == "batch"]


class Run:
    """A running group; `on_event(run, event)` callbacks may inspect it (tests kill a worker)."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.workers: list[WorkerProc] = []
        self.committed: dict[int, int] = {}
        self.batches_by_worker: dict[int, int] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="partbench-kafka-")

    def kill_worker(self, index: int) -> None:
        """SIGKILL one worker (by pid): no goodbye to the group, no commit of the batch in hand."""
        worker = self.workers[index]
        if worker.process.poll() is None:
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.killed = True

    def _spawn(self, index: int, run_start_ms: int) -> WorkerProc:
        spec = self.spec
        payload = {
            "worker_id": index, "bootstrap": spec.bootstrap, "topic": spec.topic, "group": spec.group,
            "impl": spec.impl, "config": spec.config, "context": spec.context,
            "output_prefix": spec.output_prefix, "batch_size": spec.batch_size, "run_start_ms": run_start_ms,
        }
        stderr_path = os.path.join(self._tmp.name, f"worker-{index}.stderr")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        with open(stderr_path, "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "bench.kafka.worker"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=str(ROOT))
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(payload))
        proc.stdin.close()
        worker = WorkerProc(index, proc, stderr_path)
        threading.Thread(target=self._read, args=(worker,), daemon=True).start()
        return worker

    def _read(self, worker: WorkerProc) -> None:
        assert worker.process.stdout is not None
        for line in worker.process.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by SIGKILL
            self.events.put(event)
        self.events.put({"ev": "eof", "w": worker.index, "t": time.time()})

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for worker in self.workers:
            try:
                worker.process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.kill(worker.process.pid, signal.SIGKILL)
                worker.process.wait()

    def close(self) -> None:
        self._tmp.cleanup()


def _lag_sampler(spec: RunSpec, partitions: int) -> tuple[Consumer, ClientErrors, Callable[[], dict[str, Any]]]:
    """A non-member client of the group that reads its committed offsets and the end offsets."""
    settings, errors = client_config(spec.bootstrap, spec.config, **{"group.id": spec.group,
                                                                     "enable.auto.commit": False})
    consumer = Consumer(settings)
    tps = [TopicPartition(spec.topic, p) for p in range(partitions)]

    def sample() -> dict[str, Any]:
        committed = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=5)}
        lags: dict[str, int] = {}
        for p in range(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(spec.topic, p), timeout=5)
            position = committed[p] if committed[p] >= 0 else low
            lags[str(p)] = max(high - position, 0)
        return {"t": time.time(), "lag": lags, "total": sum(lags.values())}

    return consumer, errors, sample


def run_group(spec: RunSpec, on_event: Callable[[Run, dict[str, Any]], None] | None = None,
              should_stop: Callable[[], str | None] | None = None) -> RunOutcome:
    """Start the workers, wait for the stop condition, stop them, and return everything reported.

    `on_event(run, event)` sees every worker report as it arrives; `should_stop()` returning a
    reason ends the run (the rate controller drives runs this way)."""
    if spec.workers < 1:
        raise UserError(f"--workers: must be at least 1, got {spec.workers}")
    sampler, errors, sample = _lag_sampler(spec, 1)
    try:
        partitions = check_topic(sampler, spec.bootstrap, spec.topic, errors, spec.config)
    finally:
        sampler.close()
    assert partitions is not None
    if spec.output_prefix:
        create_topics(spec.bootstrap, [f"{spec.output_prefix}_{s}" for s in STREAMS], partitions, spec.config,
                      exist_ok=True)
    sampler, errors, sample = _lag_sampler(spec, partitions)
    try:
        first = sample()
    except KafkaException as exc:
        sampler.close()
        raise unreachable(spec.bootstrap, errors, exc, spec.config) from None
    # Where the group starts: its committed offsets, else the start of each partition.
    start_offsets = {}
    for tp in sampler.committed([TopicPartition(spec.topic, p) for p in range(partitions)], timeout=5):
        low, _ = sampler.get_watermark_offsets(TopicPartition(spec.topic, tp.partition), timeout=5)
        start_offsets[tp.partition] = tp.offset if tp.offset >= 0 else low

    run = Run(spec)
    started = time.time()
    outcome = RunOutcome(spec, partitions, start_offsets, started, started, lag_samples=[first])
    run.committed = dict(start_offsets)
    try:
        run.workers = [run._spawn(i, int(started * 1000)) for i in range(spec.workers)]
        outcome.workers = run.workers
        outcome.stop_reason = _wait(run, outcome, sample, on_event, should_stop)
    finally:
        run.stop_workers()
        _drain(run, outcome)
        try:
            outcome.lag_samples.append(sample())
        except KafkaException:
            pass
        sampler.close()
        outcome.finished = time.time()
        for worker in run.workers:
            if worker.fatal is None and worker.process.returncode not in (0, None) and not worker.killed:
                worker.fatal = _tail(worker.stderr_path) or f"exit code {worker.process.returncode}"
        run.close()
    return outcome


def _tail(path: str) -> str:
    try:
        lines = Path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _record(run: Run, outcome: RunOutcome, event: dict[str, Any]) -> None:
    outcome.events.append(event)
    if event["ev"] == "batch" and event["committed"]:
        p = event["p"]
        run.committed[p] = max(run.committed.get(p, 0), event["last"] + 1)
        run.batches_by_worker[event["w"]] = run.batches_by_worker.get(event["w"], 0) + 1
    elif event["ev"] == "exit":
        run.workers[event["w"]].exit = event
    elif event["ev"] == "fatal":
        run.workers[event["w"]].fatal = event["error"]


def _drain(run: Run, outcome: RunOutcome) -> None:
    # After the workers exited, their reader threads put what was left, then "eof".
    deadline = time.monotonic() + 2.0
    eofs = sum(1 for e in outcome.events if e["ev"] == "eof")
    while eofs < len(run.workers) and time.monotonic() < deadline:
        try:
            event = run.events.get(timeout=0.1)
        except queue.Empty:
            continue
        eofs += event["ev"] == "eof"
        _record(run, outcome, event)


def _wait(run: Run, outcome: RunOutcome, sample: Callable[[], dict[str, Any]],
          on_event: Callable[[Run, dict[str, Any]], None] | None,
          should_stop: Callable[[], str | None] | None) -> str:
    spec = run.spec
    deadline = time.monotonic() + spec.max_seconds
    next_sample = time.monotonic() + spec.sample_interval_s
    last_progress: float | None = None
    eofs = 0
    while True:
        try:
            event = run.events.get(timeout=0.1)
        except queue.Empty:
            event = None
        if event is not None:
            _record(run, outcome, event)
            if event["ev"] == "batch":
                last_progress = time.monotonic()
            eofs += event["ev"] == "eof"
            if on_event is not None:
                on_event(run, event)
            if event["ev"] == "fatal":
                return f"worker {event['w']} failed: {event['error']}"
        now = time.monotonic()
        if now >= next_sample:
            next_sample = now + spec.sample_interval_s
            try:
                outcome.lag_samples.append(sample())
            except KafkaException:
                pass  # a missed sample is not worth failing the run for
        done = sum(run.committed.get(p, 0) - outcome.start_offsets[p] for p in outcome.start_offsets)
        if spec.records is not None and done >= spec.records:
            return f"{done} records committed"
        if last_progress is not None and now - last_progress > spec.idle_timeout_s:
            return f"no records for {spec.idle_timeout_s:g} s"
        if eofs == len(run.workers):
            return "all workers exited"
        if should_stop is not None and (reason := should_stop()):
            return reason
        if now > deadline:
            return f"time limit of {spec.max_seconds:g} s"
