"""One consumer-group worker process: `python -m bench.kafka.worker` (spec as JSON on stdin).

It consumes its assigned partitions, processes each partition's records through its own session
of the implementation, produces the outputs to `<prefix>_<stream>` topics (or discards them),
waits for every output to be acknowledged, and only then commits the partition's offsets
(at-least-once). After each batch it writes one JSON line to stdout for the orchestrator
(bench/kafka/run.py). SIGTERM: finish the batch in hand, leave the group, report, exit.

The spec is read from stdin rather than argv or a file because it carries the client settings,
which may hold credentials.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import resource
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from bench.kafka.config import GROUP_DEFAULTS, client_config, redact_text
from bench.kafka.impl_ref import resolve
from impls.base import PartitionContext, Record

FLUSH_TIMEOUT_S = 30.0


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def batch_digest(streams: dict[str, Sequence[bytes]]) -> str:
    """sha256 over the raw output bytes, streams in name order (compared with an offline rerun)."""
    h = hashlib.sha256()
    for name in sorted(streams):
        h.update(name.encode() + b"\0")
        for row in streams[name]:
            h.update(len(row).to_bytes(8, "little"))
            h.update(row)
    return h.hexdigest()


class Worker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.id: int = spec["worker_id"]
        self.topic: str = spec["topic"]
        self.prefix: str | None = spec.get("output_prefix")
        self.run_start_ms: int = spec["run_start_ms"]
        self.impl = resolve(spec["impl"])
        self.base_context = PartitionContext(**spec["context"])
        self.user_config: dict[str, str] = spec["config"]
        self.sessions: dict[int, Any] = {}
        self.segments: dict[int, int] = {}   # partition -> id of its current session ("segment")
        self.next_segment = 0
        self.stopping = False
        consumer_settings, self.consumer_errors = client_config(spec["bootstrap"], self.user_config, **{
            **GROUP_DEFAULTS, "group.id": spec["group"], "enable.auto.commit": False,
            "enable.auto.offset.store": False, "auto.offset.reset": "earliest",
            "client.id": f"partbench-worker-{self.id}"})
        self.consumer = Consumer(consumer_settings)
        self.producer: Producer | None = None
        if self.prefix:
            producer_settings, self.producer_errors = client_config(spec["bootstrap"], self.user_config, **{
                "linger.ms": 5, "acks": "all", "client.id": f"partbench-worker-{self.id}"})
            self.producer = Producer(producer_settings)
        self.delivery_failures: list[str] = []

    # --- group membership -------------------------------------------------------------------
    def on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        emit({"ev": "assign", "w": self.id, "t": time.time(), "partitions": sorted(p.partition for p in partitions)})

    def on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # State does not survive a rebalance: the next owner starts from the snapshot again.
        for tp in partitions:
            session = self.sessions.pop(tp.partition, None)
            if session is not None:
                session.close()
            self.segments.pop(tp.partition, None)
        emit({"ev": "revoke", "w": self.id, "t": time.time(), "partitions": sorted(p.partition for p in partitions)})

    def session_for(self, partition: int) -> tuple[Any, int]:
        if partition not in self.sessions:
            context = dataclasses.replace(self.base_context, topic=self.topic, partition=partition)
            self.sessions[partition] = self.impl.start(context)
            self.segments[partition] = self.next_segment
            self.next_segment += 1
        return self.sessions[partition], self.segments[partition]

    # --- one partition's batch ----------------------------------------------------------------
    def delivered(self, err: Any, _msg: Any) -> None:
        if err is not None and len(self.delivery_failures) < 3:
            self.delivery_failures.append(err.str())

    def produce(self, streams: dict[str, Sequence[bytes]]) -> None:
        assert self.producer is not None
        producer = self.producer
        for stream, rows in streams.items():
            topic = f"{self.prefix}_{stream}"
            for row in rows:
                while True:
                    try:
                        producer.produce(topic, value=row, on_delivery=self.delivered)
                        break
                    except BufferError:
                        producer.poll(0.05)
        remaining = producer.flush(FLUSH_TIMEOUT_S)
        if self.delivery_failures or remaining:
            reason = self.delivery_failures[0] if self.delivery_failures else f"{remaining} outputs unacknowledged"
            raise RuntimeError(f"output delivery failed ({redact_text(reason, self.user_config)})")

    def handle(self, partition: int, messages: Sequence[Any]) -> None:
        t0 = time.perf_counter()
        records = [Record(m.offset(), m.timestamp()[1], m.key(),
                          tuple((k, v if v is not None else b"") for k, v in (m.headers() or ())), m.value())
                   for m in messages]
        session, segment = self.session_for(partition)
        p0 = time.perf_counter()
        out = session.process_batch(records)
        p1 = time.perf_counter()
        proc_s = out.processing_seconds if out.processing_seconds is not None else p1 - p0
        digest = batch_digest(out.streams)
        d1 = time.perf_counter()
        if self.producer is not None:
            self.produce(out.streams)
        acked_ms = time.time() * 1000.0
        t_ack = time.perf_counter()
        committed = True
        try:
            self.consumer.commit(offsets=[TopicPartition(self.topic, partition, records[-1].offset + 1)],
                                 asynchronous=False)
        except KafkaException as exc:
            # Typically a rebalance took the partition away: its next owner redoes this batch.
            committed = False
            commit_error = exc.args[0].str()
        t1 = time.perf_counter()
        live = [r.timestamp_ms for r in records if r.timestamp_ms >= self.run_start_ms]
        event = {
            "ev": "batch", "w": self.id, "p": partition, "seg": segment, "t": time.time(),
            "first": records[0].offset, "last": records[-1].offset, "n": len(records),
            "proc_s": proc_s, "busy_s": (t1 - t0) - (d1 - p1), "produce_s": t_ack - d1, "commit_s": t1 - t_ack,
            "outcomes": out.outcomes, "outputs": sum(len(rows) for rows in out.streams.values()),
            "digest": digest, "committed": committed,
            "e2e_ms": [round(acked_ms - ts, 1) for ts in live],
            "e2e_ts": [min(live), max(live)] if live else None,
        }
        if not committed:
            event["commit_error"] = commit_error
            session.close()
            self.sessions.pop(partition, None)
            self.segments.pop(partition, None)
        emit(event)

    # --- main loop --------------------------------------------------------------------------
    def run(self) -> int:
        self.consumer.subscribe([self.topic], on_assign=self.on_assign, on_revoke=self.on_revoke)
        emit({"ev": "ready", "w": self.id, "t": time.time()})
        batch_size = int(self.spec["batch_size"])
        try:
            while not self.stopping:
                messages = self.consumer.consume(num_messages=batch_size, timeout=0.2)
                by_partition: dict[int, list[Any]] = {}
                for msg in messages:
                    err = msg.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            emit({"ev": "error", "w": self.id, "t": time.time(),
                                  "error": redact_text(err.str(), self.user_config)})
                        continue
                    by_partition.setdefault(msg.partition(), []).append(msg)
                for partition, batch in by_partition.items():
                    self.handle(partition, batch)
        finally:
            self.consumer.close()  # leaves the group now rather than after the session timeout
            for session in self.sessions.values():
                session.close()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        emit({"ev": "exit", "w": self.id, "t": time.time(), "cpu_s": usage.ru_utime + usage.ru_stime,
              "peak_rss_mb": usage.ru_maxrss / 1024.0})
        return 0


def main() -> int:
    spec = json.load(sys.stdin)
    worker = Worker(spec)

    def stop(_signum: int, _frame: Any) -> None:
        worker.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return worker.run()
    except Exception as exc:  # reported in one line; the orchestrator decides what it means
        emit({"ev": "fatal", "w": worker.id, "t": time.time(),
              "error": redact_text(f"{type(exc).__name__}: {exc}", worker.user_config)})
        return 1


if __name__ == "__main__":
    sys.exit(main())
