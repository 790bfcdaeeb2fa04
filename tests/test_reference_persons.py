"""Persons rules: merges (each case), illegal ids, updates, versions, personless (docs: "Persons")."""

from __future__ import annotations

import pytest

from impls.reference import ReferencePipeline
from impls.reference.persons import apply_updates, is_illegal_id, person_uuid
from tests.test_reference_support import context, make_record, run_batch

P_ANON = {"team_id": 2, "id": "00000000-0000-4000-8000-00000000000a", "created_at": "2026-11-20T10:00:00.000Z",
          "properties": {"a": 1, "shared": "anon"}, "is_identified": False, "version": 3, "distinct_ids": ["anon"]}
P_USER = {"team_id": 2, "id": "00000000-0000-4000-8000-00000000000b", "created_at": "2026-11-21T10:00:00.000Z",
          "properties": {"b": 2, "shared": "user"}, "is_identified": False, "version": 5,
          "distinct_ids": ["user-1", "user-1b"]}


def identify(other: str = "anon", name: str = "$identify", **data: object):
    key = "$anon_distinct_id" if name == "$identify" else "alias"
    return make_record({"event": name, "properties": {key: other}, **data})


def test_person_uuid_is_uuidv5_of_team_and_distinct_id() -> None:
    import uuid
    ns = uuid.UUID("932979b4-65c3-4424-8467-0b66ec27bc22")
    assert person_uuid(2, "user-1") == str(uuid.uuid5(ns, "2:user-1"))
    assert person_uuid(2, "a\ud800") == person_uuid(2, "a\ud800")  # lone surrogate: no error


def test_new_person_for_unknown_distinct_id() -> None:
    streams, _ = run_batch([make_record({"$set": {"email": "a@b"}, "timestamp": "2026-11-27T09:00:00Z"})])
    row, person = streams["events"][0], streams["persons"][0]
    assert row["person_id"] == person["id"] == person_uuid(2, "user-1")
    assert row["person_mode"] == "full" and row["person_properties"] == {"email": "a@b"}
    assert row["person_created_at"] == "2026-11-27 09:00:00" == person["created_at"]
    assert person["version"] == 0 and person["is_identified"] == 0
    assert streams["distinct_ids"] == [{"distinct_id": "user-1", "person_id": person["id"], "team_id": 2,
                                        "version": 0, "is_deleted": 0}]


def test_merge_neither_exists_creates_one_identified_person() -> None:
    streams, _ = run_batch([identify()])
    [person] = streams["persons"]
    assert person["id"] == person_uuid(2, "user-1") and person["is_identified"] == 1 and person["version"] == 0
    assert [d["distinct_id"] for d in streams["distinct_ids"]] == ["user-1", "anon"]


def test_merge_one_exists_adds_the_other_id() -> None:
    streams, _ = run_batch([identify()], context(persons=[P_ANON]))
    [person] = streams["persons"]
    assert person["id"] == P_ANON["id"] and person["is_identified"] == 1 and person["version"] == 4
    assert streams["distinct_ids"] == [{"distinct_id": "user-1", "person_id": P_ANON["id"], "team_id": 2,
                                        "version": 0, "is_deleted": 0}]
    assert streams["events"][0]["person_id"] == P_ANON["id"]


def test_merge_both_exist_moves_ids_and_deletes_the_other() -> None:
    streams, _ = run_batch([identify(**{"$set": {"c": 3}})], context(persons=[P_ANON, P_USER]))
    into, deleted = streams["persons"]
    assert into["id"] == P_USER["id"] and into["version"] == 6 and into["is_identified"] == 1
    assert into["properties"] == {"a": 1, "shared": "user", "b": 2, "c": 3}   # into wins, then $set
    assert into["created_at"] == "2026-11-20 10:00:00"                         # min of both
    assert deleted["id"] == P_ANON["id"] and deleted["is_deleted"] == 1 and deleted["version"] == 103
    assert streams["distinct_ids"] == [{"distinct_id": "anon", "person_id": P_USER["id"], "team_id": 2,
                                        "version": 1, "is_deleted": 0}]


def test_merge_refused_when_other_is_identified_unless_dangerous() -> None:
    identified = {**P_ANON, "is_identified": True}
    streams, _ = run_batch([identify()], context(persons=[identified, P_USER]))
    assert streams["persons"] == [] and streams["distinct_ids"] == []
    assert [w["type"] for w in streams["ingestion_warnings"]] == ["cannot_merge_already_identified"]
    assert streams["ingestion_warnings"][0]["details"]["sourcePersonDistinctId"] == "anon"
    streams, _ = run_batch([identify(name="$merge_dangerously")], context(persons=[identified, P_USER]))
    assert [p["is_deleted"] for p in streams["persons"]] == [0, 1]


def test_merge_same_person_or_same_id_does_nothing() -> None:
    streams, _ = run_batch([identify("user-1b")], context(persons=[P_USER]))
    assert streams["persons"] == [] and streams["distinct_ids"] == []
    streams, _ = run_batch([identify("user-1")], context(persons=[P_USER]))
    assert streams["persons"] == [] and streams["ingestion_warnings"] == []


