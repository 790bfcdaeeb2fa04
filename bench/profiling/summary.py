"""The profile summary JSON (docs/results.md, "Profile summary") and its atomic writing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.atomic import write_text
from impls.base import STAGES

FLAG_POINTS = 0.10  # sampled vs timer share difference (as a fraction) that gets flagged


def flagged_stages(sampled: dict[str, float], timers: dict[str, float]) -> list[str]:
    """Stages whose sampled and timer shares differ by more than 10 points (both sources needed)."""
    if not sampled or not timers:
        return []
    return [s for s in STAGES if abs(sampled.get(s, 0.0) - timers.get(s, 0.0)) > FLAG_POINTS]


def bottleneck_stage(shares: dict[str, float]) -> str | None:
    return max(shares, key=shares.__getitem__) if shares else None


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    write_text(path, json.dumps(summary, indent=1) + "\n")


def file_stem(impl: str, workload: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{impl}--{workload}")
    return safe
