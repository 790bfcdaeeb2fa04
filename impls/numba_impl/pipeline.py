"""NumbaPipeline: the reference with the overflow stage's token buckets run by a numba kernel."""

from __future__ import annotations

from impls.base import PartitionContext
from impls.numba_impl.buckets import ArrayBuckets, warm_up
from impls.reference import ReferencePipeline
from impls.reference.overflow import DEFAULT_CAPACITY, DEFAULT_REPLENISH_PER_S
from impls.reference.rows import overflow_record
from impls.reference.state import Batch


class NumbaPipeline(ReferencePipeline):
    def __init__(self, context: PartitionContext, *, instrument: bool = False, **kwargs) -> None:
        super().__init__(context, instrument=instrument, **kwargs)
        warm_up()  # JIT compilation belongs to session start, not to the first timed batch
        settings = context.settings
        self.array_buckets = None
        if settings.get("overflow_enabled", True):
            self.array_buckets = ArrayBuckets(settings.get("overflow_bucket_capacity", DEFAULT_CAPACITY),
                                              settings.get("overflow_replenish_per_s", DEFAULT_REPLENISH_PER_S))

    def stage_overflow(self, batch: Batch) -> None:
        live = [ev for ev in batch.events if ev.outcome is None]
        for ev in live:
            if ev.force_overflow:
                ev.outcome = "overflow"
                ev.overflow = overflow_record(ev, "forced")
        if self.array_buckets is None:
            return
        # forced records never touch the buckets; the others in batch order, as in the reference
        rest = [ev for ev in live if ev.outcome is None]
        if not rest:
            return
        allowed = self.array_buckets.take_many([f"{ev.token}:{ev.distinct_id}" for ev in rest],
                                               [ev.now_ms for ev in rest])
        for ev, ok in zip(rest, allowed.tolist(), strict=True):
            if not ok:
                ev.outcome = "overflow"
                ev.overflow = overflow_record(ev, "rate_limited")
