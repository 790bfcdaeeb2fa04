"""Timestamps as integer epoch milliseconds (UTC): parsing the accepted formats, the capture
rule (clock skew, offset, future clamp, year range) and the output formats.

Pure integer arithmetic (Howard Hinnant's civil-date algorithms) rather than `datetime`, so that
year 0 and negative times behave the same as in any other language.
"""

from __future__ import annotations

import re
from typing import Any

DAY_MS = 86_400_000
FUTURE_LIMIT_MS = 23 * 3_600_000


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return (yoe + era * 400 + (1 if month <= 2 else 0), month, day)


MIN_MS = days_from_civil(0, 1, 1) * DAY_MS          # 0000-01-01T00:00:00.000Z
MAX_MS = days_from_civil(10000, 1, 1) * DAY_MS - 1  # 9999-12-31T23:59:59.999Z


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _to_ms(year: int, month: int, day: int, hour: int, minute: int, second: int, frac: str | None,
           zone_minutes: int) -> int | None:
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    millis = int((frac + "00")[:3]) if frac else 0  # truncated to milliseconds
    return (days_from_civil(year, month, day) * DAY_MS + hour * 3_600_000 + minute * 60_000
            + second * 1000 + millis - zone_minutes * 60_000)


_ZONE = r"(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)"
# F1: ISO 8601 / RFC 3339 and its relatives (date only, space separator, no zone = UTC).
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?" + _ZONE + r"?)?"
)
# F2: slashes, no zone.
_SLASH = re.compile(
    r"([0-9]{4})/([0-9]{2})/([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?)?"
)
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))}
# F3: RFC 2822 (weekday optional and not checked against the date).
_RFC2822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"([0-9]{4}) ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))? ([+-][0-9]{4}|GMT|UTC|UT|Z)"
)
# F4: epoch seconds (integer part < 10^11) or milliseconds.
_EPOCH = re.compile(r"([0-9]{1,15})(?:\.([0-9]+))?")


def _zone_minutes(zone: str | None) -> int | None:
    if not zone or zone in ("Z", "z", "GMT", "UTC", "UT"):
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    if hours > 23 or minutes > 59:
        return None
    return sign * (hours * 60 + minutes)


def parse_iso(text: str, *, zone_required: bool = False) -> int | None:
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    if zone_required and zone is None:
        return None
    offset = _zone_minutes(zone)
    if offset is None:
        return None
    return _to_ms(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                  frac, offset)


def parse_rfc2822(text: str) -> int | None:
    m = _RFC2822.fullmatch(text)
    if m is None:
        return None
    day, month, year, hour, minute, second, zone = m.groups()
    offset = _zone_minutes(zone)
    if offset is None:
        return None
    return _to_ms(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second or 0), None, offset)


def parse_timestamp(text: str) -> int | None:
    """Epoch ms of a timestamp string in one of the accepted formats (tried in order), else None."""
    ms = parse_iso(text)
    if ms is not None:
        return ms
    m = _SLASH.fullmatch(text)
    if m is not None:
        year, month, day, hour, minute, second, frac = m.groups()
        return _to_ms(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                      frac, 0)
    ms = parse_rfc2822(text)
    if ms is not None:
        return ms
    m = _EPOCH.fullmatch(text)
    if m is not None:
        whole, frac = m.groups()
        value = int(whole)
        if value < 10**11:
            return value * 1000 + (int((frac + "00")[:3]) if frac else 0)
        return value
    return None


def parse_timestamp_value(value: Any) -> int | None:
    """A JSON value as a timestamp: strings by format, non-negative integers as epoch digits."""
    if type(value) is str:
        return parse_timestamp(value)
    if type(value) is int and value >= 0:
        return parse_timestamp(str(value))
    return None


def event_timestamp(event: dict[str, Any], properties: dict[str, Any], now_ms: int) -> tuple[int, list[str]]:
    """Capture's parse_event_timestamp: (timestamp ms, warning types raised)."""
    warnings: list[str] = []
    sent_at_ms = None
    if properties.get("$ignore_sent_at") is not True:
        sent_at = event.get("sent_at")
        if type(sent_at) is str:
            sent_at_ms = parse_timestamp(sent_at)
    ts = now_ms
    raw = event.get("timestamp")
    if raw is not None:
        parsed = parse_timestamp_value(raw)
        if parsed is None:
            warnings.append("ignored_invalid_timestamp")
        elif sent_at_ms is not None:
            ts = parsed + (now_ms - sent_at_ms)  # correct the client's clock skew
        else:
            ts = parsed
    offset = event.get("offset")
    if type(offset) is int:
        ts = now_ms - offset
    if ts - now_ms > FUTURE_LIMIT_MS:
        ts = now_ms
        warnings.append("event_timestamp_in_future")
    if ts < MIN_MS or ts > MAX_MS:
        ts = 0
        warnings.append("timestamp_out_of_range")
    return ts, warnings


def format_ms(ms: int) -> str:
    """`YYYY-MM-DD HH:MM:SS.mmm` (UTC), the ClickHouse DateTime64(3) text form."""
    days, rem = divmod(ms, DAY_MS)
    year, month, day = civil_from_days(days)
    secs, millis = divmod(rem, 1000)
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    return f"{year:04d}-{month:02d}-{day:02d} {hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def format_seconds(ms: int) -> str:
    """`YYYY-MM-DD HH:MM:SS` (UTC), milliseconds dropped (floor)."""
    return format_ms(ms)[:19]