def test_create_alias_merges_properties_alias() -> None:
    streams, _ = run_batch([identify("anon", name="$create_alias")], context(persons=[P_ANON, P_USER]))
    assert [p["id"] for p in streams["persons"]] == [P_USER["id"], P_ANON["id"]]


@pytest.mark.parametrize("value", ["anonymous", "GUEST", " null ", '"undefined"', "'none'", "0", "NaN",
                                   "[object Object]", "", "   ", "Distinct_ID", "true"])
def test_illegal_ids(value: str) -> None:
    assert is_illegal_id(value)


@pytest.mark.parametrize("value", ["user-1", "None0", "nulls", "0.0", "Null", "ÑaN"])
def test_legal_ids(value: str) -> None:
    assert not is_illegal_id(value)


def test_illegal_id_skips_merge_with_warning() -> None:
    streams, _ = run_batch([identify("null")])
    assert [w["type"] for w in streams["ingestion_warnings"]] == ["cannot_merge_with_illegal_distinct_id"]
    assert streams["ingestion_warnings"][0]["details"]["illegalDistinctId"] == "null"
    assert [d["distinct_id"] for d in streams["distinct_ids"]] == ["user-1"]   # only the event's own


def test_update_rules() -> None:
    current = {"a": 1, "b": "x", "n": 1}
    updated, _ = apply_updates(current, {"b": "y", "n": 1.0}, {"a": 9, "c": 3}, ["a", "zz"])
    assert updated == {"b": "y", "n": 1, "c": 3}   # set_once only when absent; 1.0 == 1 unchanged; unset
    assert apply_updates(current, {"a": 1}, {"a": 2}, []) == (None, True)
    updated, _ = apply_updates({"flag": 1}, {"flag": True}, {}, [])
    assert updated == {"flag": True}               # a bool is never equal to a number


def test_version_bumps_once_per_changing_event() -> None:
    pipeline = ReferencePipeline(context(persons=[P_USER]))
    streams, _ = run_batch([make_record({"$set": {"x": 1}}), make_record({"$set": {"x": 1}}),
                            make_record({"properties": {"$unset": ["b"]}, "$set": {"x": 2}})], pipeline=pipeline)
    [person] = streams["persons"]
    assert person["version"] == 7 and person["properties"] == {"shared": "user", "x": 2}
    assert [e["person_properties"]["x"] for e in streams["events"]] == [1, 1, 2]


def test_filtered_first_write_happens_because_of_set_once() -> None:
    pipeline = ReferencePipeline(context(persons=[P_USER]))
    streams, _ = run_batch([make_record({"event": "$pageview", "properties": {"$current_url": "https://n"}})],
                           pipeline=pipeline)
    assert streams["persons"][0]["version"] == 6
    streams, _ = run_batch([make_record({"event": "$pageview", "properties": {"$current_url": "https://m"}})],
                           pipeline=pipeline)
    assert streams["persons"] == []
    assert streams["events"][0]["person_properties"]["$current_url"] == "https://m"
    streams, _ = run_batch([make_record({"event": "$set", "properties": {"$set": {"$current_url": "https://m"}}})],
                           pipeline=pipeline)
    assert streams["persons"][0]["version"] == 7    # a person event always writes


def test_personless_events() -> None:
    personless = {"properties": {"$process_person_profile": False}, "$set": {"a": 1}}
    streams, _ = run_batch([make_record(personless)])
    row = streams["events"][0]
    assert row["person_mode"] == "propertyless" and row["person_id"] == person_uuid(2, "user-1")
    assert row["person_properties"] == {} and row["person_created_at"] == "1970-01-01 00:00:05"
    assert "$set" not in row["properties"] and streams["persons"] == []
    # a person created over a minute before the event: force_upgrade with that person
    streams, _ = run_batch([make_record(personless)], context(persons=[P_USER]))
    row = streams["events"][0]
    assert row["person_mode"] == "force_upgrade" and row["person_id"] == P_USER["id"]
    assert row["person_properties"] == P_USER["properties"]
    # ...but not within the minute
    fresh = {**P_USER, "created_at": "2026-11-27T09:59:30.000Z"}
    streams, _ = run_batch([make_record(personless)], context(persons=[fresh]))
    assert streams["events"][0]["person_mode"] == "propertyless"


def test_person_events_dropped_without_person_processing() -> None:
    records = [make_record({"event": name, "properties": {"$process_person_profile": False}})
               for name in ("$identify", "$create_alias", "$merge_dangerously", "$groupidentify")]
    records.append(make_record({"event": "x"}, headers=(("force_disable_person_processing", b"true"),)))
    _, outcomes = run_batch(records)
    assert outcomes == {"drop:person_processing_disabled": 4, "event": 1}


def test_state_persists_across_batches() -> None:
    pipeline = ReferencePipeline(context())
    first, _ = run_batch([make_record({"$set": {"a": 1}})], pipeline=pipeline)
    second, _ = run_batch([make_record({"$set": {"a": 2}})], pipeline=pipeline)
    assert first["persons"][0]["version"] == 0 and second["persons"][0]["version"] == 1
    assert second["distinct_ids"] == []
