"""Stage normalize: person-processing flag, `$set`/`$set_once` initial and campaign properties,
timestamp (computed in validate.apply_timestamp, shared with the old-event check)."""

from __future__ import annotations

from impls.reference.state import EventState
from impls.reference.validate import apply_timestamp

PERSON_EVENTS_NEEDING_PROCESSING = frozenset({"$identify", "$create_alias", "$merge_dangerously", "$groupidentify"})
NO_INITIAL_PROPERTIES_EVENTS = frozenset({"$snapshot", "$performance_event"})

CAMPAIGN_PROPERTIES = (
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "gclid", "gad_source",
    "gclsrc", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "twclid", "li_fat_id", "mc_cid",
    "igshid", "ttclid", "rdt_cid", "epik", "qclid", "sccid", "irclid", "_kx",
)
EVENT_TO_PERSON_PROPERTIES = frozenset((
    "$app_build", "$app_name", "$app_namespace", "$app_version",
    "$browser", "$browser_version", "$device_type", "$current_url", "$pathname", "$os", "$os_name",
    "$os_version", "$referring_domain", "$referrer", "$screen_height", "$screen_width",
    "$viewport_height", "$viewport_width", "$raw_user_agent",
) + CAMPAIGN_PROPERTIES)


def person_processing_enabled(ev: EventState) -> bool:
    assert ev.team is not None
    if ev.skip_person or ev.team.get("person_processing_opt_out"):
        return False
    if ev.headers.get("force_disable_person_processing") == "true":
        return False
    return ev.properties.get("$process_person_profile") is not False


def add_initial_properties(props: dict) -> None:
    """`$set[k] ??= v` and `$set_once["$initial_" + k without its leading "$"] ??= v` for the
    event-to-person keys present (existing values win; `$os_name` only as a fallback for `$os`)."""
    found = [(key, props[key]) for key in props if key in EVENT_TO_PERSON_PROPERTIES]
    if not found:
        return
    to_set = props.get("$set")
    to_set = dict(to_set) if type(to_set) is dict else {}
    to_set_once = props.get("$set_once")
    to_set_once = dict(to_set_once) if type(to_set_once) is dict else {}
    for key, value in found:
        if key == "$os_name":
            continue  # only a fallback alias of $os, below
        if to_set.get(key) is None:
            to_set[key] = value
        initial = "$initial_" + (key[1:] if key.startswith("$") else key)
        if to_set_once.get(initial) is None:
            to_set_once[initial] = value
    os_name = props.get("$os_name")
    if type(os_name) is str and os_name:
        if props.get("$os") is None:
            props["$os"] = os_name
        if to_set.get("$os") is None:
            to_set["$os"] = os_name
        if to_set_once.get("$initial_os") is None:
            to_set_once["$initial_os"] = os_name
    props["$set"] = to_set
    props["$set_once"] = to_set_once


def normalize_event(ev: EventState) -> None:
    ev.person_processing = person_processing_enabled(ev)
    if not ev.person_processing and ev.name in PERSON_EVENTS_NEEDING_PROCESSING:
        ev.outcome = "drop:person_processing_disabled"
        return
    props = ev.properties
    if ev.person_processing and ev.name != "$groupidentify":
        if ev.name not in NO_INITIAL_PROPERTIES_EVENTS:
            add_initial_properties(props)
    else:
        props.pop("$set", None)
        props.pop("$set_once", None)
        props.pop("$unset", None)
    apply_timestamp(ev)
