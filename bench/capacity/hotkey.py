"""The hot-key share of a lane, measured on the lane's own workload when its file says "workload"."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from bench.capacity.config import Pipeline
from impls.base import Record


def top_key_share(records: Iterable[Record]) -> float:
    """Share of the records carried by the most frequent Kafka key (`token:distinct_id`)."""
    counts = Counter(r.key for r in records)
    total = sum(counts.values())
    return max(counts.values()) / total if total else 0.0


def resolve(pipeline: Pipeline) -> Pipeline:
    """The lane with `hot_key_share` filled in from its workload recipe (generated and cached
    like the harness's, so it is the same bytes that were measured)."""
    if pipeline.traffic.hot_key_source != "workload":
        return pipeline
    from bench.runner.workload_cache import generated

    w = pipeline.workload
    prepared = generated(w.profile, w.events, w.seed)
    share = top_key_share(prepared.workload.records)
    traffic = replace(pipeline.traffic, hot_key_share=share, hot_key_source=f"workload {prepared.path}")
    return replace(pipeline, traffic=traffic)
