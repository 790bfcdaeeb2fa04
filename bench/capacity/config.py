"""Lane descriptions (`pipelines/*.toml`): load and validate, one clear error per problem.

Every key is declared once in `_SCHEMA` with its type, bounds and default; unknown keys are
errors too, so that a typo ("partitons") never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import UserError


@dataclass(frozen=True)
class Key:
    kind: type | tuple[type, ...]
    default: Any = None          # None: required
    minimum: float | None = None  # inclusive
    maximum: float | None = None  # inclusive
    positive: bool = False        # strictly > 0
    optional: bool = False        # may be absent, with no default (value None)


_NUM = (int, float)

# section -> key -> Key. A section whose keys all have defaults may be left out.
_SCHEMA: dict[str, dict[str, Key]] = {
    "": {
        "name": Key(str, optional=True),
        "description": Key(str, default=""),
    },
    "workload": {
        "profile": Key(str),
        "events": Key(int, positive=True),
        "seed": Key(int, default=1, minimum=0),
    },
    "stages": {
        "batch_size": Key(int, default=500, positive=True),
        "overflow_enabled": Key(bool, default=True),
        "overflow_bucket_capacity": Key(_NUM, default=1000, minimum=0),
        "overflow_replenish_per_s": Key(_NUM, default=1.0, minimum=0),
    },
    "traffic": {
        "example": Key(bool, default=False),  # true: the figures below are examples, not real
        "peak_events_per_s": Key(_NUM, positive=True),
        "partitions": Key(int, positive=True),
        "pods": Key(int, positive=True),
        "cores_per_pod": Key(_NUM, positive=True),
        "consumers_per_pod": Key(int, positive=True, optional=True),  # default: cores_per_pod
        # a share 0..1, or "workload": measured on the lane's own workload (bench/capacity/hotkey.py)
        "hot_key_share": Key((int, float, str), default=0.0, minimum=0, maximum=1),
    },
    "capacity": {
        "target_utilization": Key(_NUM, default=0.7, positive=True, maximum=1),
        "growth": Key(_NUM, default=10, positive=True),
    },
    "sla": {
        "p999_lag_s": Key(_NUM, default=5.0, positive=True),
        "p99_lag_s": Key(_NUM, default=10.0, positive=True),
    },
    "simulation": {
        "window_s": Key(_NUM, default=3600, positive=True, maximum=86400),
        "trough_ratio": Key(_NUM, default=0.35, positive=True, maximum=1),
        "bursts_per_hour": Key(_NUM, default=4, minimum=0),
        "burst_factor": Key(_NUM, default=1.5, minimum=1),
        "burst_s": Key(_NUM, default=20, positive=True),
        "tick_ms": Key(_NUM, default=10, positive=True, maximum=1000),
        "seed": Key(int, default=1, minimum=0),
    },
}


@dataclass(frozen=True)
class Workload:
    profile: str
    events: int
    seed: int


@dataclass(frozen=True)
class Traffic:
    example: bool
    peak_events_per_s: float
    partitions: int
    pods: int
    cores_per_pod: float
    consumers_per_pod: int
    hot_key_share: float              # NaN until resolved when hot_key_source == "workload"
    hot_key_source: str = "configured"  # "configured", "workload", or "workload <file>" once measured


@dataclass(frozen=True)
class Sla:
    p999_lag_s: float
    p99_lag_s: float


@dataclass(frozen=True)
class Simulation:
    window_s: float
    trough_ratio: float
    bursts_per_hour: float
    burst_factor: float
    burst_s: float
    tick_ms: float
    seed: int


@dataclass(frozen=True)
class Pipeline:
    name: str
    path: str
    description: str
    workload: Workload
    stages: dict[str, Any]       # passed to implementations as PartitionContext.settings
    traffic: Traffic
    target_utilization: float
    growth: float
    sla: Sla
    simulation: Simulation


def _type_name(kind: type | tuple[type, ...]) -> str:
    if kind == _NUM:
        return "a number"
    if kind == (int, float, str):
        return 'a number or "workload"'
    return {int: "an integer", str: "a string", bool: "true or false"}[kind]  # type: ignore[index]


def _check(path: str, where: str, value: Any, key: Key) -> Any:
    # bool is an int subclass in Python: `pods = true` must not pass as 1.
    ok = isinstance(value, key.kind) and (key.kind is bool or not isinstance(value, bool))
    if not ok:
        raise UserError(f"{path}: {where}: must be {_type_name(key.kind)}, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, _NUM):
        return value
    if key.positive and not value > 0:
        raise UserError(f"{path}: {where}: must be > 0, got {value!r}")
    if key.minimum is not None and value < key.minimum:
        raise UserError(f"{path}: {where}: must be >= {key.minimum:g}, got {value!r}")
    if key.maximum is not None and value > key.maximum:
        raise UserError(f"{path}: {where}: must be <= {key.maximum:g}, got {value!r}")
    return value


def _section(path: str, doc: dict[str, Any], section: str) -> dict[str, Any]:
    schema = _SCHEMA[section]
    if section:
        raw = doc.get(section, {})
        if not isinstance(raw, dict):
            raise UserError(f"{path}: [{section}]: must be a table, got {raw!r}")
    else:
        raw = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    for name in raw:
        if name not in schema:
            where = f"{section}.{name}" if section else name
            raise UserError(f"{path}: {where}: unknown key (expected one of: {', '.join(schema)})")
    out: dict[str, Any] = {}
    for name, key in schema.items():
        where = f"{section}.{name}" if section else name
        if name in raw:
            out[name] = _check(path, where, raw[name], key)
        elif key.default is not None or key.optional:
            out[name] = key.default
        else:
            raise UserError(f"{path}: {where}: missing (required)")
    return out


def parse(doc: dict[str, Any], path: str) -> Pipeline:
    """Validate an already-parsed TOML document; `path` is only used in messages."""
    for name, value in doc.items():
        if isinstance(value, dict) and name not in _SCHEMA:
            raise UserError(f"{path}: [{name}]: unknown section (expected one of: "
                            f"{', '.join(s for s in _SCHEMA if s)})")
    top = _section(path, doc, "")
    workload = _section(path, doc, "workload")
    stages = _section(path, doc, "stages")
    traffic = _section(path, doc, "traffic")
    capacity = _section(path, doc, "capacity")
    sla = _section(path, doc, "sla")
    sim = _section(path, doc, "simulation")
    _check_profile(path, workload["profile"])
    if isinstance(traffic["hot_key_share"], str):
        if traffic["hot_key_share"] != "workload":
            raise UserError(f'{path}: traffic.hot_key_share: must be a number or "workload", '
                            f'got {traffic["hot_key_share"]!r}')
        traffic["hot_key_share"], traffic["hot_key_source"] = float("nan"), "workload"
    if traffic["consumers_per_pod"] is None:
        # One consumer process per core, at least one.
        traffic["consumers_per_pod"] = max(1, int(traffic["cores_per_pod"]))
    return Pipeline(
        name=top["name"] or Path(path).stem,
        path=str(path),
        description=top["description"],
        workload=Workload(**workload),
        stages=stages,
        traffic=Traffic(**{k: (float(v) if k in ("peak_events_per_s", "cores_per_pod", "hot_key_share")
                               else v) for k, v in traffic.items()}),
        target_utilization=float(capacity["target_utilization"]),
        growth=float(capacity["growth"]),
        sla=Sla(float(sla["p999_lag_s"]), float(sla["p99_lag_s"])),
        simulation=Simulation(**{k: (v if k == "seed" else float(v)) for k, v in sim.items()}),
    )


def _check_profile(path: str, profile: str) -> None:
    # The generator is another subsystem; check the name only when it is importable.
    try:
        from bench.workloads.generator import PROFILES
    except ImportError:
        return
    if profile not in PROFILES:
        raise UserError(f"{path}: workload.profile: unknown profile {profile!r} "
                        f"(known: {', '.join(PROFILES)})")


def load(path: str | Path) -> Pipeline:
    """Load and validate one lane file; bad input raises UserError naming the file and key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{p}: no such pipeline file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{p}: cannot read: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{p}: invalid TOML: {exc}") from None
    return parse(doc, str(p))


def load_all(folder: str | Path = "pipelines") -> list[Pipeline]:
    """Every `*.toml` in `folder`, sorted by file name; names must be unique."""
    files = sorted(Path(folder).glob("*.toml"))
    if not files:
        raise UserError(f"{folder}: no pipeline files (*.toml)")
    pipelines = [load(f) for f in files]
    seen: dict[str, str] = {}
    for p in pipelines:
        if p.name in seen:
            raise UserError(f"{p.path}: name: {p.name!r} already used by {seen[p.name]}")
        seen[p.name] = p.path
    return pipelines


def resolve(spec: str, folder: str | Path = "pipelines") -> Pipeline:
    """A lane by file path or by name (the file stem or its `name`) inside `folder`."""
    p = Path(spec)
    if p.suffix == ".toml" or p.exists():
        return load(p)
    candidate = Path(folder) / f"{spec}.toml"
    if candidate.exists():
        return load(candidate)
    for pipeline in load_all(folder):
        if pipeline.name == spec:
            return pipeline
    raise UserError(f"{folder}: no pipeline named {spec!r}")
