"""`partbench workload inspect`: what a workload file holds (event mix, key skew, sizes, teams).

Streams the file (constant memory apart from per-record size lists), so it works on workloads
larger than memory. A value that does not parse is counted, not fatal: hostile workloads have them.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bench.workloads import format as workload_format

PERCENTILES = (50, 90, 99)


def parse_json(raw: bytes | str | None) -> Any:
    """orjson, then the stdlib (which accepts lone surrogates and huge integers); None if neither can."""
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _percentiles(values: list[int]) -> dict[str, float]:
    if not values:
        return {}
    arr = np.asarray(values, dtype=np.int64)
    out = {f"p{p}": float(np.percentile(arr, p)) for p in PERCENTILES}
    out["mean"] = round(float(arr.mean()), 1)
    out["max"] = float(arr.max())
    return out


def summarize(path: str | os.PathLike[str], top: int = 10) -> dict[str, Any]:
    """Everything `inspect` shows, as a JSON-ready dict. Raises UserError on unreadable files;
    a checksum mismatch is reported in `checksum.status` instead, since the content still reads."""
    path = Path(path)
    header = workload_format.read_header(path)
    events: Counter[str] = Counter()
    keys: Counter[bytes | None] = Counter()
    tokens: Counter[str] = Counter()
    sizes: list[int] = []
    prop_counts: list[int] = []
    unparsable = null_values = personless = 0
    count = 0
    first_ts = last_ts = None
    checksum: dict[str, Any] = {"status": "ok", "value": None, "detail": ""}
    verified: dict[str, Any] = {}
    try:
        for block in workload_format.iter_record_blocks(path, verified):
            for record in block:
                count += 1
                ts = record.timestamp_ms
                first_ts = ts if first_ts is None else min(first_ts, ts)
                last_ts = ts if last_ts is None else max(last_ts, ts)
                keys[record.key] += 1
                value = record.value
                sizes.append(len(value) if value is not None else 0)
                if not value:
                    null_values += 1
                    events["<null or empty value>"] += 1
                    continue
                outer = parse_json(value)
                if not isinstance(outer, dict):
                    unparsable += 1
                    events["<unparsable value>"] += 1
                    continue
                name = outer.get("event")
                events[name if isinstance(name, str) else "<non-string event>"] += 1
                tok = outer.get("token")
                tokens[tok if isinstance(tok, str) else "<missing>"] += 1
                data = parse_json(outer.get("data")) if isinstance(outer.get("data"), str) else None
                props = data.get("properties") if isinstance(data, dict) else None
                if isinstance(props, dict):
                    prop_counts.append(len(props))
                    if props.get("$process_person_profile") is False:
                        personless += 1
        checksum["value"] = verified["checksum"]
    except workload_format.ChecksumMismatch as exc:
        checksum = {"status": "mismatch", "value": None, "detail": str(exc)}

    teams_by_token = {t.get("api_token"): t for t in header.get("teams", [])}
    team_rows = []
    unknown = Counter({tok: n for tok, n in tokens.items() if tok not in teams_by_token and tok != "<missing>"})
    for tok in unknown:  # one row for all unknown tokens: hostile files have hundreds
        del tokens[tok]
    if unknown:
        tokens[f"<{len(unknown)} unknown tokens>"] = sum(unknown.values())
    for tok, n in tokens.most_common():
        team = teams_by_token.get(tok)
        team_rows.append({
            "team_id": team["id"] if team else None,
            "name": team["name"] if team else ("(no token)" if tok == "<missing>" else "(unknown tokens)"),
            "token": tok, "records": n, "share": n / count if count else 0.0,
            "anonymize_ips": team.get("anonymize_ips") if team else None,
            "group_types": team.get("group_types") if team else None,
            "drop_events_older_than_s": team.get("drop_events_older_than_s") if team else None,
        })
    top_keys = keys.most_common(top)
    return {
        "file": str(path), "name": header.get("name"), "format_version": header.get("format_version"),
        "file_bytes": path.stat().st_size, "origin": header.get("origin", {}),
        "records": count, "header_record_count": header.get("record_count"),
        "time_span": {"first_ms": first_ts, "last_ms": last_ts,
                      "seconds": (last_ts - first_ts) / 1000 if count else 0.0,
                      "records_per_s": count / max((last_ts - first_ts) / 1000, 1e-3) if count > 1 else None},
        "checksum": checksum,
        "event_mix": [{"event": e, "records": n, "share": n / count} for e, n in events.most_common()],
        "key_skew": {
            "distinct_keys": len(keys),
            "top1_share": top_keys[0][1] / count if count else 0.0,
            "top10_share": sum(n for _, n in keys.most_common(10)) / count if count else 0.0,
            "top_keys": [{"key": k.decode("utf-8", "backslashreplace") if k is not None else None,
                          "records": n, "share": n / count} for k, n in top_keys],
        },
        "message_bytes": _percentiles(sizes),
        "properties_per_event": _percentiles(prop_counts),
        "unparsable_values": unparsable, "null_values": null_values,
        "personless_events": personless,
        "teams": team_rows,
        "context": {"teams": len(header.get("teams", [])), "persons": len(header.get("persons", [])),
                    "groups": len(header.get("groups", [])), "restrictions": len(header.get("restrictions", []))},
    }
