"""Property definitions: type detection by each rule, candidates, dedup and order."""

from __future__ import annotations

import pytest

from impls.reference.properties import detect_type, likely_date
from tests.test_reference_support import NOW_MS, make_record, run_batch


@pytest.mark.parametrize(("name", "value", "expected"), [
    # rule 1: forced String
    ("utm_source", 5, "String"), ("UTM_medium", True, "String"), ("$initial_utm_campaign", 1.5, "String"),
    ("$feature/new-ui", True, "String"), ("$feature_flag_response", False, "String"),
    ("$survey_response_2", 4, "String"),
    # rule 2: date-ish names
    ("created_at", "2026-11-27T10:00:00Z", "DateTime"), ("signupDate", "2026-11-27", "DateTime"),
    ("$time", NOW_MS / 1000 - 100, "DateTime"), ("updatedAt", NOW_MS, "DateTime"),
    ("$time", NOW_MS / 1000 - 15_768_001, "Numeric"),       # older than six months: falls through
    ("last-at", "Fri, 27 Nov 2026 10:00:00 +0000", "DateTime"),
    ("timeout", "soon", "String"), ("date_flag", "true", "Boolean"),
    # rule 3: strings
    ("flag", "true", "Boolean"), ("flag", "FALSE", "Boolean"), ("flag", "True", "String"),
    ("when", "2026/11/27 10:00:00", "DateTime"), ("when", "27-11-2026", "DateTime"),
    ("when", "2026-11-27T10:00:00+01:00", "DateTime"), ("name", "Ana", "String"), ("name", "", "String"),
    # rule 4: other types
    ("n", 3, "Numeric"), ("n", 2.5, "Numeric"), ("b", False, "Boolean"), ("x", None, None),
    ("x", [1], None), ("x", {"a": 1}, None),
])
def test_detect_type(name: str, value: object, expected: str | None) -> None:
    assert detect_type(name, value, NOW_MS) == expected


def test_likely_date() -> None:
    assert likely_date("2026-11-27 10:00:00 and more")      # the pattern allows any tail
    assert likely_date("2026-11-27T10:00:00")
    assert likely_date("2026-19-39")                        # the pattern does not check the calendar
    assert likely_date("2026-11-27")
    assert not likely_date("27/11/26")


def defs(records: list) -> list[tuple]:
    streams, _ = run_batch(records)
    return [(d["type"], d["group_type_index"], d["name"], d["property_type"])
            for d in streams["property_definitions"]]


def test_candidates_exclusions_dedup_and_order() -> None:
    rows = defs([
        make_record({"properties": {"zeta": 1, "alpha": "x", "$feature/f": True, "$feature_enrollment/e": 1,
                                    "$groups": {"company": "acme"}, "$unset": ["q"], "long" + "x" * 200: 1},
                     "$set": {"plan": "pro"}, "$set_once": {"plan": 5, "first": "2026-11-27"}}),
        make_record({"properties": {"zeta": "now a string", "beta": True}}),
    ])
    assert rows == [
        ("event", None, "$ip", "String"),
        ("event", None, "alpha", "String"),
        ("event", None, "beta", "Boolean"),
        ("event", None, "zeta", "Numeric"),      # first occurrence in the batch wins
        ("person", None, "first", "DateTime"),
        ("person", None, "plan", "String"),      # $set before $set_once
    ]


def test_groupidentify_yields_only_group_properties() -> None:
    rows = defs([make_record({"event": "$groupidentify", "properties": {
        "$group_type": "project", "$group_key": "p1", "$group_set": {"size": 3}, "other": 1}})])
    assert rows == [("group", 1, "size", "Numeric")]


def test_event_with_too_many_properties_yields_none() -> None:
    rows = defs([make_record({"properties": {f"k{i}": i for i in range(10_001)}})])
    assert rows == []
