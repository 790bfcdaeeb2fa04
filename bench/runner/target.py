"""What is measured: one implementation over one workload in batches, one pass at a time.

Used by the pyperf worker (headline timing) and the probe (latency, memory, CPU, stages) so that
both slice batches and start sessions exactly the same way. Starting a session and slicing the
batches are never inside a timed region.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.errors import UserError
from impls.base import Implementation, Record


def resolve_impl(spec: str) -> Implementation:
    """A registry name, or `module:ATTR` for an implementation not (yet) registered."""
    from impls import registry

    if ":" not in spec:
        try:
            return registry.get(spec)
        except KeyError as exc:
            raise UserError(str(exc.args[0])) from None
    module_name, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"implementation {spec!r}: {exc}") from None


def slice_batches(records: Sequence[Record], batch_size: int) -> list[Sequence[Record]]:
    if batch_size < 1:
        raise UserError(f"batch size must be at least 1, got {batch_size}")
    return [records[i:i + batch_size] for i in range(0, len(records), batch_size)]


@dataclass
class PassTimes:
    """One pass over the workload: the headline seconds and, for subprocess implementations,
    the wall (end-to-end) seconds including transfer."""

    seconds: float
    wall_seconds: float


@dataclass
class Target:
    impl: Implementation
    context: Any            # PartitionContext
    batches: list[Sequence[Record]]
    events: int
    wall_log: list[float] = field(default_factory=list)  # end-to-end seconds per timed call

    @property
    def self_timed(self) -> bool:
        return self.impl.runtime == "subprocess"

    def one_pass(self) -> PassTimes:
        """A fresh session (state back to the workload's snapshot), then every batch once."""
        session = self.impl.start(self.context)
        try:
            if self.self_timed:
                return self._self_timed_pass(session)
            clock = time.perf_counter
            process = session.process_batch
            t0 = clock()
            for batch in self.batches:
                process(batch)
            elapsed = clock() - t0
            return PassTimes(elapsed, elapsed)
        finally:
            session.close()

    def _self_timed_pass(self, session: Any) -> PassTimes:
        processing = 0.0
        clock = time.perf_counter
        t0 = clock()
        for batch in self.batches:
            seconds = session.process_batch(batch).processing_seconds
            if seconds is None:
                raise RuntimeError(f"{self.impl.name}: subprocess implementation reported no processing_seconds")
            processing += seconds
        return PassTimes(processing, clock() - t0)

    def time_loops(self, loops: int) -> float:
        """pyperf's time function: `loops` passes, returning the headline seconds."""
        total = 0.0
        wall = 0.0
        for _ in range(loops):
            times = self.one_pass()
            total += times.seconds
            wall += times.wall_seconds
        self.wall_log.append(wall)
        return total


def load_target(impl_spec: str, workload_file: str, batch_size: int, settings_json: str) -> Target:
    from bench.workloads import format as workload_format

    impl = resolve_impl(impl_spec)
    reason = impl.unavailable_reason()
    if reason is not None:
        raise UserError(f"implementation {impl.name}: unavailable: {reason}")
    workload = workload_format.load(workload_file)
    settings = json.loads(settings_json)
    settings["batch_size"] = batch_size  # the batches really are this size
    return Target(
        impl=impl,
        context=workload.context(settings),
        batches=slice_batches(workload.records, batch_size),
        events=len(workload.records),
    )
