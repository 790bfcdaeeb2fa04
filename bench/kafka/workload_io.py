"""Record one partition of a topic into Records, and replay Records into a topic.

Called by `partbench workload record|replay` (bench/workloads/cli.py). Both fail within a few
seconds on an unreachable broker with one line naming the address, not after librdkafka's
default of retrying for ever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from bench.errors import UserError
from bench.kafka.config import ClientErrors, client_config, redact_text, unreachable
from bench.kafka.pacer import TokenBucket
from impls.base import Record

CONNECT_TIMEOUT_S = 5.0
# Stop waiting for more records of a partition after this long without any.
IDLE_TIMEOUT_S = 5.0


def check_topic(client: Consumer | Producer, bootstrap: str, topic: str, errors: ClientErrors,
                config: dict[str, str], *, partition: int | None = None, must_exist: bool = True) -> int | None:
    """Fetch the topic's metadata (the reachability check); returns its partition count, or None
    when it does not exist and must_exist is False."""
    try:
        metadata = client.list_topics(topic, timeout=CONNECT_TIMEOUT_S)
    except KafkaException as exc:
        client.poll(0.1)  # serve the queued log lines and errors that say why
        raise unreachable(bootstrap, errors, exc, config) from None
    info = metadata.topics.get(topic)
    missing = info is None or (info.error is not None and info.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART)
    if missing or not info.partitions:
        if must_exist:
            raise UserError(f"broker {bootstrap}: topic {topic!r} does not exist")
        return None
    if info.error is not None:
        raise UserError(f"broker {bootstrap}: topic {topic!r}: {redact_text(info.error.str(), config)}")
    count = len(info.partitions)
    if partition is not None and not 0 <= partition < count:
        raise UserError(f"broker {bootstrap}: topic {topic!r} has {count} partitions; no partition {partition}")
    return count


def _to_record(msg: Any) -> Record:
    # Header values are bytes on the wire but may be null; a null value is kept as b"".
    headers = tuple((name, value if value is not None else b"") for name, value in (msg.headers() or ()))
    return Record(msg.offset(), msg.timestamp()[1], msg.key(), headers, msg.value())


def _start_offset(consumer: Consumer, bootstrap: str, topic: str, partition: int, errors: ClientErrors,
                  config: dict[str, str], from_offset: int | None, from_time_ms: int | None) -> int:
    if from_offset is not None:
        if from_offset < 0:
            raise UserError(f"--from-offset: must be >= 0, got {from_offset}")
        return from_offset
    try:
        found = consumer.offsets_for_times([TopicPartition(topic, partition, from_time_ms)],
                                           timeout=CONNECT_TIMEOUT_S)[0]
    except KafkaException as exc:
        raise unreachable(bootstrap, errors, exc, config) from None
    if found.error is not None:
        raise UserError(f"broker {bootstrap}: topic {topic!r} partition {partition}: offset lookup for "
                        f"time {from_time_ms} failed ({found.error.str()})")
    # -1: no record at or after that time (the reader then waits IDLE_TIMEOUT_S and reports it).
    return found.offset if found.offset >= 0 else _end_offset(consumer, topic, partition)


def _end_offset(consumer: Consumer, topic: str, partition: int) -> int:
    return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=CONNECT_TIMEOUT_S)[1]


def record_partition(bootstrap: str, topic: str, partition: int, *, from_offset: int | None,
                     from_time_ms: int | None, count: int, config: dict[str, str]) -> list[Record]:
    """`count` records of one partition, exactly as stored, starting at an offset or a time.

    With `from_time_ms`, the first record is the earliest one whose timestamp is at or after it
    (Kafka's ListOffsets rule). Brokers that answer the lookup coarsely (Tansu returns the start
    of the log) are handled by skipping the leading records that are older. Raises UserError if
    fewer than `count` records arrive (none for IDLE_TIMEOUT_S).
    """
    if (from_offset is None) == (from_time_ms is None):
        raise UserError("record: give exactly one of --from-offset or --from-time")
    if count <= 0:
        raise UserError(f"--count: must be positive, got {count}")
    settings, errors = client_config(bootstrap, config, **{
        "group.id": "partbench-record", "enable.auto.commit": False, "enable.auto.offset.store": False,
        "auto.offset.reset": "error", "enable.partition.eof": False})
    consumer = Consumer(settings)
    try:
        check_topic(consumer, bootstrap, topic, errors, config, partition=partition)
        start = _start_offset(consumer, bootstrap, topic, partition, errors, config, from_offset, from_time_ms)
        consumer.assign([TopicPartition(topic, partition, start)])
        records: list[Record] = []
        skipping = from_time_ms is not None
        last_seen = time.monotonic()
        while len(records) < count:
            batch = consumer.consume(num_messages=min(count - len(records), 10_000), timeout=0.5)
            if not batch:
                if time.monotonic() - last_seen > IDLE_TIMEOUT_S:
                    where = f"offset {start}" if from_time_ms is None else f"time {from_time_ms}"
                    raise UserError(f"broker {bootstrap}: topic {topic!r} partition {partition}: only "
                                    f"{len(records)} records from {where} (wanted {count}; none arrived "
                                    f"for {IDLE_TIMEOUT_S:.0f} s)")
                continue
            last_seen = time.monotonic()
            for msg in batch:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise UserError(f"broker {bootstrap}: topic {topic!r} partition {partition}: "
                                    f"{redact_text(err.str(), config)}")
                if skipping:
                    if msg.timestamp()[1] < from_time_ms:  # type: ignore[operator]
                        continue
                    skipping = False
                records.append(_to_record(msg))
                if len(records) == count:
                    break
        return records
    finally:
        consumer.close()


def replay(records: Iterable[Record], bootstrap: str, topic: str, *, partition: int | None,
           rate: float | None, config: dict[str, str]) -> int:
    """Produce the records to `topic`; returns how many the broker acknowledged.

    Keys, headers, values and timestamps are kept (a topic with LogAppendTime overrides the
    timestamps: that is the broker's choice). `partition` None → partitioned by key with the
    Java client's murmur2 hash, as the capture service does (override with -X partitioner=…).
    `rate` is records/s through a token bucket; None produces as fast as the broker takes them.
    """
    return produce_records(records, bootstrap, topic, partition=partition, rate=rate, config=config)


def produce_records(records: Iterable[Record], bootstrap: str, topic: str, *, partition: int | None,
                    rate: float | None, config: dict[str, str],
                    timestamp_ms: Callable[[Record], int] | None = None,
                    on_sent: Callable[[int], None] | None = None) -> int:
    """replay() with two hooks for the rate controller: a timestamp function (to stamp records
    with the send time) and a callback after each record is handed to the producer."""
    if rate is not None and rate <= 0:
        raise UserError(f"--rate: must be positive, got {rate}")
    settings, errors = client_config(bootstrap, config, **{
        "partitioner": "murmur2_random", "linger.ms": 5, "enable.idempotence": False,
        "message.timeout.ms": 30_000})
    producer = Producer(settings)
    check_topic(producer, bootstrap, topic, errors, config, partition=partition, must_exist=partition is not None)
    failures: list[str] = []
    acked = 0

    def delivered(err: Any, _msg: Any) -> None:
        nonlocal acked
        if err is None:
            acked += 1
        elif len(failures) < 3:
            failures.append(err.str())

    pacer = TokenBucket(rate) if rate else None
    sent = 0
    kwargs: dict[str, Any] = {"on_delivery": delivered}
    if partition is not None:
        kwargs["partition"] = partition
    for record in records:
        if pacer is not None:
            pacer.acquire()
        ts = timestamp_ms(record) if timestamp_ms is not None else record.timestamp_ms
        while True:
            try:
                producer.produce(topic, value=record.value, key=record.key, headers=list(record.headers) or None,
                                 timestamp=ts, **kwargs)
                break
            except BufferError:  # local queue full: let deliveries drain it
                producer.poll(0.05)
        sent += 1
        if on_sent is not None:
            on_sent(sent)
        producer.poll(0)
        if failures:
            break
    remaining = producer.flush(60)
    if failures or remaining:
        reason = failures[0] if failures else f"{remaining} records not acknowledged after 60 s"
        raise UserError(f"broker {bootstrap}: topic {topic!r}: replay failed after {acked} of {sent} records "
                        f"({redact_text(reason, config)})")
    return acked
