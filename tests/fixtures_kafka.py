"""Kafka broker fixtures (owned by the Kafka subsystem)."""
