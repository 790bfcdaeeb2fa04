"""Results history per machine, and asv's step detection over it.

Layout (like asv's `results/<machine>/…`):
    results/history/<machine-id>/index.json        runs in order, with the machine's metadata
    results/history/<machine-id>/<run_id>.json     a copy of each run's results file

The machine id is `--machine`, else $PARTBENCH_MACHINE, else the host name: CI runners get a
new host name per job, so the nightly workflow sets PARTBENCH_MACHINE.
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asv import step_detect

from bench.atomic import write_text
from bench.errors import UserError
from bench.reporting.load import ResultsFile, is_verified, load_results, read_json

HISTORY_SCHEMA = "partbench.history/1"
DEFAULT_ROOT = Path("results/history")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "unknown"


def machine_id(override: str | None = None) -> str:
    return _slug(override or os.environ.get("PARTBENCH_MACHINE") or socket.gethostname())


def _index_path(root: Path, machine: str) -> Path:
    return root / machine / "index.json"


def load_index(root: Path, machine: str) -> dict[str, Any]:
    path = _index_path(root, machine)
    if not path.exists():
        return {"schema": HISTORY_SCHEMA, "machine": machine, "machine_info": {}, "runs": []}
    data = read_json(path)
    if not isinstance(data, dict) or data.get("schema") != HISTORY_SCHEMA or not isinstance(data.get("runs"), list):
        raise UserError(f"file {path}: not a {HISTORY_SCHEMA} index")
    return data


def append(run: ResultsFile, root: Path = DEFAULT_ROOT, machine: str | None = None) -> Path:
    """Copy a validated run into the machine's history and list it in the index (atomically)."""
    machine = machine_id(machine)
    index = load_index(root, machine)
    name = f"{_slug(run.run_id)}.json"
    if any(entry["file"] == name for entry in index["runs"]):
        raise UserError(f"file {run.path}: run {run.run_id} is already in the history of {machine}")
    target = root / machine / name
    write_text(target, json.dumps(run.data, indent=1) + "\n")
    data = run.data
    index["machine_info"] = data.get("machine") or index.get("machine_info") or {}
    index["runs"].append({
        "run_id": run.run_id, "file": name, "created": data.get("created"), "mode": data.get("mode"),
        "git_commit": (data.get("machine") or {}).get("git_commit"),
    })
    write_text(_index_path(root, machine), json.dumps(index, indent=1) + "\n")
    return target


def load_runs(root: Path, machine: str) -> list[ResultsFile]:
    """The machine's runs in the order they were appended."""
    index = load_index(root, machine)
    return [load_results(root / machine / entry["file"]) for entry in index["runs"]]


@dataclass
class Steps:
    """asv's piecewise-constant fit of one series, in events/s."""

    fit: list[float | None]
    regressions: list[str]


def detect_steps(series: list[float | None], labels: list[str], threshold: float) -> Steps:
    """Fit steps to events/s (via time per event: asv expects 'higher is worse').

    `threshold` is the relative size below which asv ignores a jump (the compare threshold).
    """
    y = [1e6 / v if v else None for v in series]
    if sum(v is not None for v in y) < 2:
        return Steps(fit=[None] * len(series), regressions=[])
    steps = step_detect.detect_steps(y)
    fit: list[float | None] = [None] * len(series)
    for left, right, value, _min, _err in steps:
        for i in range(left, right):
            if y[i] is not None:
                fit[i] = 1e6 / value
    _latest, _best, positions = step_detect.detect_regressions(steps, threshold=threshold, min_size=2)
    regressions = []
    for before, after, v_before, v_after in positions or []:
        drop = v_before / v_after - 1.0   # events/s ratio after/before, minus one
        regressions.append(
            f"asv step detection: {1e6 / v_before:,.0f} → {1e6 / v_after:,.0f} events/s ({drop * 100:+.1f}%) "
            f"between {labels[before]} and {labels[after]}")
    return Steps(fit=fit, regressions=regressions)


def series(runs: list[ResultsFile]) -> dict[tuple[str, str], list[dict[str, Any] | None]]:
    """Per (impl, workload): the verified result of each run, or None where it was not verified."""
    keys: list[tuple[str, str]] = []
    for run in runs:
        for r in run.results:
            if (r["impl"], r["workload"]) not in keys:
                keys.append((r["impl"], r["workload"]))
    out = {}
    for key in keys:
        row = []
        for run in runs:
            match = next((r for r in run.results if (r["impl"], r["workload"]) == key), None)
            row.append(match if match is not None and is_verified(match) else None)
        out[key] = row
    return out
