"""Stage heatmaps: `$heatmap_data` pulled out of the properties into heatmap rows."""

from __future__ import annotations

import math
from typing import Any

from impls.reference.state import EventState
from impls.reference.timestamps import format_ms

SCALE_FACTOR = 16
MAX_COORDINATE = 1e9


def _number(value: Any) -> bool:
    return type(value) in (int, float) and -MAX_COORDINATE <= value <= MAX_COORDINATE


def _scaled(value: Any) -> int:
    return math.ceil(value / SCALE_FACTOR) if _number(value) else 0


def extract_heatmaps(ev: EventState) -> None:
    props = ev.properties
    if "$heatmap_data" not in props:
        return
    data = props.pop("$heatmap_data")
    if type(data) is not dict:
        return
    session_id = props.get("$session_id")
    common = {
        "session_id": session_id if type(session_id) is str else "",
        "team_id": ev.team["id"],  # type: ignore[index]
        "distinct_id": ev.distinct_id,
        "timestamp": format_ms(ev.timestamp_ms or 0),
        "scale_factor": SCALE_FACTOR,
        "viewport_width": _scaled(props.get("$viewport_width")),
        "viewport_height": _scaled(props.get("$viewport_height")),
    }
    rows = ev.heatmap_rows
    for url, points in data.items():
        if type(points) is not list:
            continue
        for point in points:
            if type(point) is not dict:
                continue
            x, y, kind = point.get("x"), point.get("y"), point.get("type")
            if not (_number(x) and _number(y) and type(kind) is str):
                continue
            rows.append({**common, "x": _scaled(x), "y": _scaled(y),
                         "pointer_target_fixed": point.get("target_fixed") is True,
                         "current_url": url, "type": kind})
