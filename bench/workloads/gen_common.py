"""Small deterministic helpers for the generator: ids, tokens and time formats from a seeded Random."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def uuid_hex(bits128: int) -> str:
    h = f"{bits128:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7(rng: random.Random, ms: int) -> str:
    """A UUIDv7 for time `ms` (what posthog-js and posthog-node generate)."""
    rand_a = rng.getrandbits(12)
    rand_b = rng.getrandbits(62)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid_hex(value)


def uuid4(rng: random.Random) -> str:
    value = rng.getrandbits(128)
    value = (value & ~(0xF << 76)) | (0x4 << 76)
    value = (value & ~(0b11 << 62)) | (0b10 << 62)
    return uuid_hex(value)


def token(rng: random.Random) -> str:
    """A project API key: `phc_` + 43 base-62 characters."""
    return "phc_" + "".join(rng.choices(BASE62, k=43))


def insert_id(rng: random.Random) -> str:
    return "".join(rng.choices(BASE36, k=16))


def dt(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def iso_ms_z(ms: int) -> str:
    """JavaScript's toISOString(): `2026-11-20T10:00:00.123Z`."""
    d = dt(ms)
    return f"{d:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def iso_us_offset(ms: int, micros: int = 0) -> str:
    """Python's isoformat() / Rust's to_rfc3339 with microseconds: `…T10:00:00.123456+00:00`."""
    d = dt(ms)
    return f"{d:%Y-%m-%dT%H:%M:%S}.{(ms % 1000) * 1000 + micros:06d}+00:00"


def date_like(rng: random.Random, ms: int) -> str | int | float:
    """A date in one of the formats found in real properties (ISO, date only, US, RFC 2822, epoch)."""
    d = dt(ms)
    kind = rng.randrange(8)
    if kind == 0:
        return f"{d:%Y-%m-%d}"
    if kind == 1:
        return iso_ms_z(ms)
    if kind == 2:
        return f"{d:%m/%d/%Y}"
    if kind == 3:
        return f"{d:%a, %d %b %Y %H:%M:%S} GMT"
    if kind == 4:
        return ms // 1000
    if kind == 5:
        return f"{d:%Y-%m-%d %H:%M:%S}"
    if kind == 6:
        return iso_us_offset(ms)
    return round(ms / 1000, 3)
