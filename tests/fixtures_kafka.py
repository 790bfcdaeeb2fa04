"""Kafka broker fixtures (owned by the Kafka subsystem).

One real Kafka-protocol broker (Tansu, in-memory) per test session on a free loopback port,
started and stopped by pid. Tests create their own uniquely named topics, so they don't see
each other's records.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

# Fast group settings: with librdkafka's defaults a fresh group member waits ~23 s for its
# first records on Tansu; these bring it to ~1 s (see docs/kafka.md).
FAST_GROUP_CONFIG: dict[str, str] = {
    "session.timeout.ms": "2000",
    "heartbeat.interval.ms": "300",
}

_topic_ids = itertools.count(1)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bootstrap address (127.0.0.1:PORT) of a broker running for the whole session."""
    from bench.kafka import broker

    log = tmp_path_factory.mktemp("kafka") / "tansu.log"
    running = broker.start(log_path=str(log))
    try:
        yield running.bootstrap
    finally:
        running.stop()


@pytest.fixture
def kafka_topic(kafka_broker: str, request: pytest.FixtureRequest):
    """A factory: `kafka_topic(partitions=4)` creates a fresh topic and returns its name."""
    from bench.kafka.admin import create_topic

    def make(partitions: int = 1) -> str:
        name = f"t{next(_topic_ids)}-{request.node.name[:40]}".replace("[", "_").replace("]", "_")
        create_topic(kafka_broker, name, partitions, {})
        return name

    return make
