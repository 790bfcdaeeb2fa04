"""Read and validate the files reports are made from (schemas in docs/results.md).

Every problem is a `UserError` naming the file, the result and the field, so a bad file stops
the report with one clear line instead of a chart of made-up numbers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import UserError

RESULTS_SCHEMA = "partbench.results/1"
STATUSES = ("passed", "failed", "unavailable", "error")


@dataclass
class ResultsFile:
    """One validated results file; `data` is the JSON as written by `partbench run`."""

    path: Path
    data: dict[str, Any]

    @property
    def results(self) -> list[dict[str, Any]]:
        return self.data["results"]

    @property
    def run_id(self) -> str:
        return str(self.data.get("run_id", self.path.stem))

    def verified(self) -> list[dict[str, Any]]:
        """Results that may be shown as figures: verification passed and throughput measured."""
        return [r for r in self.results if is_verified(r)]


@dataclass
class Profile:
    path: Path
    data: dict[str, Any]
    flamegraph_svg: bytes | None = None   # raw py-spy SVG (contains scripts: embed as <img> only)
    problems: list[str] = field(default_factory=list)


def is_verified(result: dict[str, Any]) -> bool:
    return result["verification"]["status"] == "passed" and result.get("throughput") is not None


def read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"file {path}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"file {path}: cannot read: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"file {path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(value: Any, min_len: int = 0) -> bool:
    return isinstance(value, list) and len(value) >= min_len and all(_number(v) for v in value)


def _check_throughput(where: str, tp: Any) -> None:
    if not isinstance(tp, dict):
        raise UserError(f"{where}: expected an object")
    if not _number(tp.get("events_per_s")) or tp["events_per_s"] <= 0:
        raise UserError(f"{where}.events_per_s: expected a positive number, got {tp.get('events_per_s')!r}")
    if not _numbers(tp.get("ci95"), 2) or len(tp["ci95"]) != 2:
        raise UserError(f"{where}.ci95: expected [low, high], got {tp.get('ci95')!r}")
    if not _numbers(tp.get("per_process"), 1) or min(tp["per_process"]) <= 0:
        raise UserError(f"{where}.per_process: expected a non-empty list of positive numbers")
    if "values" in tp and not _numbers(tp["values"]):
        raise UserError(f"{where}.values: expected a list of numbers")


def validate_result(path: Path, index: int, r: Any) -> None:
    where = f"file {path}: results[{index}]"
    if not isinstance(r, dict):
        raise UserError(f"{where}: expected an object")
    for key in ("impl", "workload"):
        if not isinstance(r.get(key), str) or not r[key]:
            raise UserError(f"{where}: missing or empty '{key}'")
    where = f"{where} ({r['impl']} on {r['workload']})"
    ver = r.get("verification")
    if not isinstance(ver, dict) or ver.get("status") not in STATUSES:
        raise UserError(f"{where}: verification.status must be one of {', '.join(STATUSES)}")
    if ver["status"] == "passed" and r.get("throughput") is not None:
        _check_throughput(f"{where}: throughput", r["throughput"])
    elif ver["status"] != "passed" and r.get("throughput") is not None:
        # The schema promises unverified results carry no figure; refuse rather than show one.
        raise UserError(f"{where}: verification {ver['status']} but a throughput is present")
    if r.get("end_to_end") is not None:
        _check_throughput(f"{where}: end_to_end", r["end_to_end"])
    lat = r.get("batch_latency_ms")
    if lat is not None and (not isinstance(lat, dict) or not all(_number(lat.get(k)) for k in ("p50", "p99"))):
        raise UserError(f"{where}: batch_latency_ms: expected p50 and p99 numbers")
    stages = r.get("stages")
    if stages is not None:
        if not isinstance(stages, dict) or not all(
            isinstance(v, dict) and _number(v.get("share")) for v in stages.values()
        ):
            raise UserError(f"{where}: stages: expected {{name: {{seconds, share}}}}")
    for key in ("peak_rss_mb", "cpu_seconds_per_kevent"):
        if r.get(key) is not None and not _number(r[key]):
            raise UserError(f"{where}: {key}: expected a number")


def load_results(path: str | Path) -> ResultsFile:
    """Read a `partbench.results/1` file, refusing anything a report could misrepresent."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise UserError(f"file {path}: expected a JSON object")
    if data.get("schema") != RESULTS_SCHEMA:
        raise UserError(f"file {path}: schema is {data.get('schema')!r}, expected {RESULTS_SCHEMA!r}")
    results = data.get("results")
    if not isinstance(results, list):
        raise UserError(f"file {path}: 'results' must be a list")
    for i, r in enumerate(results):
        validate_result(path, i, r)
    noise = data.get("noise")
    if noise is not None:
        if not isinstance(noise, dict) or not _number(noise.get("diff_pct")) or not (
            _numbers(noise.get("ci95_pct"), 2) and len(noise["ci95_pct"]) == 2
        ):
            raise UserError(f"file {path}: noise: expected diff_pct and ci95_pct [low, high]")
    if data.get("machine") is not None and not isinstance(data["machine"], dict):
        raise UserError(f"file {path}: machine: expected an object")
    return ResultsFile(path=path, data=data)


def load_profiles(directory: str | Path) -> list[Profile]:
    """Profile summaries (`*.json` beside their flamegraphs); a missing folder means none."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    profiles = []
    for path in sorted(directory.glob("*.json")):
        if path.name.endswith(".speedscope.json"):
            continue
        data = read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("impl"), str):
            raise UserError(f"file {path}: not a profile summary (no 'impl')")
        for key in ("stages", "timer_stages"):
            if data.get(key) is not None and not (
                isinstance(data[key], dict) and all(_number(v) for v in data[key].values())
            ):
                raise UserError(f"file {path}: {key}: expected {{stage: share}}")
        for key in ("top_self", "top_total"):
            rows = data.get(key) or []
            if not isinstance(rows, list) or not all(
                isinstance(x, dict) and isinstance(x.get("function"), str) and _number(x.get("share"))
                for x in rows
            ):
                raise UserError(f"file {path}: {key}: expected [{{function, share}}]")
        profile = Profile(path=path, data=data)
        name = data.get("flamegraph")
        if name:
            svg = directory / Path(str(name)).name   # a bare name, never a path outside the folder
            if svg.is_file():
                profile.flamegraph_svg = svg.read_bytes()
            else:
                profile.problems.append(f"flamegraph {svg.name} not found beside {path.name}")
        profiles.append(profile)
    return profiles


def load_projection(path: str | Path) -> dict[str, Any] | None:
    """The capacity projection, or None when the file does not exist (not projected)."""
    path = Path(path)
    if not path.exists():
        return None
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise UserError(f"file {path}: not a projection (no 'rows' list)")
    for i, row in enumerate(data["rows"]):
        if not isinstance(row, dict) or not isinstance(row.get("impl"), str) or not _number(row.get("pods")):
            raise UserError(f"file {path}: rows[{i}]: expected impl and pods")
    sens = data.get("sensitivity")
    if sens is not None:
        if not isinstance(sens, dict) or not _numbers(sens.get("growth"), 1) or not isinstance(
            sens.get("pods"), dict
        ):
            raise UserError(f"file {path}: sensitivity: expected growth list and pods per impl")
        for impl, pods in sens["pods"].items():
            if not _numbers(pods) or len(pods) != len(sens["growth"]):
                raise UserError(f"file {path}: sensitivity.pods.{impl}: expected one number per growth")
    return data
