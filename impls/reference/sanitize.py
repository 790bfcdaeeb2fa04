"""Stage sanitize (capture's and the consumer's sanitizeEvent)."""

from __future__ import annotations

from impls.reference.decode import UUID_RE
from impls.reference.state import EventState


def sanitize_event(ev: EventState) -> None:
    ev.distinct_id = ev.distinct_id.replace("\x00", "\ufffd")
    event, props = ev.event, ev.properties
    for key in ("$set", "$set_once"):
        top = event.get(key)
        if type(top) is dict:
            inner = props.get(key)
            # top-level values win over properties' own
            props[key] = {**inner, **top} if type(inner) is dict else dict(top)
    if "$ip" not in props:
        ip = event.get("ip")
        if ip is not None:
            props["$ip"] = ip
    sent_at = event.get("sent_at")
    if type(sent_at) is str and sent_at:
        props["$sent_at"] = sent_at
    session_id = props.get("$session_id")
    if type(session_id) is str and UUID_RE.fullmatch(session_id):
        props["$session_id"] = session_id.lower()
