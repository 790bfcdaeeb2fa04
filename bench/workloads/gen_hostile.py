"""The `hostile` profile's damage: each case is applied to a known number of otherwise normal events.

Each function takes a finished-but-unserialized `Draft` and damages it in one way. The generator
picks the events (a fixed fraction per case, at seeded random positions) and records the counts in
the header's origin (`hostile_cases`), so tests can check that every case is present.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bench.workloads.gen_common import token as make_token
from bench.workloads.gen_message import MISSING, Draft

# Share of the workload's events damaged by each case (about a third in total).
FRACTIONS: dict[str, float] = {
    "malformed_value_json": 0.02,
    "malformed_data_json": 0.02,
    "missing_uuid": 0.02,
    "invalid_uuid": 0.02,
    "missing_token": 0.02,
    "unknown_token": 0.02,
    "missing_distinct_id": 0.015,
    "non_string_distinct_id": 0.02,
    "nul_characters": 0.02,
    "lone_surrogates": 0.02,
    "big_integers": 0.02,
    "deep_nesting": 0.015,
    "invalid_timestamp": 0.02,
    "out_of_range_timestamp": 0.02,
    "long_event_name": 0.02,
    "oversized_group_key": 0.015,
    "invalid_utf8": 0.02,
    "null_value": 0.01,
}


def _set_distinct_id(draft: Draft, value: object) -> None:
    draft.distinct_id = value
    for target in (draft.outer, draft.data, draft.data.get("properties", {})):
        if "distinct_id" in target or target is draft.outer:
            target["distinct_id"] = value


def malformed_value_json(rng: random.Random, draft: Draft) -> None:
    from bench.workloads.gen_message import finish  # the good value, then cut or corrupt it
    good = finish(draft, 0, 0).value or b"{}"
    kind = rng.randrange(3)
    if kind == 0:
        draft.value = good[: rng.randrange(1, max(2, len(good) - 1))]   # truncated
    elif kind == 1:
        draft.value = good.replace(b'","', b'",,"', 1)                  # stray comma
    else:
        draft.value = b"uuid=" + good                                   # not JSON at all


def malformed_data_json(rng: random.Random, draft: Draft) -> None:
    import orjson
    text = orjson.dumps(draft.data).decode()
    kind = rng.randrange(3)
    if kind == 0:
        draft.data_text = text[: rng.randrange(1, max(2, len(text) - 1))]
    elif kind == 1:
        draft.data_text = text.replace('":', '" ', 1)
    else:
        draft.data_text = "{'event': 'python repr', 'properties': {}}"


def missing_uuid(rng: random.Random, draft: Draft) -> None:
    draft.outer.pop("uuid", None)
    draft.data.pop("uuid", None)
    draft.header("uuid", None)


def invalid_uuid(rng: random.Random, draft: Draft) -> None:
    bad = rng.choice(["", "not-a-uuid", "0196f3a2-7c41-7d2e-9a55", "0196f3a2-7c41-7d2e-9a55-3f0c2b9e4a1z",
                      "{0196f3a2-7c41-7d2e-9a55-3f0c2b9e4a11}x", 12345, None])
    draft.outer["uuid"] = bad
    draft.data["uuid"] = bad
    draft.header("uuid", str(bad).encode() if bad is not None else None)


def missing_token(rng: random.Random, draft: Draft) -> None:
    draft.token = None
    draft.outer.pop("token", None)
    draft.data.pop("token", None)
    draft.data.pop("api_key", None)
    draft.data.get("properties", {}).pop("token", None)
    draft.header("token", None)


def unknown_token(rng: random.Random, draft: Draft) -> None:
    tok = make_token(rng) if rng.random() < 0.7 else "phc_revoked_" + str(rng.randrange(1000))
    draft.token = tok
    draft.outer["token"] = tok
    if "token" in draft.data.get("properties", {}):
        draft.data["properties"]["token"] = tok
    draft.header("token", tok.encode())


def missing_distinct_id(rng: random.Random, draft: Draft) -> None:
    draft.distinct_id = MISSING
    draft.outer.pop("distinct_id", None)
    draft.data.pop("distinct_id", None)
    draft.data.get("properties", {}).pop("distinct_id", None)
    draft.header("distinct_id", None)


def non_string_distinct_id(rng: random.Random, draft: Draft) -> None:
    value = rng.choice([rng.randrange(1, 10**9), 3.5, True, None, {"id": rng.randrange(1000)}, ["a", 1], 0])
    _set_distinct_id(draft, value)
    draft.header("distinct_id", str(value).encode())


def nul_characters(rng: random.Random, draft: Draft) -> None:
    did = draft.distinct_id if isinstance(draft.distinct_id, str) else "user"
    did = did[: len(did) // 2] + "\u0000" + did[len(did) // 2:]
    _set_distinct_id(draft, did)
    draft.header("distinct_id", did.encode())
    props = draft.data.setdefault("properties", {})
    props["comment"] = "before\u0000after"
    props["nul\u0000key"] = "\u0000"


def lone_surrogates(rng: random.Random, draft: Draft) -> None:
    # JSON writers refuse lone surrogates, so the escapes are substituted into the text afterwards.
    props = draft.data.setdefault("properties", {})
    props["title"] = "__LONE_SURROGATE_A__"
    props["emoji_cut"] = "__LONE_SURROGATE_B__"
    draft.inner_subs.append(("__LONE_SURROGATE_A__", '"Caf\\u00e9 \\ud83d broken"'))
    draft.inner_subs.append(("__LONE_SURROGATE_B__", '"\\udc00\\ud800x"'))
    if rng.random() < 0.5:  # in the event name as well (outer, inner and header)
        name = str(draft.outer.get("event", "event")) + "__LONE_SURROGATE_E__"
        draft.outer["event"] = name
        draft.data["event"] = name
        draft.inner_subs.append((name, '"' + name.replace("__LONE_SURROGATE_E__", "\\ud83d") + '"'))
        draft.outer_subs.append((b"__LONE_SURROGATE_E__", b"\\ud83d"))
        draft.header("event", name.replace("__LONE_SURROGATE_E__", "\ud83d").encode("utf-8", "surrogatepass"))


def big_integers(rng: random.Random, draft: Draft) -> None:
    props = draft.data.setdefault("properties", {})
    values = [str(2**64 + rng.randrange(10**6)), str(-(2**70)), "1" + "0" * rng.randrange(25, 60),
              "18446744073709551616", "1e400"]
    for i, raw in enumerate(rng.sample(values, 3)):
        placeholder = f"__BIGINT_{i}__"
        props[f"big_number_{i}"] = placeholder
        draft.inner_subs.append((placeholder, raw))


def deep_nesting(rng: random.Random, draft: Draft) -> None:
    depth = rng.choice((65, 130, 300, 600, 2000))
    opener, closer = ("[", "]") if rng.random() < 0.5 else ('{"a":', "}")
    props = draft.data.setdefault("properties", {})
    props["nested"] = "__DEEP_NESTING__"
    draft.inner_subs.append(("__DEEP_NESTING__", opener * depth + "1" + closer * depth))


def invalid_timestamp(rng: random.Random, draft: Draft) -> None:
    bad = rng.choice(["not a date", "2026-13-45T25:61:00Z", "yesterday", "", "2026/02/30 10:00",
                      "Mon, 32 Foo 2026 99:00:00 GMT", "1.2.3"])
    draft.data.pop("offset", None)
    draft.data["timestamp"] = bad
    draft.outer["timestamp"] = bad


def out_of_range_timestamp(rng: random.Random, draft: Draft) -> None:
    kind = rng.randrange(4)
    if kind == 0:
        draft.data.pop("offset", None)
        draft.data["timestamp"] = draft.outer["timestamp"] = rng.choice(["10000-01-01T00:00:00Z", "+275760-09-13T00:00:00Z"])
    elif kind == 1:
        draft.data.pop("offset", None)
        draft.data["timestamp"] = draft.outer["timestamp"] = "-0001-01-01T00:00:00Z"
    elif kind == 2:
        draft.data["offset"] = rng.choice((10**15, 2**62))             # before year 0
    else:
        draft.data["offset"] = -rng.randrange(2 * 86_400_000, 10**12)  # far in the future


def long_event_name(rng: random.Random, draft: Draft) -> None:
    name = "clicked_" + "very_long_event_name_" * rng.randrange(10, 100)
    draft.outer["event"] = name
    draft.data["event"] = name
    draft.header("event", name.encode())


def oversized_group_key(rng: random.Random, draft: Draft) -> None:
    key = "org_" + "x" * rng.randrange(401, 5000)
    draft.outer["event"] = draft.data["event"] = "$groupidentify"
    draft.header("event", b"$groupidentify")
    props = draft.data.setdefault("properties", {})
    props.update({"$group_type": "company", "$group_key": key, "$group_set": {"name": "Overflowing Org"}})


def invalid_utf8(rng: random.Random, draft: Draft) -> None:
    props = draft.data.setdefault("properties", {})
    props["label"] = "__BAD_UTF8__"
    bad = rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82", b"caf\xe9"])
    draft.outer_subs.append((b"__BAD_UTF8__", bad))
    if rng.random() < 0.3:  # also in the key and the distinct_id header
        did = draft.distinct_id if isinstance(draft.distinct_id, str) else "user"
        tok = draft.token or ""
        draft.key = tok.encode() + b":" + did.encode() + bad
        draft.header("distinct_id", did.encode() + bad)


def null_value(rng: random.Random, draft: Draft) -> None:
    draft.value = None if rng.random() < 0.7 else b""


CASES: dict[str, Callable[[random.Random, Draft], None]] = {
    name: globals()[name] for name in FRACTIONS
}


def plan(rng: random.Random, events: int) -> dict[int, str]:
    """Which event index gets which case: round(events × fraction), at least one of each."""
    if events < 2 * len(FRACTIONS):
        raise ValueError(f"the hostile profile needs at least {2 * len(FRACTIONS)} events")
    counts = {name: max(1, round(events * f)) for name, f in FRACTIONS.items()}
    positions = rng.sample(range(events), sum(counts.values()))
    out: dict[int, str] = {}
    i = 0
    for name, n in counts.items():
        for pos in positions[i: i + n]:
            out[pos] = name
        i += n
    return out
