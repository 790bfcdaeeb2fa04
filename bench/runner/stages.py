"""Stage breakdown: separate instrumented passes (`impl.start(ctx, instrument=True)`).

These passes run in the probe process after the uninstrumented measurements, never inside the
pyperf workers, so stage timers cannot touch the headline figure.
"""

from __future__ import annotations

from typing import Any

from bench.runner.target import Target
from impls.base import STAGES


def measure_stage_seconds(target: Target, passes: int = 1) -> dict[str, float]:
    """Cumulative seconds per stage over `passes` instrumented passes (fresh session each)."""
    totals: dict[str, float] = {}
    for _ in range(max(1, passes)):
        session = target.impl.start(target.context, instrument=True)
        try:
            for batch in target.batches:
                session.process_batch(batch)
            for name, seconds in session.stage_seconds().items():
                totals[name] = totals.get(name, 0.0) + seconds
        finally:
            session.close()
    return totals


def breakdown(stage_seconds: dict[str, float]) -> dict[str, dict[str, float]] | None:
    """{stage: {"seconds", "share"}} in pipeline order (unknown names after); None if not instrumented."""
    total = sum(stage_seconds.values())
    if not stage_seconds or total <= 0:
        return None
    order = [name for name in STAGES if name in stage_seconds]
    order += sorted(name for name in stage_seconds if name not in STAGES)
    return {name: {"seconds": stage_seconds[name], "share": stage_seconds[name] / total} for name in order}


def stages_or_none(raw: Any) -> dict[str, dict[str, float]] | None:
    return breakdown(raw) if isinstance(raw, dict) else None
