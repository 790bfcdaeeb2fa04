"""Synthetic partition workloads: `generate(profile, events, seed) -> Workload`.

A simulated population (teams, devices and users, an initial person snapshot) sends requests to
capture; each request's events become consecutive records of one partition. Message time advances
like a real partition (~2,000 events/s on average, in bursts), clients' clocks are skewed, browser
events carry `offset` and some arrive late. Everything comes from one `random.Random` seeded by
(profile, seed), so the same arguments give the same records (and, with the fixed zstd level, the
same file bytes). The distributions are documented in docs/workloads.md.
"""

from __future__ import annotations

import bisect
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.workloads import gen_data as D
from bench.workloads import gen_events as E
from bench.workloads import gen_hostile
from bench.workloads.gen_common import iso_ms_z, iso_us_offset, uuid4, uuid7
from bench.workloads.gen_message import Draft, finish
from bench.workloads.gen_population import (
    DAY_MS,
    Actor,
    group_snapshot,
    make_actor,
    make_teams,
    person_record,
)
from bench.workloads.model import Workload
from impls.base import Record

GENERATOR_VERSION = 2  # bump whenever the same (profile, events, seed) would give different records
START_MS = 1_795_132_800_000  # 2026-11-20T00:00:00Z; the seed moves it by up to a day
BASE_RATE = 2000.0            # events/s, average over bursts

WEB_MIX = {"$pageview": 26, "$autocapture": 24, "$pageleave": 7, "custom": 14, "$$heatmap": 6,
           "$feature_flag_called": 5, "$web_vitals": 3, "$exception": 2, "$rageclick": 1, "$dead_click": 1,
           "$identify": 3, "$set": 2, "$groupidentify": 0.7, "$create_alias": 0.3}
SERVER_MIX = {"custom": 55, "$ai_generation": 0, "$exception": 5, "$groupidentify": 4, "$set": 6,
              "$identify": 1, "$create_alias": 2, "$merge_dangerously": 0.5, "$feature_flag_called": 12}


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    web_mix: dict[str, float] = field(default_factory=lambda: dict(WEB_MIX))
    server_mix: dict[str, float] = field(default_factory=lambda: dict(SERVER_MIX))
    ai_share: float = 12                 # weight of $ai_generation in the AI team's server mix
    events_per_actor: float = 6.0
    zipf_s: float = 1.07
    hot_share: float | None = None       # one key's share of all records
    large: bool = False
    identify_heavy: bool = False
    personless_server_weight: float = 1.0  # relative traffic of fresh-id-per-event server senders
    custom_props: tuple[int, int] = (3, 40)
    hostile: bool = False


def _mix(base: dict[str, float], **changes: float) -> dict[str, float]:
    out = dict(base)
    out.update(changes)
    return out


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("general", "a mixed partition: four teams, browser and server SDKs, Zipf-distributed keys"),
    Profile("hot-key", "one distinct id carries ~36% of the records (drives the overflow bucket)", hot_share=0.36),
    Profile("identify-heavy", "bursts of $identify / $create_alias / $merge_dangerously over an existing person graph",
            web_mix=_mix(WEB_MIX, **{"$identify": 45, "$create_alias": 8, "$set": 8}),
            server_mix=_mix(SERVER_MIX, **{"$identify": 15, "$create_alias": 15, "$merge_dangerously": 6}),
            events_per_actor=2.5, identify_heavy=True),
    Profile("large-properties", "big events: $ai_generation prompts, python $exception frames, long $elements, "
            "heatmaps and 150-600 custom properties",
            web_mix=_mix(WEB_MIX, **{"$autocapture": 30, "$$heatmap": 14, "$exception": 8, "custom": 20}),
            server_mix=_mix(SERVER_MIX, **{"$exception": 15, "custom": 40}), ai_share=60, large=True,
            custom_props=(150, 600)),
    Profile("personless", "mostly anonymous traffic under person_profiles=identified_only plus server events "
            "with $process_person_profile=false",
            web_mix=_mix(WEB_MIX, **{"$identify": 0.3}), personless_server_weight=12.0, events_per_actor=4.0),
    Profile("hostile", "a normal partition with a known fraction of malformed, invalid and oversized records",
            hostile=True),
)}


