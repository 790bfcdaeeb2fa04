"""Topic administration: the few calls partbench needs (create topics for runs and tests)."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from bench.errors import UserError
from bench.kafka.config import client_config, redact_text, unreachable

TIMEOUT_S = 10.0


def create_topic(bootstrap: str, topic: str, partitions: int, config: dict[str, str], *,
                 exist_ok: bool = False) -> None:
    """Create `topic` with `partitions` partitions (replication factor: the cluster's default)."""
    create_topics(bootstrap, [topic], partitions, config, exist_ok=exist_ok)


def create_topics(bootstrap: str, topics: list[str], partitions: int, config: dict[str, str], *,
                  exist_ok: bool = False) -> None:
    settings, errors = client_config(bootstrap, config)
    admin = AdminClient(settings)
    try:
        admin.list_topics(timeout=5.0)
    except KafkaException as exc:
        admin.poll(0.1)  # serve the queued log lines and errors that say why
        raise unreachable(bootstrap, errors, exc, config) from None
    futures = admin.create_topics([NewTopic(t, partitions, -1) for t in topics], request_timeout=TIMEOUT_S)
    for topic, future in futures.items():
        try:
            future.result(TIMEOUT_S)
        except KafkaException as exc:
            err = exc.args[0]
            if exist_ok and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise UserError(f"broker {bootstrap}: cannot create topic {topic!r} ({redact_text(err.str(), config)})") from None
