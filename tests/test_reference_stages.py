"""validate, overflow, normalize, groups, heatmaps, create_event (elements chain) rules."""

from __future__ import annotations

from impls.reference import ReferencePipeline
from impls.reference.elements import element_to_string, elements_chain
from impls.reference.overflow import TokenBuckets
from tests.test_reference_support import TEAM, TOKEN, context, make_record, one_event, run_batch


def test_restrictions() -> None:
    restrictions = [
        {"token": TOKEN, "distinct_id": "dropped", "action": "drop"},
        {"token": TOKEN, "distinct_id": "dropped", "action": "dlq"},
        {"token": TOKEN, "distinct_id": "dead", "action": "dlq"},
        {"token": TOKEN, "distinct_id": "hot", "action": "force_overflow"},
        {"token": TOKEN, "distinct_id": None, "action": "skip_person_processing"},
    ]
    streams, outcomes = run_batch(
        [make_record(distinct_id=d) for d in ("dropped", "dead", "hot", "other")], context(restrictions=restrictions))
    assert outcomes == {"drop:restricted": 1, "dlq": 1, "overflow": 1, "event": 1}
    assert streams["dlq"][0]["dlq_reason"] == "restricted" and streams["dlq"][0]["dlq_step"] == "validate"
    assert streams["overflow"][0]["reason"] == "forced"
    assert streams["events"][0]["person_mode"] == "propertyless"   # skip_person_processing for every id


def test_old_events_dropped_per_team_setting() -> None:
    team = {**TEAM, "drop_events_older_than_s": 3600}
    streams, outcomes = run_batch([make_record({"timestamp": "2026-11-27T08:59:59Z"}),
                                   make_record({"timestamp": "2026-11-27T09:00:00Z"}),
                                   make_record({"timestamp": "garbage"})], context(teams=[team]))
    assert outcomes == {"drop:old_event": 1, "event": 2}
    assert [w["type"] for w in streams["ingestion_warnings"]] == ["ignored_invalid_timestamp"]


def test_oversized_group_key_dropped() -> None:
    def gi(key: str):
        return make_record({"event": "$groupidentify", "properties": {"$group_type": "company", "$group_key": key}})
    _, outcomes = run_batch([gi("k" * 401), gi("k" * 400)])
    assert outcomes == {"drop:group_key_too_long": 1, "event": 1}


def test_token_bucket_on_message_time() -> None:
    buckets = TokenBuckets(capacity=2, replenish_per_s=1.0)
    assert [buckets.take("k", 0) for _ in range(3)] == [True, True, False]
    assert buckets.take("k", 500) is False          # half a token
    assert buckets.take("k", 1000) is True          # a whole token after one second
    assert buckets.take("k", 900) is False          # time going backwards replenishes nothing
    assert buckets.take("other", 0) is True
    assert buckets.take("k", 100_000) and buckets.take("k", 100_000) and not buckets.take("k", 100_000)


def test_overflow_routing_persists_across_batches() -> None:
    pipeline = ReferencePipeline(context(settings={"overflow_bucket_capacity": 2, "overflow_replenish_per_s": 1.0}))
    streams, outcomes = run_batch([make_record() for _ in range(3)], pipeline=pipeline)
    assert outcomes == {"event": 2, "overflow": 1}
    record = streams["overflow"][0]
    assert record["reason"] == "rate_limited" and record["key_b64"] == "cGhjX3Rlc3Q6dXNlci0x"
    _, outcomes = run_batch([make_record()], pipeline=pipeline)    # same `now`: still empty
    assert outcomes == {"overflow": 1}
    _, outcomes = run_batch([make_record() for _ in range(3)], ctx=context(settings={"overflow_enabled": False,
                                                                                    "overflow_bucket_capacity": 1}))
    assert outcomes == {"event": 3}


def test_initial_and_campaign_properties() -> None:
    props = one_event({"properties": {"$browser": "Chrome", "utm_source": "news", "$os_name": "Linux", "x": 1,
                                      "$set": {"$browser": "Firefox"}, "$set_once": {"$initial_browser": None}}})[
        "properties"]
    assert props["$set"] == {"$browser": "Firefox", "utm_source": "news", "$os": "Linux"}
    assert props["$set_once"] == {"$initial_browser": "Chrome", "$initial_utm_source": "news", "$initial_os": "Linux"}
    assert props["$os"] == "Linux"
    assert "$set" not in one_event({"event": "$snapshot", "properties": {"$browser": "C"}})["properties"]
    gi = one_event({"event": "$groupidentify", "properties": {"$browser": "C"}, "$set": {"a": 1}})["properties"]
    assert "$set" not in gi and "$set_once" not in gi


