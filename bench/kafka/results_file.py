"""Write a Kafka run's results file (schema partbench.results/1, source "kafka"), atomically."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from bench.kafka.config import REDACTED, is_secret
from bench.runner import machine
from bench.runner.results import SCHEMA, atomic_write_json, iso_utc, new_run_id, validate

LATEST = Path("results") / "kafka-latest.json"


def redacted_command(argv: list[str]) -> str:
    """The command line as typed, with the values of secret -X settings replaced."""
    out: list[str] = []
    expect_setting = False
    for arg in argv:
        if expect_setting or (arg.startswith("-X") and len(arg) > 2):
            pair = arg if expect_setting else arg[2:]
            key, sep, _ = pair.partition("=")
            if sep and is_secret(key.strip()):
                pair = f"{key}={REDACTED}"
            arg = pair if expect_setting else "-X" + pair
        expect_setting = arg == "-X"
        out.append(arg)
    return "partbench " + shlex.join(out)


def document(results: list[dict[str, Any]], *, mode: str, command: str, settings: dict[str, Any]) -> dict[str, Any]:
    run_id = new_run_id()
    doc = {
        "schema": SCHEMA, "run_id": run_id, "created": iso_utc(), "source": "kafka", "mode": mode,
        "command": command, "machine": machine.collect(str(Path(__file__).resolve().parents[2])),
        "settings": settings, "noise": None, "results": results,
    }
    validate(doc)
    return doc


def write(doc: dict[str, Any], path: str | None) -> Path:
    target = Path(path) if path else Path("results") / f"kafka-{doc['run_id']}.json"
    atomic_write_json(target, doc)
    if path is None:
        atomic_write_json(LATEST, doc)
    return target
