"""Shared fixtures live in tests/fixtures_*.py modules, one per subsystem."""

pytest_plugins = [
    "tests.fixtures_workloads",
    "tests.fixtures_kafka",
    "tests.fixtures_rust",
]
