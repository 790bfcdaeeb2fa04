"""What the projection reads: harness results files (docs/results.md) and the scaling cache."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import UserError

SCALING_SCHEMA = "partbench.scaling/1"


def read_json(path: str | Path, what: str) -> Any:
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{p}: no such {what} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{p}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{p}: invalid JSON: line {exc.lineno}: {exc.msg}") from None


@dataclass(frozen=True)
class Measured:
    """One verified harness result usable for a projection."""

    impl: str
    source: str               # "local" or "kafka"
    workload: str
    batch_size: int
    events_per_s: float       # μ_partition
    latency_samples_s: list[float]
    file: str


@dataclass
class Results:
    usable: list[Measured] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)   # one line each: what and why


def _profile_of(workload: str) -> str:
    # The harness names generated workloads by profile, possibly with "-<events>-s<seed>".
    return re.sub(r"-\d+(-s\d+)?$", "", workload)


def load_results(paths: list[str]) -> Results:
    out = Results()
    for path in paths:
        doc = read_json(path, "results")
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
            raise UserError(f"{path}: not a partbench results file (no `results` list)")
        source = str(doc.get("source", "local"))
        for i, r in enumerate(doc["results"]):
            where = f"{path}: results[{i}]"
            if not isinstance(r, dict) or not isinstance(r.get("impl"), str):
                raise UserError(f"{where}: missing `impl`")
            label = f"{r['impl']} on {r.get('workload', '?')} ({source})"
            status = (r.get("verification") or {}).get("status")
            if status != "passed":
                detail = (r.get("verification") or {}).get("detail") or ""
                out.ignored.append(f"{label}: verification {status or 'missing'}"
                                   + (f" ({detail})" if detail else "") + " — not used")
                continue
            if r.get("kind") == "stripped":
                # A floor does only part of the work (e.g. parse and re-encode): a yardstick, not
                # something a lane could run on, so it gets no pod count.
                out.ignored.append(f"{label}: stripped implementation (a floor, not deployable) — not used")
                continue
            tp = r.get("throughput") or {}
            mu = tp.get("events_per_s")
            if not isinstance(mu, int | float) or isinstance(mu, bool) or mu <= 0:
                out.ignored.append(f"{label}: no throughput figure — not used")
                continue
            samples = ((r.get("batch_latency_ms") or {}).get("samples")) or []
            samples_s = [float(s) / 1000.0 for s in samples
                         if isinstance(s, int | float) and not isinstance(s, bool) and s > 0]
            batch = r.get("batch_size")
            if not isinstance(batch, int) or isinstance(batch, bool) or batch <= 0:
                raise UserError(f"{where}: batch_size: must be a positive integer, got {batch!r}")
            out.usable.append(Measured(
                impl=r["impl"], source=source, workload=_profile_of(str(r.get("workload", ""))),
                batch_size=batch, events_per_s=float(mu), latency_samples_s=samples_s, file=str(path)))
    return out


def pick(results: Results, profile: str, batch_size: int) -> list[tuple[Measured, list[str]]]:
    """Per (implementation, source): the result on `profile` (same batch size preferred), else on
    `general`; with the assumptions that choice implies."""
    keys: list[tuple[str, str]] = []
    for m in results.usable:
        if (m.impl, m.source) not in keys:
            keys.append((m.impl, m.source))
    chosen: list[tuple[Measured, list[str]]] = []
    for impl, source in keys:
        mine = [m for m in results.usable if (m.impl, m.source) == (impl, source)]
        notes: list[str] = []
        match = [m for m in mine if m.workload == profile]
        if not match and profile != "general":
            match = [m for m in mine if m.workload == "general"]
            if match:
                notes.append(f"{impl}: no verified result on the lane's workload {profile!r}; "
                             f"its throughput on 'general' is used instead")
        if not match:
            continue
        same = [m for m in match if m.batch_size == batch_size]
        m = (same or match)[0]
        if m.batch_size != batch_size:
            notes.append(f"{impl}: measured with batch size {m.batch_size}, lane uses {batch_size}; "
                         f"throughput taken as is and service times scaled by batch fill")
        chosen.append((m, notes))
    return chosen


def load_scaling(path: str | Path) -> dict[str, Any]:
    """The scaling cache: {"schema", "impls": {name: curve}, "validation": {...}} or empty."""
    p = Path(path)
    if not p.exists():
        return {"schema": SCALING_SCHEMA, "impls": {}, "validation": None}
    doc = read_json(p, "scaling cache")
    if not isinstance(doc, dict) or doc.get("schema") != SCALING_SCHEMA:
        raise UserError(f"{p}: not a scaling cache (schema {SCALING_SCHEMA!r} expected); "
                        f"delete it or run with --measure-scaling")
    doc.setdefault("impls", {})
    doc.setdefault("validation", None)
    return doc
