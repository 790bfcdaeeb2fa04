"""The generator: determinism, realistic message shape, and each profile's defining property."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import orjson
import pytest

from bench.workloads import generator
from bench.workloads.gen_hostile import FRACTIONS
from impls.base import Record
from tests.fixtures_workloads import small_workload

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _decode(record: Record) -> tuple[dict[str, Any], dict[str, Any]]:
    outer = orjson.loads(record.value)
    return outer, orjson.loads(outer["data"])


def _parsed(workload) -> list[tuple[Record, dict[str, Any], dict[str, Any]]]:
    return [(r, *_decode(r)) for r in workload.records]


def test_profiles_are_the_agreed_ones() -> None:
    assert set(generator.PROFILES) >= {"general", "hot-key", "identify-heavy", "large-properties",
                                       "personless", "hostile"}


@pytest.mark.parametrize("profile", sorted(generator.PROFILES))
def test_same_seed_same_records_other_seed_other_records(profile: str) -> None:
    a = generator.generate(profile, 120, 5)
    b = generator.generate(profile, 120, 5)
    c = generator.generate(profile, 120, 6)
    assert a.records == b.records and a.header == b.header
    assert a.records != c.records
    assert len(a.records) == 120 == a.header["record_count"]


def test_unknown_profile_and_bad_counts() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        generator.generate("nope", 10, 1)
    with pytest.raises(ValueError):
        generator.generate("general", 0, 1)
    with pytest.raises(ValueError, match="hostile profile needs"):
        generator.generate("hostile", 10, 1)


def test_message_shape_matches_capture() -> None:
    w = small_workload("general")
    tokens = {t["api_token"] for t in w.header["teams"]}
    offsets = [r.offset for r in w.records]
    assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
    for record, outer, data in _parsed(w):
        headers = dict(record.headers)
        assert {"token", "distinct_id", "timestamp", "event", "uuid", "now"} <= set(headers)
        assert all(isinstance(v, bytes) for v in headers.values())
        assert record.key == f"{outer['token']}:{outer['distinct_id']}".encode()
        assert headers["distinct_id"].decode() == outer["distinct_id"]
        assert outer["token"] in tokens
        assert list(outer)[:4] == ["uuid", "distinct_id", "ip", "data"]
        assert {"now", "sent_at", "token", "event"} <= set(outer)
        assert UUID.match(outer["uuid"]) and data["uuid"] == outer["uuid"]
        assert data["event"] == outer["event"] == headers["event"].decode()
        assert isinstance(data["properties"], dict)
        assert ("offset" in data) != ("timestamp" in data)  # browser: offset; server SDKs: timestamp
        assert int(headers["timestamp"]) > 0


def test_event_mix_covers_the_listed_events() -> None:
    w = generator.generate("general", 3000, 2)
    events = Counter(o["event"] for _, o, _ in _parsed(w))
    for name in ("$pageview", "$autocapture", "$pageleave", "$identify", "$create_alias", "$merge_dangerously",
                 "$set", "$groupidentify", "$exception", "$ai_generation", "$$heatmap", "$feature_flag_called"):
        assert events[name] > 0, name
    customs = [e for e in events if not e.startswith("$")]
    assert len(customs) >= 8
    props = [d["properties"] for _, _, d in _parsed(w)]
    assert any("$elements" in p for p in props) and any("$elements_chain" in p for p in props)
    assert any("$exception_list" in p for p in props)
    assert any(isinstance(p.get("$heatmap_data"), dict) for p in props)
    assert any("$groups" in p for p in props)
    assert any("$unset" in p for p in props)
    assert any("utm_source" in p for p in props)
    assert any(p.get("$process_person_profile") is False for p in props)
    assert any("$set_once" in d for _, _, d in _parsed(w))
    ai = [p for p in props if "$ai_input" in p]
    assert ai and all("$ai_output_choices" in p and "$ai_model" in p for p in ai)


def test_property_counts_and_sizes_are_realistic() -> None:
    w = generator.generate("general", 2000, 3)
    counts = sorted(len(d["properties"]) for _, _, d in _parsed(w))
    median = counts[len(counts) // 2]
    assert 30 <= median <= 150
    assert counts[-1] <= 400
    sizes = sorted(len(r.value) for r in w.records)
    assert 1000 <= sizes[len(sizes) // 2] <= 8000


def test_time_advances_like_a_partition() -> None:
    w = generator.generate("general", 4000, 1)
    ts = [r.timestamp_ms for r in w.records]
    span_s = (max(ts) - min(ts)) / 1000
    assert 0.5 <= span_s <= 8  # ~2,000 events/s on average, in bursts
    # Record timestamps follow capture's arrival order, a few ms of jitter at most.
    assert all(b >= a - 5 for a, b in zip(ts, ts[1:], strict=False))
    offsets = []
    for _, outer, data in _parsed(w):
        assert outer["now"].endswith("+00:00")
        assert outer["sent_at"] is None or outer["sent_at"].endswith("Z")  # posthog-python sends none
        if "offset" in data:
            offsets.append(data["offset"])
    assert offsets and max(offsets) > 1000  # browser queues hold events for seconds, some for hours
    sent = [(o["sent_at"], o["now"]) for _, o, _ in _parsed(w) if o["sent_at"]]
    assert any(s[:19] != n[:19] for s, n in sent)  # client clocks are skewed


def test_person_snapshot_is_realistic() -> None:
    w = generator.generate("general", 2000, 1)
    persons = w.header["persons"]
    ids = [d for p in persons for d in p["distinct_ids"]]
    assert len(ids) == len(set(ids))
    assert any(len(p["distinct_ids"]) > 1 for p in persons)
    assert any(p["is_identified"] for p in persons) and any(not p["is_identified"] for p in persons)
    keys = {r.key.split(b":", 1)[1].decode() for r in w.records}
    known = keys & set(ids)
    assert 0.2 <= len(known) / len(keys) <= 0.95
    for p in persons:
        assert {"team_id", "id", "created_at", "properties", "is_identified", "version", "distinct_ids"} <= set(p)
    teams = w.header["teams"]
    assert any(t["anonymize_ips"] for t in teams) and any(t["group_types"] for t in teams)
    assert any(t["drop_events_older_than_s"] for t in teams)
    assert {r["action"] for r in w.header["restrictions"]} == {"drop", "force_overflow", "dlq",
                                                               "skip_person_processing"}
    assert w.header["groups"]


def test_hot_key_profile_has_one_key_over_30_percent() -> None:
    for seed in (1, 2, 3):
        w = generator.generate("hot-key", 400, seed)
        keys = Counter(r.key for r in w.records)
        key, n = keys.most_common(1)[0]
        assert n / len(w.records) >= 0.30
        assert key.decode() == w.header["origin"]["hot_key"]
    general = Counter(r.key for r in small_workload("general").records)
    assert general.most_common(1)[0][1] / 300 < 0.30


def test_personless_profile_is_mostly_personless() -> None:
    w = small_workload("personless")
    flags = [d["properties"].get("$process_person_profile") for _, _, d in _parsed(w)]
    share = sum(f is False for f in flags) / len(flags)
    assert share >= 0.6
    assert w.header["origin"]["personless_events"] == sum(f is False for f in flags)
    general = [d["properties"].get("$process_person_profile") for _, _, d in _parsed(small_workload("general"))]
    assert sum(f is False for f in general) / len(general) < 0.5


def test_identify_heavy_has_all_merge_kinds() -> None:
    w = generator.generate("identify-heavy", 600, 1)
    cases = w.header["origin"]["merge_cases"]
    for kind in ("neither_exists", "one_exists", "both_exist", "same_person", "illegal_id"):
        assert cases.get(kind, 0) > 0, kind
    parsed = _parsed(w)
    merges = [d for _, _, d in parsed if d["event"] in ("$identify", "$create_alias", "$merge_dangerously")]
    assert len(merges) / len(parsed) >= 0.15
    assert sum(cases.values()) == len(merges)
    illegal = {"anonymous", "guest", "distinct_id", "id", "not_authenticated", "email", "undefined", "true",
               "false", "null", "nan", "[object object]", "0"}
    assert any(str(d["properties"].get("$anon_distinct_id", "")).strip("'\"").lower() in illegal
               or str(d["properties"].get("distinct_id", "")).strip("'\"").lower() in illegal for d in merges)
    # "both exist" needs persons for both ids in the snapshot or created earlier in the partition.
    snapshot_ids = {d for p in w.header["persons"] for d in p["distinct_ids"]}
    assert any(d["properties"].get("$anon_distinct_id") in snapshot_ids and d["properties"]["distinct_id"] in snapshot_ids
               for d in merges if d["event"] == "$identify")


def test_large_properties_profile_is_large() -> None:
    large, general = small_workload("large-properties"), small_workload("general")
    med = lambda w: sorted(len(r.value) for r in w.records)[len(w.records) // 2]  # noqa: E731
    assert med(large) >= 3 * med(general)
    props = [d["properties"] for _, _, d in _parsed(large)]
    assert max(len(p) for p in props) >= 150
    ai = [len(orjson.dumps(p["$ai_input"])) for p in props if "$ai_input" in p]
    assert ai and max(ai) > 10_000


# --- hostile: every case is present, detected from the records themselves ------------------------

def _lenient(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _depth(text: str) -> int:
    depth = best = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            esc, in_str = (False, in_str) if esc else (ch == "\\", ch != '"')
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


def _detect(record: Record, tokens: set[str]) -> set[str]:
    found = set()
    if not record.value:
        return {"null_value"}
    try:
        text = record.value.decode("utf-8")
    except UnicodeDecodeError:
        return {"invalid_utf8"}
    outer = _lenient(text)
    if not isinstance(outer, dict):
        return {"malformed_value_json"}
    data = _lenient(outer["data"]) if isinstance(outer.get("data"), str) else None
    if not isinstance(data, dict):
        if isinstance(outer.get("data"), str) and _depth(outer["data"]) > 60:
            return {"deep_nesting"}
        return {"malformed_data_json"}
    props = data.get("properties", {})
    if "uuid" not in outer:
        found.add("missing_uuid")
    elif not (isinstance(outer["uuid"], str) and UUID.match(outer["uuid"])):
        found.add("invalid_uuid")
    if "token" not in outer:
        found.add("missing_token")
    elif outer["token"] not in tokens:
        found.add("unknown_token")
    if "distinct_id" not in outer:
        found.add("missing_distinct_id")
    elif not isinstance(outer["distinct_id"], str):
        found.add("non_string_distinct_id")
    elif "\u0000" in outer["distinct_id"]:
        found.add("nul_characters")
    if any(0xD800 <= ord(c) <= 0xDFFF for v in props.values() if isinstance(v, str) for c in v):
        found.add("lone_surrogates")
    if any(isinstance(v, int) and abs(v) >= 2**64 or v == float("inf") for v in props.values()):
        found.add("big_integers")
    if _depth(outer["data"]) > 60:
        found.add("deep_nesting")
    ts = data.get("timestamp")
    if "offset" not in data and isinstance(ts, str) and not re.match(r"^[+-]?\d{4,6}-\d\d-\d\dT", ts):
        found.add("invalid_timestamp")
    if isinstance(ts, str) and re.match(r"^(\+\d{6}|-\d{4}|\d{5})-", ts) or \
            isinstance(data.get("offset"), int) and not 0 <= data["offset"] < 10**11:
        found.add("out_of_range_timestamp")
    if isinstance(outer.get("event"), str) and len(outer["event"]) > 200:
        found.add("long_event_name")
    if len(str(props.get("$group_key", ""))) > 400:
        found.add("oversized_group_key")
    return found


def test_hostile_profile_contains_every_case_as_declared() -> None:
    w = small_workload("hostile")
    declared = w.header["origin"]["hostile_cases"]
    assert set(declared) == set(FRACTIONS)
    for case, fraction in FRACTIONS.items():
        assert declared[case] == max(1, round(300 * fraction)), case
    tokens = {t["api_token"] for t in w.header["teams"]}
    seen: Counter[str] = Counter()
    for record in w.records:
        for case in _detect(record, tokens):
            seen[case] += 1
    for case, n in declared.items():
        assert seen[case] >= n, (case, seen[case], n)
    # Mixed with normal events: most records are clean.
    clean = sum(1 for r in w.records if not _detect(r, tokens))
    assert clean >= 0.5 * len(w.records)


def test_hostile_invalid_utf8_and_key_damage_is_in_the_bytes() -> None:
    w = generator.generate("hostile", 2000, 4)
    bad_values = [r for r in w.records if r.value and not _utf8(r.value)]
    assert len(bad_values) == w.header["origin"]["hostile_cases"]["invalid_utf8"]
    assert any(r.key and not _utf8(r.key) for r in bad_values)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