def test_groups_properties_and_upserts() -> None:
    pipeline = ReferencePipeline(context(groups=[{"team_id": 2, "group_type_index": 0, "group_key": "acme",
                                                  "group_properties": {"n": 1}, "created_at": "2026-01-01T00:00:00Z",
                                                  "version": 4}]))
    streams, _ = run_batch([
        make_record({"properties": {"$groups": {"company": "acme", "unknown": "x", "project": 7}}}),
        make_record({"event": "$groupidentify", "properties": {"$group_type": "company", "$group_key": "acme",
                                                               "$group_set": {"n": 1.0, "m": 2}}}),
        make_record({"event": "$groupidentify", "properties": {"$group_type": "project", "$group_key": 7}}),
        make_record({"event": "$groupidentify", "properties": {"$group_type": "company", "$group_key": "acme",
                                                               "$group_set": {"n": 1}}}),
    ], pipeline=pipeline)
    props = streams["events"][0]["properties"]
    assert props["$group_0"] == "acme" and props["$group_1"] == 7 and "$group_2" not in props
    acme, project = streams["groups"]
    assert acme["version"] == 5 and acme["group_properties"] == {"n": 1, "m": 2}
    assert acme["created_at"] == "2026-01-01 00:00:00.000"
    assert project == {"team_id": 2, "group_type_index": 1, "group_key": "7", "group_properties": {},
                       "created_at": "2026-11-27 10:00:00.000", "version": 0}


def test_heatmaps() -> None:
    data = {"https://a/x": [{"x": 33, "y": 16, "target_fixed": True, "type": "click"},
                            {"x": "bad", "y": 1, "type": "click"}, {"x": 1.5, "y": -17, "type": "mousemove"}],
            "https://a/y": "not a list"}
    streams, outcomes = run_batch([
        make_record({"event": "$$heatmap", "properties": {"$heatmap_data": data, "$viewport_width": 1000,
                                                          "$session_id": "s1"}}),
        make_record({"event": "$pageview", "properties": {"$heatmap_data": data}}),
    ])
    assert outcomes == {"heatmap": 1, "event": 1}
    rows = streams["heatmaps"]
    assert len(rows) == 4
    assert rows[0] == {"session_id": "s1", "team_id": 2, "distinct_id": "user-1", "timestamp": "2026-11-27 10:00:00.000",
                       "scale_factor": 16, "viewport_width": 63, "viewport_height": 0, "x": 3, "y": 1,
                       "pointer_target_fixed": True, "current_url": "https://a/x", "type": "click"}
    assert (rows[1]["x"], rows[1]["y"], rows[1]["pointer_target_fixed"]) == (1, -1, False)
    assert "$heatmap_data" not in streams["events"][0]["properties"]


def test_elements_chain_from_elements() -> None:
    element = {"tag_name": "a", "$el_text": "Sign up", "attr__class": "btn btn-primary", "nth_child": 2,
               "nth_of_type": 1, "attr__href": "/signup", "attr__data-x": 'say "hi"'}
    assert element_to_string(element) == (
        'a.btn.btn-primary:text="Sign up"nth-child="2"nth-of-type="1"href="/signup"'
        'attr__class="btn btn-primary"attr__href="/signup"attr__data-x="say \\"hi\\""')
    assert element_to_string({"classes": ["z", "a"], "attr__id": "i"}) == \
        '.a.z:nth-child="0"nth-of-type="0"attr_id="i"attr__id="i"'
    props = {"$elements": [{"tag_name": "div"}, "junk", {"tag_name": "body", "nth_child": 1.0}], "k": 1}
    assert elements_chain(props) == 'div:nth-child="0"nth-of-type="0";body:nth-child="1.0"nth-of-type="0"'
    assert props == {"k": 1}
    assert elements_chain({"$elements_chain": "x:y", "$elements": [{"tag_name": "a"}]}) == "x:y"


def test_event_row_shape_and_anonymize_ips() -> None:
    row = one_event({"properties": {"$elements_chain": "a:b", "$ip": "1.2.3.4"}})
    assert set(row) == {"uuid", "event", "properties", "timestamp", "team_id", "project_id", "distinct_id",
                        "elements_chain", "created_at", "captured_at", "person_id", "person_properties",
                        "person_created_at", "person_mode"}
    assert row["project_id"] == 3 and row["elements_chain"] == "a:b" and "$elements_chain" not in row["properties"]
    streams, _ = run_batch([make_record()], context(teams=[{**TEAM, "anonymize_ips": True}]))
    assert "$ip" not in streams["events"][0]["properties"]


def test_ai_events_go_to_both_streams() -> None:
    streams, _ = run_batch([make_record({"event": "$ai_generation"}), make_record({"event": "other"})])
    assert len(streams["events"]) == 2 and [e["event"] for e in streams["ai_events"]] == ["$ai_generation"]
