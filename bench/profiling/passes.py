"""The steady-state loop shared by the sampled target and the timer run.

`run_pass` is also the boundary frame for attribution: samples whose stack does not pass through
it were taken during loading, setup or teardown, not while the implementation was working.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from impls.base import Implementation, PartitionContext, Record

BOUNDARY_FUNCTION = "run_pass"  # attribution.py cuts stacks at this frame


class ContractError(Exception):
    """The implementation broke the interface contract (e.g. outcomes do not add up)."""


def batches(records: Sequence[Record], batch_size: int) -> list[Sequence[Record]]:
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    return [records[i : i + batch_size] for i in range(0, len(records), batch_size)]


def run_pass(
    impl: Implementation,
    context: PartitionContext,
    batch_list: Sequence[Sequence[Record]],
    *,
    instrument: bool = False,
) -> dict[str, float]:
    """Process the workload once with a fresh session (the same work every pass: the session's
    state would otherwise carry over, e.g. persons already created). Returns stage seconds
    (empty unless instrumented)."""
    session = impl.start(context, instrument=instrument)
    try:
        for batch in batch_list:
            check_output(session.process_batch(batch), len(batch))
        return session.stage_seconds() if instrument else {}
    finally:
        session.close()


def check_output(output: Any, batch_len: int) -> None:
    """Cheap contract check on every batch: each input record accounted for exactly once.
    (Full verification against the reference is `partbench verify`'s job.)"""
    total = sum(output.outcomes.values())
    if total != batch_len:
        raise ContractError(f"batch of {batch_len} records reported {total} outcomes")