def _illegal(value: str) -> bool:
    return value.strip().strip("'\"").lower() in {v.strip("'\"").lower() for v in D.ILLEGAL_IDS}


class PersonTracker:
    """Follows the person graph as the generator emits events, to classify merges.

    Classification assumes every event is processed in order (none overflowed or dropped); the
    header reports the counts as the generator's intent (docs/workloads.md).
    """

    def __init__(self) -> None:
        self.person_of: dict[tuple[int, str], int] = {}
        self.ids_of: dict[int, list[str]] = {}
        self.identified: dict[int, bool] = {}
        self.cases: Counter[str] = Counter()

    def add_person(self, team: int, distinct_ids: list[str], identified: bool) -> None:
        pid = len(self.identified)
        self.identified[pid] = identified
        self.ids_of[pid] = list(distinct_ids)
        for did in distinct_ids:
            self.person_of[(team, did)] = pid

    def ensure(self, team: int, did: str) -> None:
        if (team, did) not in self.person_of:
            self.add_person(team, [did], False)

    def merge(self, team: int, into: str, other: str, dangerous: bool) -> str:
        if _illegal(into) or _illegal(other):
            case = "illegal_id"
            if not _illegal(into):
                self.ensure(team, into)
        elif into == other:
            case = "equal_ids"
            self.ensure(team, into)
        else:
            pi, po = self.person_of.get((team, into)), self.person_of.get((team, other))
            if pi is None and po is None:
                case = "neither_exists"
                self.add_person(team, [into, other], True)
            elif pi is None or po is None:
                case = "one_exists"
                pid = pi if pi is not None else po
                missing = into if pi is None else other
                self.person_of[(team, missing)] = pid  # type: ignore[index]
                self.ids_of[pid].append(missing)  # type: ignore[index]
                self.identified[pid] = True  # type: ignore[index]
            elif pi == po:
                case = "same_person"
            elif self.identified[po] and not dangerous:
                case = "both_exist_refused"
            else:
                case = "both_exist"
                for did in self.ids_of.pop(po):
                    self.person_of[(team, did)] = pi
                    self.ids_of[pi].append(did)
                self.identified[pi] = True
        self.cases[case] += 1
        return case


