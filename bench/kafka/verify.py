"""Verify what a Kafka run produced, after the run, against the reference on the same records.

Every worker reports, per batch, the partition, its offsets, the session ("segment") it ran in
and a digest of its raw outputs. Here each segment is rerun offline, from the records read back
from the topic, with the same batch boundaries and a fresh session (as the worker had):
  1. the implementation's offline outputs must give the same digests as in the run (the run
     processed exactly those records and nothing was lost or altered on the way), and
  2. they must equal the reference's outputs record by record, compared as parsed JSON (key
     order and float spelling don't matter; record order within a stream does).
For the reference itself, step 2 is the same as step 1.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from bench.errors import UserError
from bench.kafka.impl_ref import resolve
from bench.kafka.worker import batch_digest
from bench.kafka.workload_io import record_partition
from impls.base import Implementation, PartitionContext, Record

REFERENCE = "reference"


@dataclass
class Verdict:
    status: str      # passed | failed | unavailable | error (docs/results.md)
    digest: str      # sha256 over the run's batch digests, in (partition, first offset) order
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, "digest": self.digest, "detail": self.detail}


def _segments(batches: Sequence[dict[str, Any]]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    by_segment: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for batch in batches:
        by_segment[(batch["w"], batch["seg"])].append(batch)
    for segment in by_segment.values():
        segment.sort(key=lambda b: b["first"])
    return by_segment


def run_digest(batches: Sequence[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for batch in sorted(batches, key=lambda b: (b["p"], b["first"], b["w"], b["seg"])):
        h.update(f"{batch['p']}:{batch['first']}:{batch['last']}:{batch['digest']}\n".encode())
    return "sha256:" + h.hexdigest()


def _first_difference(stream_name: str, got: Sequence[bytes], want: Sequence[bytes]) -> str | None:
    if len(got) != len(want):
        return f"stream {stream_name}: {len(got)} records, reference has {len(want)}"
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        if a != b and orjson.loads(a) != orjson.loads(b):
            return f"stream {stream_name} record {i}: {a[:200]!r} != reference {b[:200]!r}"
    return None


def verify_run(impl_name: str, batches: Sequence[dict[str, Any]], context: PartitionContext, *,
               bootstrap: str, topic: str, config: dict[str, str]) -> Verdict:
    digest = run_digest(batches)
    if not batches:
        return Verdict("error", digest, "no batches were processed")
    bad = [b for b in batches if sum(b["outcomes"].values()) != b["n"]]
    if bad:
        b = bad[0]
        return Verdict("failed", digest, f"partition {b['p']} offsets {b['first']}-{b['last']}: outcomes "
                                         f"account for {sum(b['outcomes'].values())} of {b['n']} records")
    impl = resolve(impl_name)
    reference: Implementation | None = None
    if impl_name != REFERENCE:
        try:
            reference = resolve(REFERENCE)
        except UserError as exc:
            return Verdict("unavailable", digest, f"not verified: reference unavailable ({exc})")
    inputs = _read_inputs(batches, bootstrap, topic, config)
    for (_worker, _seg), segment in sorted(_segments(batches).items()):
        partition = segment[0]["p"]
        ctx = dataclasses.replace(context, topic=topic, partition=partition)
        session = impl.start(ctx)
        ref_session = reference.start(ctx) if reference is not None else None
        try:
            for batch in segment:
                records = inputs[partition][batch["first"]:batch["last"] + 1]
                if len(records) != batch["n"]:
                    return Verdict("error", digest, f"partition {partition} offsets {batch['first']}-"
                                                    f"{batch['last']}: read back {len(records)} of {batch['n']}")
                out = session.process_batch(records)
                where = f"partition {partition} offsets {batch['first']}-{batch['last']}"
                if batch_digest(out.streams) != batch["digest"]:
                    return Verdict("failed", digest, f"{where}: outputs in the run differ from an offline "
                                                     f"rerun of the same records (nondeterministic?)")
                if ref_session is not None:
                    want = ref_session.process_batch(records)
                    for name in sorted(set(out.streams) | set(want.streams)):
                        diff = _first_difference(name, out.streams.get(name, []), want.streams.get(name, []))
                        if diff:
                            return Verdict("failed", digest, f"{where}: {diff}")
        finally:
            session.close()
            if ref_session is not None:
                ref_session.close()
    against = "the reference" if reference is not None else "an offline rerun (it is the reference)"
    return Verdict("passed", digest, f"{len(batches)} batches checked against {against}")


class _Partition:
    """The records of one partition read back, sliced by offset range."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records
        self.index = {r.offset: i for i, r in enumerate(records)}

    def __getitem__(self, span: slice) -> list[Record]:
        start = self.index.get(span.start)
        if start is None:
            return []
        return [r for r in self.records[start:start + span.stop - span.start] if r.offset < span.stop]


def _read_inputs(batches: Sequence[dict[str, Any]], bootstrap: str, topic: str,
                 config: dict[str, str]) -> dict[int, _Partition]:
    spans: dict[int, tuple[int, int]] = {}
    for b in batches:
        lo, hi = spans.get(b["p"], (b["first"], b["last"]))
        spans[b["p"]] = (min(lo, b["first"]), max(hi, b["last"]))
    out: dict[int, _Partition] = {}
    for partition, (lo, hi) in spans.items():
        records = record_partition(bootstrap, topic, partition, from_offset=lo, from_time_ms=None,
                                   count=hi - lo + 1, config=config)
        out[partition] = _Partition(records)
    return out
