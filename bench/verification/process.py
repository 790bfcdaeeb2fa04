"""Run one implementation over a whole workload and collect its outputs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.workloads.model import Workload
from impls.base import STREAMS, Implementation


class AccountingError(RuntimeError):
    """An implementation lost or double-counted input records (outcomes != records)."""


@dataclass
class ProcessedOutputs:
    impl: str
    workload: str
    records: int
    batch_size: int
    streams: dict[str, list[bytes]] = field(default_factory=dict)  # concatenated over batches
    outcomes: dict[str, int] = field(default_factory=dict)
    batches: int = 0


def run(impl: Implementation, workload: Workload, *, batch_size: int = 500,
        settings: dict[str, Any] | None = None) -> ProcessedOutputs:
    """A fresh session over the workload in batches of batch_size; checks every batch's accounting."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    settings = {**(settings or {}), "batch_size": batch_size}
    out = ProcessedOutputs(impl=impl.name, workload=workload.name, records=len(workload.records),
                           batch_size=batch_size, streams={name: [] for name in STREAMS})
    outcomes: Counter[str] = Counter()
    records = workload.records
    session = impl.start(workload.context(settings))
    try:
        for start in range(0, len(records), batch_size):
            batch = records[start:start + batch_size]
            result = session.process_batch(batch)
            total = sum(result.outcomes.values())
            if total != len(batch) or "unaccounted" in result.outcomes:
                raise AccountingError(
                    f"{impl.name}: batch starting at record {start}: outcomes {dict(result.outcomes)} "
                    f"account for {total} records, the batch has {len(batch)}")
            for name, rows in result.streams.items():
                if name not in out.streams:
                    raise AccountingError(f"{impl.name}: unknown output stream {name!r}")
                out.streams[name].extend(rows)
            outcomes.update(result.outcomes)
            out.batches += 1
    finally:
        session.close()
    out.outcomes = dict(sorted(outcomes.items()))
    return out