class Generator:
    def __init__(self, profile: Profile, events: int, seed: int) -> None:
        self.p = profile
        self.events = events
        self.seed = seed
        self.rng = random.Random(f"partbench/{profile.name}/{seed}")
        self.start_ms = START_MS + self.rng.randrange(0, DAY_MS)
        self.specs = make_teams(self.rng, profile.name)
        self.tracker = PersonTracker()
        self.persons: list[dict[str, Any]] = []
        self.restrictions: list[dict[str, Any]] = []
        self.event_counts: Counter[str] = Counter()
        self.personless = 0
        self._build_population()

    # --- population -------------------------------------------------------------------------

    def _build_population(self) -> None:
        rng = self.rng
        n = max(24, int(self.events / self.p.events_per_actor))
        weights = [s.weight for s in self.specs]
        self.actors: list[Actor] = []
        for i in range(n):
            spec = rng.choices(self.specs, weights=weights)[0]
            actor = make_actor(rng, i, spec, self.start_ms)
            if actor.sdk == "web":
                actor.device.update(E.super_properties(rng, self.start_ms))
            self.actors.append(actor)
            self._initial_state(actor)
        # Fresh-id-per-event senders (server code capturing without a distinct id).
        for spec in self.specs[1:3]:
            actor = make_actor(rng, len(self.actors), spec, self.start_ms)
            actor.sdk = "python"
            actor.role = "personless-server"
            actor.ip = spec.server_ip
            self.actors.append(actor)
        # Zipf weights over a seeded shuffle of the actors, so the busiest one is any kind.
        order = list(range(len(self.actors)))
        rng.shuffle(order)
        w = [0.0] * len(self.actors)
        for rank, idx in enumerate(order):
            w[idx] = 1.0 / (rank + 1) ** self.p.zipf_s
        for actor in self.actors:
            if actor.role == "personless-server":
                w[actor.idx] = max(w) * 0.15 * self.p.personless_server_weight
        self.cum_weights = []
        total = 0.0
        for x in w:
            total += x
            self.cum_weights.append(total)
        self._pick_special_actors(order)
        self.groups = group_snapshot(rng, self.specs, self.start_ms)

    def _initial_state(self, actor: Actor) -> None:
        """Decide whether the actor is already known (identified, anonymous, a returning user)."""
        rng = self.rng
        team = actor.spec.team
        if team["person_processing_opt_out"]:
            return
        assert actor.user_id is not None
        if actor.sdk != "web":
            if rng.random() < 0.7:
                self._add_person(actor, [actor.user_id], True)
            return
        r = rng.random()
        # identify-heavy: fewer already-identified devices, more anonymous ones whose user exists.
        known_user = 0.6 if self.p.identify_heavy else 0.3
        if self.p.identify_heavy:
            r = r * 0.78 + (0.15 if r > 0.2 else 0.0)
        if r < 0.3:  # identified on this device before
            actor.identified = True
            actor.current_id = actor.user_id
            ids = [actor.user_id, actor.anon_id]
            if rng.random() < 0.3:
                ids.append(uuid7(rng, self.start_ms - rng.randrange(DAY_MS, 300 * DAY_MS)))
            self._add_person(actor, ids, True)
        elif r < 0.55 and not actor.spec.identified_only:  # anonymous, seen before
            self._add_person(actor, [actor.anon_id], False)
            if rng.random() < known_user:  # …and the user exists from another device: identify merges both
                self._add_person(actor, [actor.user_id, uuid7(rng, self.start_ms - DAY_MS)], True)
        elif r < 0.7:  # a returning user on a new device
            self._add_person(actor, [actor.user_id, uuid7(rng, self.start_ms - 2 * DAY_MS)], True)
        elif r < 0.78 and self.p.identify_heavy:  # both ids already on one person: re-identify
            self._add_person(actor, [actor.user_id, actor.anon_id], True)

    def _add_person(self, actor: Actor, distinct_ids: list[str], identified: bool) -> None:
        self.persons.append(person_record(self.rng, actor, distinct_ids, identified, self.start_ms))
        self.tracker.add_person(actor.team_id, distinct_ids, identified)

    def _pick_special_actors(self, order: list[int]) -> None:
        self.hot: Actor | None = None
        if self.p.hot_share:  # a backend job capturing everything under one distinct id
            hot = next((a for a in self.actors if a.sdk == "python" and a.role == "normal"), self.actors[0])
            if hot.sdk != "python":
                hot.sdk, hot.device, hot.ip = "python", {}, hot.spec.server_ip
                hot.current_id, hot.identified = hot.user_id or hot.anon_id, True
            hot.role = "hot"
            self.hot = hot
        candidates = [self.actors[i] for i in reversed(order) if self.actors[i].sdk != "web"
                      and self.actors[i].role == "normal" and not self.actors[i].spec.team["person_processing_opt_out"]]
        for action, actor in zip(("drop", "force_overflow", "dlq", "skip_person_processing"), candidates, strict=False):
            actor.role = "restricted-" + action
            self.restrictions.append({"token": actor.token, "distinct_id": actor.current_id, "action": action})

    def _pick_actor(self, emitted: int, hot_emitted: int) -> Actor:
        rng = self.rng
        if self.hot is not None:
            behind = hot_emitted < self.p.hot_share * max(emitted, 1)  # type: ignore[operator]
            if rng.random() < (0.75 if behind else 0.05):
                return self.hot
        while True:
            idx = bisect.bisect_right(self.cum_weights, rng.random() * self.cum_weights[-1])
            actor = self.actors[min(idx, len(self.actors) - 1)]
            if actor is not self.hot:
                return actor

    # --- events -----------------------------------------------------------------------------

    def _event_name(self, actor: Actor) -> str:
        rng = self.rng
        if actor.role == "personless-server":
            return rng.choice(("custom",) * 7 + ("$exception", "$feature_flag_called", "$feature_flag_called"))
        if actor.role == "hot":
            return "custom"
        mix = self.p.web_mix if actor.sdk == "web" else self.p.server_mix
        names = list(mix)
        weights = [mix[n] for n in names]
        if actor.sdk != "web" and actor.spec.flavor == "ai":
            weights[names.index("$ai_generation")] = self.p.ai_share
        while True:
            name = rng.choices(names, weights=weights)[0]
            # posthog-js identifies once per device; identify-heavy keeps a few repeats (same person).
            if name == "$identify" and actor.sdk == "web" and actor.identified and (
                    not self.p.identify_heavy or rng.random() < 0.9):
                continue
            if name in ("$identify", "$create_alias", "$merge_dangerously") and actor.role != "normal":
                continue
            if name == "$groupidentify" and not actor.spec.team["group_types"]:
                continue
            return name

    def _properties(self, actor: Actor, name: str, ms: int, person: bool) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(event name, properties, top-level fields such as $set) for one event."""
        rng = self.rng
        large = self.p.large
        top: dict[str, Any] = {}
        if actor.sdk == "web":
            if name == "$pageview":
                actor.prev_path = actor.path if actor.pageview_id else None
                if actor.pageview_id:
                    actor.path = rng.choice(D.PATHS)
            props = E.browser_properties(rng, actor, ms, person)
        else:
            props = E.server_properties(rng, actor)
        flavor_events = D.CUSTOM_EVENTS[actor.spec.flavor]
        if name == "custom":
            name = flavor_events[min(int(rng.expovariate(0.6)), len(flavor_events) - 1)]
            props.update(E.custom_properties(rng, ms, *self.p.custom_props))
        elif name in ("$pageview", "$pageleave"):
            props.update(E.pageview_extras(rng, actor, name, ms))
        elif name in ("$autocapture", "$rageclick", "$dead_click"):
            props.update(E.autocapture(rng, actor, name, max_depth=40 if large else 14))
        elif name == "$$heatmap":
            props.update(E.heatmap(rng, actor, large))
        elif name == "$exception":
            props.update(E.exception(rng, actor, large))
        elif name == "$ai_generation":
            props.update(E.ai_generation(rng, ms, large))
        elif name == "$feature_flag_called":
            props.update(E.feature_flag_called(rng, actor, ms))
        elif name == "$web_vitals":
            props.update(E.web_vitals(rng, actor, ms))
        elif name == "$set":
            set_, set_once = E.person_updates(rng, actor, ms)
            props["$set"] = set_
            props["$set_once"] = set_once
            if rng.random() < 0.25:
                props["$unset"] = ["temp_flag", "old_plan"] if rng.random() < 0.5 else {"legacy_id": None}
        elif name == "$groupidentify":
            gtype = rng.choice(list(actor.spec.team["group_types"]))
            key = actor.groups.get(gtype) or rng.choice(D.COMPANIES)
            props.update({"$group_type": gtype, "$group_key": key,
                          "$group_set": {"name": key.title(), "employees": rng.randrange(2, 5000),
                                         "plan": rng.choice(D.PLANS), "updated_at": iso_ms_z(ms)}})
        if actor.sdk == "web" and person and actor.first_processed and name not in ("$$heatmap",):
            top["$set_once"] = E.initial_set_once(actor)
            actor.first_processed = False
        if actor.sdk != "web" and rng.random() < 0.1:
            props["$ip"] = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        return name, props, top

    def _identity(self, actor: Actor, name: str, props: dict[str, Any], top: dict[str, Any], person: bool) -> str:
        """Apply $identify / $create_alias / $merge_dangerously; returns the event's distinct id."""
        rng = self.rng
        team = actor.team_id
        if name == "$identify":
            anon = actor.anon_id if actor.sdk == "web" else uuid4(rng)
            new_id = actor.user_id or actor.current_id
            if self.p.identify_heavy and rng.random() < 0.06:  # illegal ids some SDK users send
                if rng.random() < 0.5:
                    anon = rng.choice(D.ILLEGAL_IDS)
                else:
                    new_id = rng.choice(D.ILLEGAL_IDS)
            props["distinct_id"] = new_id
            props["$anon_distinct_id"] = anon
            set_, set_once = E.person_updates(rng, actor, 0)
            top["$set"] = set_
            top.setdefault("$set_once", {}).update(set_once)
            actor.identified = True
            if not _illegal(new_id):
                actor.current_id = new_id
            self.tracker.merge(team, new_id, anon, False)
            return new_id
        if name in ("$create_alias", "$merge_dangerously"):
            same_team = [a for a in self.actors[:64] if a.team_id == team and a is not actor and a.role == "normal"]
            if name == "$merge_dangerously" or (same_team and rng.random() < 0.3):
                other = rng.choice(same_team).current_id if same_team else uuid4(rng)
            else:
                other = f"crm_{rng.randrange(10**6)}" if rng.random() < 0.7 else actor.anon_id
            props["alias"] = other
            props["distinct_id"] = actor.current_id
            self.tracker.merge(team, actor.current_id, other, name == "$merge_dangerously")
            return actor.current_id
        if person and actor.role in ("normal", "hot"):
            self.tracker.ensure(team, actor.current_id)
        return actor.current_id

    def _person_processing(self, actor: Actor, name: str) -> bool:
        if actor.role == "personless-server" or actor.spec.team["person_processing_opt_out"]:
            return False
        if actor.sdk == "web" and actor.spec.identified_only and not actor.identified:
            return name in ("$identify", "$create_alias", "$set", "$groupidentify")
        return True

    def _draft(self, actor: Actor, name: str, now_ms: int, event_ms: int, sent_ms: int | None,
               offset: int | None) -> Draft:
        rng = self.rng
        person = self._person_processing(actor, name)
        name, props, top = self._properties(actor, name, event_ms + actor.skew_ms, person)
        if actor.role == "personless-server":
            did = uuid4(rng)
        else:
            did = self._identity(actor, name, props, top, person)
        if "distinct_id" in props:
            props["distinct_id"] = did
        if not person:
            props["$process_person_profile"] = False
            self.personless += 1
        if self.p.large and name not in ("$$heatmap",) and rng.random() < 0.4:
            props.update(E.custom_properties(rng, event_ms, *self.p.custom_props))
        uuid = uuid7(rng, event_ms)
        tok = actor.token
        if actor.sdk == "web":
            props["token"] = tok
            if name == "$pageview":
                actor.pageview_id = uuid
                props["$pageview_id"] = uuid
            data: dict[str, Any] = {"uuid": uuid, "event": name, "properties": props}
            data.update(top)
            data["offset"] = offset
            ts_text = None
        else:
            ts_text = iso_us_offset(event_ms + actor.skew_ms) if actor.sdk == "python" else iso_ms_z(event_ms + actor.skew_ms)
            data = {"event": name, "distinct_id": did, "properties": props, "timestamp": ts_text, "uuid": uuid,
                    "type": "capture", "library": "posthog-" + actor.sdk,
                    "library_version": props.get("$lib_version", "")}
            data.update(top)
        now_text = iso_us_offset(now_ms, rng.randrange(1000))
        outer: dict[str, Any] = {"uuid": uuid, "distinct_id": did, "ip": actor.ip, "data": None, "now": now_text,
                                 "sent_at": iso_ms_z(sent_ms) if sent_ms is not None else None, "token": tok,
                                 "event": name}
        if ts_text is not None:
            outer["timestamp"] = ts_text
        computed = self._capture_timestamp(now_ms, event_ms + actor.skew_ms, sent_ms, offset)
        headers = [("token", tok.encode()), ("distinct_id", did.encode())]
        if actor.session_id and actor.sdk == "web":
            headers.append(("session_id", actor.session_id.encode()))
        headers += [("timestamp", str(computed).encode()), ("event", name.encode()), ("uuid", uuid.encode()),
                    ("now", now_text.encode()),
                    ("force_disable_person_processing",
                     b"true" if actor.spec.team["person_processing_opt_out"] else b"false"),
                    ("historical_migration", b"false")]
        self.event_counts[name] += 1
        return Draft(tok, did, outer, data, headers)

    @staticmethod
    def _capture_timestamp(now_ms: int, client_ts: int, sent_ms: int | None, offset: int | None) -> int:
        """What capture computes for the `timestamp` header (see posthog-ingestion notes)."""
        if offset is not None:
            ts = now_ms - offset
        elif sent_ms is not None:
            ts = client_ts - (sent_ms - now_ms)
        else:
            ts = client_ts
        return now_ms if ts - now_ms > 23 * 3_600_000 else ts

    # --- the partition ----------------------------------------------------------------------

    def run(self) -> Workload:
        rng = self.rng
        hostile_plan = gen_hostile.plan(rng, self.events) if self.p.hostile else {}
        hostile_counts: Counter[str] = Counter()
        records: list[Record] = []
        clock = float(self.start_ms)
        burst_end = clock
        rate = BASE_RATE
        offset = rng.randrange(10**6, 10**9)
        hot_emitted = 0
        while len(records) < self.events:
            if clock >= burst_end:  # bursts: the rate changes every ~1.5 s
                burst_end = clock + rng.expovariate(1 / 1500)
                rate = BASE_RATE * min(5.0, max(0.2, rng.lognormvariate(-0.18, 0.6)))
            actor = self._pick_actor(len(records), hot_emitted)
            if actor.sdk == "web":
                k = 1 + min(int(rng.expovariate(0.45)), 15)
            else:
                k = 1 + min(int(rng.expovariate(0.2)), 40) if actor.sdk == "python" else 1 + int(rng.expovariate(1.0))
            k = min(k, self.events - len(records))
            clock += rng.expovariate(rate / 1000 / k)
            now_ms = int(clock)  # capture's receive time: the partition's order
            send_ms = now_ms - 20 - int(rng.expovariate(1 / 60))
            late = 0
            if actor.sdk == "web" and rng.random() < 0.005:  # a phone coming back online
                late = rng.randrange(3_600_000, 48 * 3_600_000)
            spread = [int(rng.random() * (3000 if actor.sdk == "web" else 500)) for _ in range(k)]
            spread.sort(reverse=True)
            sent_ms = send_ms + actor.skew_ms if actor.sdk != "python" else None
            for back in spread:
                event_ms = send_ms - back - late
                draft = self._draft(actor, self._event_name(actor), now_ms, event_ms, sent_ms,
                                    back + late if actor.sdk == "web" else None)
                case = hostile_plan.get(len(records))
                if case:
                    gen_hostile.CASES[case](rng, draft)
                    hostile_counts[case] += 1
                record = finish(draft, offset, now_ms + rng.randrange(0, 3))
                records.append(record)
                offset += 1
                if actor is self.hot:
                    hot_emitted += 1
        return Workload(self.p.name, self._header(records, hostile_counts, hot_emitted), records)

    def _header(self, records: list[Record], hostile_counts: Counter[str], hot_emitted: int) -> dict[str, Any]:
        origin: dict[str, Any] = {
            "kind": "generated", "profile": self.p.name, "events": self.events, "seed": self.seed,
            "generator_version": GENERATOR_VERSION, "start_ms": self.start_ms,
            "end_ms": max(r.timestamp_ms for r in records) if records else self.start_ms,
            "event_counts": dict(sorted(self.event_counts.items())),
            "personless_events": self.personless,
            "merge_cases": dict(sorted(self.tracker.cases.items())),
        }
        if self.hot is not None:
            origin["hot_key"] = f"{self.hot.token}:{self.hot.current_id}"
            origin["hot_key_records"] = hot_emitted
        if self.p.hostile:
            origin["hostile_cases"] = {name: hostile_counts.get(name, 0) for name in gen_hostile.FRACTIONS}
        return {
            "name": self.p.name, "description": self.p.description, "origin": origin,
            "record_count": len(records), "teams": [s.team for s in self.specs], "persons": self.persons,
            "groups": self.groups, "restrictions": self.restrictions,
        }


def generate(profile: str, events: int, seed: int) -> Workload:
    """A workload of `events` records of the named profile; same arguments, same records."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    if events < 1:
        raise ValueError("events must be at least 1")
    return Generator(PROFILES[profile], events, seed).run()

