"""Workload record/replay against a real broker: generate → save → replay → record → identical."""

from __future__ import annotations

import time

import pytest

from bench.errors import UserError
from bench.kafka import workload_io
from impls.base import Record

pytestmark = pytest.mark.kafka


def _crafted(n: int = 300) -> list[Record]:
    """Edge cases a generator may not produce: null key/value, repeated and empty headers, NULs."""
    base = 1_764_000_000_000
    return [Record(i, base + i * 7,
                   None if i % 13 == 0 else f"phc_tok:user-{i % 17}".encode(),
                   (("token", b"phc_tok"), ("token", b"dup\x00"), ("empty", b"")) if i % 3 else (),
                   None if i % 29 == 0 else b'{"data":"x' + bytes([i % 256]) + b'"}')
            for i in range(n)]


def _generated(tmp_path) -> list[Record]:
    """A generated workload saved and loaded through the workload file format, when it exists."""
    try:
        from bench.workloads import format as wformat
        from bench.workloads import generator
    except ImportError:
        pytest.skip("bench.workloads.generator not available yet")
    workload = generator.generate("general", 400, 7)
    path = tmp_path / "general.pbw"
    wformat.save(workload, path)
    return wformat.load(path).records


def _roundtrip(records: list[Record], bootstrap: str, topic: str) -> None:
    sent = workload_io.replay(records, bootstrap, topic, partition=0, rate=None, config={})
    assert sent == len(records)
    back = workload_io.record_partition(bootstrap, topic, 0, from_offset=0, from_time_ms=None,
                                        count=len(records), config={})
    # Offsets on the new topic start at 0 like the crafted ones; compare everything else as-is.
    assert [r._replace(offset=0) for r in back] == [r._replace(offset=0) for r in records]
    assert [r.offset for r in back] == list(range(len(records)))


def test_crafted_records_round_trip(kafka_broker: str, kafka_topic) -> None:
    _roundtrip(_crafted(), kafka_broker, kafka_topic(1))


def test_generated_workload_round_trip(kafka_broker: str, kafka_topic, tmp_path) -> None:
    _roundtrip(_generated(tmp_path), kafka_broker, kafka_topic(1))


def test_record_from_time_starts_at_first_record_at_or_after_it(kafka_broker: str, kafka_topic) -> None:
    topic = kafka_topic(1)
    records = _crafted(50)
    workload_io.replay(records, kafka_broker, topic, partition=0, rate=None, config={})
    target = records[20].timestamp_ms - 3   # between records 19 and 20
    back = workload_io.record_partition(kafka_broker, topic, 0, from_offset=None, from_time_ms=target,
                                        count=5, config={})
    assert [r.offset for r in back] == [20, 21, 22, 23, 24]


def test_replay_by_key_keeps_each_key_on_one_partition(kafka_broker: str, kafka_topic) -> None:
    topic = kafka_topic(3)
    records = [r for r in _crafted(120) if r.key is not None]
    assert workload_io.replay(records, kafka_broker, topic, partition=None, rate=None, config={}) == len(records)
    partition_of = _read_all(kafka_broker, topic, 3, len(records))
    # Every record arrived once, and a key never spans partitions (murmur2 by key).
    assert sorted(k for k, _ in partition_of) == sorted(r.key for r in records)
    seen: dict[bytes, set[int]] = {}
    for key, p in partition_of:
        seen.setdefault(key, set()).add(p)
    assert all(len(ps) == 1 for ps in seen.values())
    assert len({p for ps in seen.values() for p in ps}) > 1


def _read_all(bootstrap: str, topic: str, partitions: int, expected: int) -> list[tuple[bytes, int]]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-read", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out: list[tuple[bytes, int]] = []
    deadline = time.monotonic() + 10
    try:
        while len(out) < expected and time.monotonic() < deadline:
            out += [(m.key(), m.partition()) for m in consumer.consume(1000, 0.2) if m.error() is None]
        time.sleep(0.2)  # anything beyond `expected` would be a duplicate: read it too
        out += [(m.key(), m.partition()) for m in consumer.consume(1000, 0.2) if m.error() is None]
    finally:
        consumer.close()
    return out


