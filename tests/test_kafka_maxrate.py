"""The rate controller against a real broker and a consumer of known, limited capacity."""

from __future__ import annotations

import pytest

from bench.kafka.maxrate import MaxRateSpec, find_max_rate
from impls.base import Record
from tests.fixtures_kafka import FAST_GROUP_CONFIG

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_finds_a_rate_between_sustained_and_failed_steps(kafka_broker: str, kafka_topic) -> None:
    topic = kafka_topic(1)
    records = [Record(i, 0, f"k{i % 7}".encode(), (), b"x" * 100) for i in range(500)]
    # The passthrough sleeps 50 ms per batch of at most 20 records: at most ~400 records/s.
    spec = MaxRateSpec(kafka_broker, topic, "bench.kafka.passthrough:IMPLEMENTATION", f"g-{topic}", records,
                       {"teams": [], "persons": [], "settings": {"passthrough_delay_s": 0.05}},
                       dict(FAST_GROUP_CONFIG), workers=1, batch_size=20, start_rate=100, step_s=1.5,
                       sla_p99_ms=2000, max_backlog_s=0.5, ramp=2.0, precision=0.3, max_steps=6)
    outcome = find_max_rate(spec)
    rates = [(s.rate, s.sustained) for s in outcome.steps]
    assert any(ok for _, ok in rates) and any(not ok for _, ok in rates), rates
    assert outcome.best_rate is not None and outcome.best_rate <= 400 * 1.1, rates
    failed = min(r for r, ok in rates if not ok)
    assert outcome.best_rate < failed
    assert sum(outcome.partition_share.values()) > 0
    assert all(w.fatal is None for w in outcome.run.workers)
