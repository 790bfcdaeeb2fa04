"""Timestamp rules (docs/pipeline.md, "Timestamps")."""

from __future__ import annotations

import pytest

from impls.reference.timestamps import event_timestamp, format_ms, format_seconds, parse_timestamp
from tests.test_reference_support import NOW, NOW_MS, one_event

H = 3_600_000


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-27T10:00:00Z", "2026-11-27 10:00:00.000"),
    ("2026-11-27T10:00:00.123456Z", "2026-11-27 10:00:00.123"),       # truncated to ms
    ("2026-11-27t10:00:00.5z", "2026-11-27 10:00:00.500"),
    ("2026-11-27T12:00:00+02:00", "2026-11-27 10:00:00.000"),
    ("2026-11-27T12:00:00+02", "2026-11-27 10:00:00.000"),             # ±HH read as ±HH:00
    ("2026-11-27T08:30:00-0130", "2026-11-27 10:00:00.000"),
    ("2026-11-27T10:00:00", "2026-11-27 10:00:00.000"),                # civil time, no zone: UTC
    ("2026-11-27 10:00:00.250", "2026-11-27 10:00:00.250"),            # space separator
    ("2026-11-27T10:00", "2026-11-27 10:00:00.000"),
    ("2026-11-27", "2026-11-27 00:00:00.000"),                         # date only
    ("2026/11/27 10:00:00", "2026-11-27 10:00:00.000"),                # slashes
    ("2026/11/27", "2026-11-27 00:00:00.000"),
    ("Fri, 27 Nov 2026 11:00:00 +0100", "2026-11-27 10:00:00.000"),    # RFC 2822
    ("27 Nov 2026 10:00 GMT", "2026-11-27 10:00:00.000"),
    ("1795773600", "2026-11-27 10:00:00.000"),                         # epoch seconds
    ("1795773600.25", "2026-11-27 10:00:00.250"),
    ("1795773600123", "2026-11-27 10:00:00.123"),                      # epoch milliseconds
    ("2024-02-29T00:00:00Z", "2024-02-29 00:00:00.000"),               # leap day
])
def test_accepted_formats(text: str, expected: str) -> None:
    ms = parse_timestamp(text)
    assert ms is not None and format_ms(ms) == expected


@pytest.mark.parametrize("text", [
    "", "yesterday", "2026-13-01", "2026-02-29", "2026-11-31", "2026-11-27T24:00:00Z", "2026-11-27T10:60:00Z",
    "2026-11-27T10:00:60Z", "2026-11-27T10:00:00+24:00", "2026-11-27T10:00:00 Z", "27 Nov 2026", "١٢٣",
    "2026-11-27T10:00:00.Z", "-1795773600", "1234567890123456",
])
def test_rejected_formats(text: str) -> None:
    assert parse_timestamp(text) is None


def ts(event: dict, properties: dict | None = None) -> tuple[str, list[str]]:
    ms, warnings = event_timestamp(event, properties or {}, NOW_MS)
    return format_ms(ms), warnings


def test_clock_skew_is_corrected_with_sent_at() -> None:
    # the client's clock is 5 s ahead: sent_at 10:00:05 when the server says 10:00:00
    assert ts({"timestamp": "2026-11-27T09:59:59Z", "sent_at": "2026-11-27T10:00:05Z"}) == \
        ("2026-11-27 09:59:54.000", [])


def test_ignore_sent_at_disables_skew() -> None:
    event = {"timestamp": "2026-11-27T09:59:59Z", "sent_at": "2026-11-27T10:00:05Z"}
    assert ts(event, {"$ignore_sent_at": True}) == ("2026-11-27 09:59:59.000", [])


def test_unparseable_sent_at_is_ignored() -> None:
    assert ts({"timestamp": "2026-11-27T09:59:59Z", "sent_at": "soon"}) == ("2026-11-27 09:59:59.000", [])


def test_offset_overrides_timestamp() -> None:
    assert ts({"timestamp": "2020-01-01T00:00:00Z", "offset": 1500}) == ("2026-11-27 09:59:58.500", [])
    assert ts({"offset": "1500"}) == ("2026-11-27 10:00:00.000", [])   # not an integer: ignored


def test_missing_timestamp_is_now_without_warning() -> None:
    assert ts({}) == ("2026-11-27 10:00:00.000", [])
    assert ts({"timestamp": None}) == ("2026-11-27 10:00:00.000", [])


@pytest.mark.parametrize("value", ["not a time", "", 3.5, True, {"a": 1}, -5])
def test_invalid_timestamp_is_now_with_warning(value: object) -> None:
    assert ts({"timestamp": value}) == ("2026-11-27 10:00:00.000", ["ignored_invalid_timestamp"])


def test_integer_timestamp_reads_as_epoch_digits() -> None:
    assert ts({"timestamp": 1795773500000}) == ("2026-11-27 09:58:20.000", [])


def test_future_clamp_after_23_hours() -> None:
    assert ts({"timestamp": "2026-11-28T08:59:59Z"}) == ("2026-11-28 08:59:59.000", [])  # 22:59:59 ahead
    assert ts({"timestamp": "2026-11-28T09:00:00Z"}) == ("2026-11-28 09:00:00.000", [])  # exactly 23 h
    assert ts({"timestamp": "2026-11-28T09:00:00.001Z"}) == ("2026-11-27 10:00:00.000",
                                                             ["event_timestamp_in_future"])


def test_year_out_of_range_becomes_epoch() -> None:
    assert ts({"offset": NOW_MS + 70_000 * 365 * 24 * H // 1000 * 1000}) == \
        ("1970-01-01 00:00:00.000", ["timestamp_out_of_range"])
    # year 0 is still in range
    assert ts({"timestamp": "0000-01-01T00:00:00Z"})[0] == "0000-01-01 00:00:00.000"
    assert ts({"timestamp": "0000-01-01T00:00:00Z", "sent_at": "2026-11-27T10:00:01Z"}) == \
        ("1970-01-01 00:00:00.000", ["timestamp_out_of_range"])


def test_output_formats() -> None:
    assert format_ms(-1) == "1969-12-31 23:59:59.999"
    assert format_seconds(NOW_MS + 999) == "2026-11-27 10:00:00"


def test_event_row_timestamps_come_from_the_message() -> None:
    row = one_event({"timestamp": "2026-11-27T09:00:00Z"}, sent_at=NOW)
    assert row["timestamp"] == "2026-11-27 09:00:00.000"
    assert row["created_at"] == row["captured_at"] == "2026-11-27 10:00:00.000"