def test_rate_is_paced(kafka_broker: str, kafka_topic) -> None:
    topic = kafka_topic(1)
    t0 = time.monotonic()
    workload_io.replay(_crafted(100), kafka_broker, topic, partition=0, rate=400.0, config={})
    assert time.monotonic() - t0 >= 0.2   # 100 records at 400/s need ≥ 0.25 s


def test_missing_partition_and_topic_are_one_line_errors(kafka_broker: str, kafka_topic) -> None:
    topic = kafka_topic(2)
    with pytest.raises(UserError, match=r"has 2 partitions; no partition 5"):
        workload_io.record_partition(kafka_broker, topic, 5, from_offset=0, from_time_ms=None, count=1, config={})
    with pytest.raises(UserError, match=r"does not exist"):
        workload_io.record_partition(kafka_broker, "no-such-topic", 0, from_offset=0, from_time_ms=None,
                                     count=1, config={})


def test_too_few_records_is_an_error(kafka_broker: str, kafka_topic, monkeypatch) -> None:
    monkeypatch.setattr(workload_io, "IDLE_TIMEOUT_S", 0.5)
    topic = kafka_topic(1)
    workload_io.replay(_crafted(10), kafka_broker, topic, partition=0, rate=None, config={})
    with pytest.raises(UserError, match=r"only 10 records from offset 0 \(wanted 20"):
        workload_io.record_partition(kafka_broker, topic, 0, from_offset=0, from_time_ms=None, count=20, config={})


@pytest.mark.slow
def test_unreachable_broker_fails_fast_with_one_line() -> None:
    for call in (
        lambda: workload_io.record_partition("127.0.0.1:1", "t", 0, from_offset=0, from_time_ms=None, count=1,
                                             config={"sasl.password": "hunter2"}),
        lambda: workload_io.replay(_crafted(3), "127.0.0.1:1", "t", partition=None, rate=None,
                                   config={"sasl.password": "hunter2"}),
    ):
        t0 = time.monotonic()
        with pytest.raises(UserError) as info:
            call()
        message = str(info.value)
        assert message.startswith("broker 127.0.0.1:1: unreachable (") and "\n" not in message
        assert "Connection refused" in message and "hunter2" not in message
        assert time.monotonic() - t0 < 10


def _workload_cli(argv: list[str]) -> int:
    """`partbench workload …` through the workloads subsystem's parser (UserError handled like bench.cli)."""
    import argparse
    import sys

    try:
        from bench.workloads import cli
    except ImportError:
        pytest.skip("bench.workloads.cli not available yet")
    parser = argparse.ArgumentParser(prog="partbench")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"partbench: error: {exc}", file=sys.stderr)
        return exc.exit_code


def test_cli_generate_save_replay_record_identical(kafka_broker: str, kafka_topic, tmp_path) -> None:
    from bench.workloads import format as wformat

    original = _generated(tmp_path)
    source = tmp_path / "general.pbw"
    topic = kafka_topic(1)
    assert _workload_cli(["workload", "replay", str(source), "--bootstrap", kafka_broker, "--topic", topic,
                          "--partition", "0"]) == 0
    recorded = tmp_path / "recorded.pbw"
    assert _workload_cli(["workload", "record", "--bootstrap", kafka_broker, "--topic", topic, "--partition", "0",
                          "--from-offset", "0", "--count", str(len(original)), "-o", str(recorded)]) == 0
    back = wformat.load(recorded).records
    assert [r._replace(offset=0) for r in back] == [r._replace(offset=0) for r in original]


@pytest.mark.slow
def test_cli_record_from_unreachable_broker_leaves_no_file(tmp_path, capsys) -> None:
    out = tmp_path / "never.pbw"
    code = _workload_cli(["workload", "record", "--bootstrap", "127.0.0.1:1", "--topic", "t", "--partition", "0",
                          "--from-offset", "0", "--count", "5", "-o", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and not out.exists() and list(tmp_path.iterdir()) == []
    assert len(err) == 1 and err[0].startswith("partbench: error: broker 127.0.0.1:1: unreachable (")
