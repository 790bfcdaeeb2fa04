"""Golden runs over every generated profile, hostile included: no crash, every record accounted
for, the same digest on a second run, and each hostile case lands where docs/pipeline.md says."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.verification.canonical import digest
from bench.verification.process import run
from impls import registry

generator = pytest.importorskip("bench.workloads.generator")
EVENTS = 400


@pytest.fixture(scope="module")
def workloads() -> dict:
    return {name: generator.generate(name, EVENTS, 7) for name in generator.PROFILES}


@pytest.mark.parametrize("profile", [
    pytest.param(name, marks=pytest.mark.slow) if name == "large-properties" else name
    for name in sorted(generator.PROFILES)])
def test_profile_is_processed_deterministically(workloads: dict, profile: str) -> None:
    impl = registry.get("reference")
    first = run(impl, workloads[profile], batch_size=100)
    second = run(impl, workloads[profile], batch_size=100)
    assert sum(first.outcomes.values()) == EVENTS
    assert first.outcomes.get("event", 0) > 0
    assert digest(first.streams, first.outcomes) == digest(second.streams, second.outcomes)
    assert first.streams == second.streams   # byte-identical, not only canonically equal


def test_hostile_cases_land_where_documented(workloads: dict) -> None:
    workload = workloads["hostile"]
    cases = workload.header["origin"]["hostile_cases"]
    out = run(registry.get("reference"), workload)
    dlq = Counter(json.loads(r)["dlq_reason"] for r in out.streams["dlq"])
    # each injected case is present and reaches its documented outcome
    assert dlq["invalid_utf8"] == cases["invalid_utf8"]
    assert dlq["json_too_deep"] == cases["deep_nesting"]
    assert dlq["empty_value"] == cases["null_value"]
    assert dlq["invalid_json"] == cases["malformed_value_json"]
    assert dlq["invalid_data"] >= cases["malformed_data_json"]
    assert dlq["empty_uuid"] + dlq["invalid_uuid"] == cases["missing_uuid"] + cases["invalid_uuid"]
    assert out.outcomes["drop:missing_token"] == cases["missing_token"]
    assert out.outcomes["drop:unknown_token"] == cases["unknown_token"]
    assert out.outcomes["drop:group_key_too_long"] == cases["oversized_group_key"]
    assert out.outcomes["drop:missing_distinct_id"] >= cases["missing_distinct_id"]
    events = [json.loads(r) for r in out.streams["events"]]
    assert max(len(e["event"]) for e in events) == 200
    warnings = Counter(json.loads(r)["type"] for r in out.streams["ingestion_warnings"])
    assert warnings["ignored_invalid_timestamp"] > 0
    for rows in out.streams.values():
        for row in rows:
            row.decode("ascii")   # lone surrogates and NULs come out escaped
