"""Kafka: a local broker for tests and demos, librdkafka settings, workload record/replay,
consumer-group runs of an implementation and the max-sustainable-rate controller."""
