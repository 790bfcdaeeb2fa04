"""The simulated population behind a generated partition: teams, actors (devices/users), and the
initial person and group snapshots the partition starts from."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from bench.workloads import gen_data as D
from bench.workloads.gen_common import date_like, iso_ms_z, token, uuid4, uuid7

DAY_MS = 86_400_000


@dataclass
class TeamSpec:
    team: dict[str, Any]          # the header's team dict
    flavor: str                   # which custom events/hosts it uses: web | saas | ai | shop
    host: str
    sdk_mix: tuple[tuple[str, int], ...]  # (sdk, weight): web | python | node
    identified_only: bool         # browser SDK's person_profiles setting
    server_ip: str
    weight: int                   # share of actors


@dataclass
class Actor:
    idx: int
    spec: TeamSpec
    sdk: str
    anon_id: str
    user_id: str | None
    current_id: str
    identified: bool
    device: dict[str, Any] = field(default_factory=dict)   # constant per device (browser props)
    ip: str = ""
    skew_ms: int = 0              # client clock minus real time
    groups: dict[str, str] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    session_id: str = ""
    window_id: str = ""
    session_props: dict[str, Any] = field(default_factory=dict)
    last_ms: int = 0
    pageview_id: str | None = None
    prev_path: str | None = None
    path: str = "/"
    first_processed: bool = True  # next person-processed event carries $initial_* $set_once
    role: str = "normal"          # normal | hot | restricted-<action> | personless-server | merger
    merge_plan: str | None = None  # identify-heavy: which merge case this actor's identify aims at

    @property
    def token(self) -> str:
        return self.spec.team["api_token"]

    @property
    def team_id(self) -> int:
        return self.spec.team["id"]


def make_teams(rng: random.Random, profile: str) -> list[TeamSpec]:
    """Four teams with different settings, so per-team code paths all run."""
    specs = [
        TeamSpec(_team(rng, 2, "Web shop", {}, False, None), "shop", "shop.example.com",
                 (("web", 85), ("node", 15)), False, "203.0.113.10", 35),
        TeamSpec(_team(rng, 7, "SaaS app", {"company": 0, "project": 1}, False, None), "saas",
                 "app.example.io", (("web", 60), ("python", 40)), False, "198.51.100.7", 35),
        TeamSpec(_team(rng, 11, "AI startup", {"organization": 0}, True, DAY_MS // 1000), "ai",
                 "chat.example.ai", (("web", 45), ("node", 35), ("python", 20)), True, "192.0.2.44", 20),
        TeamSpec(_team(rng, 15, "Marketing site", {}, False, None, opt_out=True), "web",
                 "www.example.net", (("web", 100),), True, "203.0.113.99", 10),
    ]
    if profile == "personless":
        for spec in specs:
            spec.identified_only = True
    return specs


def _team(rng: random.Random, team_id: int, name: str, group_types: dict[str, int], anonymize: bool,
          drop_s: int | None, opt_out: bool = False) -> dict[str, Any]:
    return {"id": team_id, "project_id": team_id, "api_token": token(rng), "name": name,
            "anonymize_ips": anonymize, "group_types": group_types, "drop_events_older_than_s": drop_s,
            "person_processing_opt_out": opt_out}


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def user_id(rng: random.Random, idx: int) -> str:
    """User ids as customers choose them: prefixed ints, emails, plain numbers, UUIDs."""
    kind = rng.randrange(10)
    if kind < 4:
        return f"user_{1000 + idx * 7 + rng.randrange(7)}"
    if kind < 6:
        return f"{rng.choice(D.FIRST_NAMES).lower()}.{rng.choice(D.LAST_NAMES).lower()}{idx}@{rng.choice(D.EMAIL_DOMAINS)}"
    if kind < 8:
        return str(100000 + idx * 13 + rng.randrange(13))
    return uuid4(rng)


def client_ip(rng: random.Random) -> str:
    if rng.random() < 0.08:
        return f"2001:db8:{rng.randrange(65536):x}:{rng.randrange(65536):x}::{rng.randrange(65536):x}"
    return f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def clock_skew(rng: random.Random) -> int:
    """Client clock minus true time: mostly under 2 s, some minutes or hours, a few days off."""
    u = rng.random()
    if u < 0.85:
        return int(rng.gauss(0, 800))
    if u < 0.96:
        return rng.choice((-1, 1)) * rng.randrange(5_000, 600_000)
    if u < 0.995:
        return rng.choice((-1, 1)) * rng.randrange(3_600_000, 12 * 3_600_000)
    return rng.choice((-1, 1)) * rng.randrange(DAY_MS, 40 * DAY_MS)


def browser_device(rng: random.Random, spec: TeamSpec) -> dict[str, Any]:
    """The per-device browser properties (constant across the device's events)."""
    os_, os_ver, browser, bver, device, dtype, ua, _ = rng.choices(D.DEVICES, weights=[d[7] for d in D.DEVICES])[0]
    sw, sh = rng.choice(D.SCREENS[dtype])
    tz, tz_off, lang = rng.choice(D.TIMEZONES)
    props: dict[str, Any] = {"$os": os_}
    if os_ver:
        props["$os_version"] = os_ver
    props["$browser"] = browser
    if device:
        props["$device"] = device
    props.update({
        "$device_type": dtype, "$timezone": tz, "$timezone_offset": tz_off,
        "$raw_user_agent": ua, "$browser_version": bver, "$browser_language": lang,
        "$browser_language_prefix": lang.split("-")[0], "$screen_height": sh, "$screen_width": sw,
        "$viewport_height": sh - rng.randrange(0, 140), "$viewport_width": sw - rng.choice((0, 0, 15, 216)),
        "$lib": "web", "$lib_version": f"1.{rng.randrange(230, 262)}.{rng.randrange(0, 6)}",
        "$configured_session_timeout_ms": 1_800_000,
    })
    if spec.host != "shop.example.com" and rng.random() < 0.3:
        props["$lib_custom_api_host"] = "https://e." + spec.host
    if rng.random() < 0.35:  # an older SDK leaking persisted remote-config flags
        props["$autocapture_disabled_server_side"] = False
        props["$web_vitals_enabled_server_side"] = rng.random() < 0.5
        props["$dead_clicks_enabled_server_side"] = False
        props["$exception_capture_endpoint_suffix"] = "/e/"
    if rng.random() < 0.5:
        props["$config_defaults"] = "2025-05-24"
    return props


def make_actor(rng: random.Random, idx: int, spec: TeamSpec, start_ms: int) -> Actor:
    sdk = _weighted(rng, spec.sdk_mix)
    anon = uuid7(rng, start_ms - rng.randrange(0, 400 * DAY_MS))
    uid = user_id(rng, idx)
    actor = Actor(idx, spec, sdk, anon, uid, anon, False, skew_ms=clock_skew(rng))
    if sdk == "web":
        actor.device = browser_device(rng, spec)
        actor.ip = client_ip(rng)
    else:
        actor.ip = spec.server_ip
        actor.skew_ms = int(rng.gauss(0, 40))  # servers run NTP
        actor.current_id = uid
        actor.identified = True
    group_types = spec.team["group_types"]
    if group_types and rng.random() < 0.8:
        for gtype in group_types:
            actor.groups[gtype] = rng.choice(D.COMPANIES) + ("" if gtype != "project" else f"-{rng.randrange(1, 4)}")
    for key in rng.sample(D.FLAG_KEYS, rng.randrange(0, 5)):
        actor.flags[key] = rng.choice(D.FLAG_VARIANTS)
    return actor


def person_properties(rng: random.Random, actor: Actor, created_ms: int) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if actor.identified or rng.random() < 0.3:
        first = rng.choice(D.FIRST_NAMES)
        props["email"] = actor.user_id if actor.user_id and "@" in actor.user_id else \
            f"{first.lower()}{actor.idx}@{rng.choice(D.EMAIL_DOMAINS)}"
        props["name"] = f"{first} {rng.choice(D.LAST_NAMES)}"
        props["plan"] = rng.choice(D.PLANS)
    if actor.device:
        props.update({"$browser": actor.device["$browser"], "$os": actor.device["$os"],
                      "$initial_browser": actor.device["$browser"], "$initial_os": actor.device["$os"],
                      "$initial_referrer": "$direct", "$initial_referring_domain": "$direct",
                      "$initial_current_url": f"https://{actor.spec.host}/",
                      "$initial_pathname": "/"})
    props["$creator_event_uuid"] = uuid7(rng, created_ms)
    if rng.random() < 0.4:
        props["signup_date"] = date_like(rng, created_ms)
    if rng.random() < 0.2:
        props["company"] = rng.choice(D.COMPANIES)
    return props


def person_record(rng: random.Random, actor: Actor, distinct_ids: list[str], identified: bool,
                  start_ms: int) -> dict[str, Any]:
    created = start_ms - rng.randrange(DAY_MS // 24, 700 * DAY_MS)
    return {"team_id": actor.team_id, "id": uuid4(rng), "created_at": iso_ms_z(created),
            "properties": person_properties(rng, actor, created), "is_identified": identified,
            "version": rng.randrange(0, 12), "distinct_ids": distinct_ids}


def group_snapshot(rng: random.Random, specs: list[TeamSpec], start_ms: int) -> list[dict[str, Any]]:
    groups = []
    for spec in specs:
        for gtype, index in spec.team["group_types"].items():
            for company in D.COMPANIES[: rng.randrange(6, len(D.COMPANIES))]:
                key = company if gtype != "project" else f"{company}-1"
                created = start_ms - rng.randrange(DAY_MS, 500 * DAY_MS)
                groups.append({
                    "team_id": spec.team["id"], "group_type_index": index, "group_key": key,
                    "group_properties": {"name": company.title(), "employees": rng.randrange(2, 5000),
                                         "plan": rng.choice(D.PLANS), "created": date_like(rng, created)},
                    "created_at": iso_ms_z(created), "version": rng.randrange(1, 9)})
    return groups
