"""A transport-only implementation for Kafka tests and ceilings: one output per input record.

Each record becomes one `events` row `{"partition", "offset", "key", "value_len"}`, so a test can
check that every input reached the outputs, and a run with it measures what the Kafka path alone
(consume → produce → acknowledge → commit) costs. It does none of the pipeline's work: kind
"stripped", never registered for `partbench run`; name it as `--impl bench.kafka.passthrough:IMPLEMENTATION`.
Setting `passthrough_delay_s` (in the context's settings) sleeps per batch, to slow a test run down.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import orjson

from impls.base import BatchOutput, InProcess, PartitionContext, Record, Session


class PassthroughSession:
    def __init__(self, context: PartitionContext) -> None:
        self.partition = context.partition
        self.delay_s = float(context.settings.get("passthrough_delay_s", 0.0))

    def process_batch(self, batch: Sequence[Record]) -> BatchOutput:
        rows = [orjson.dumps({"partition": self.partition, "offset": r.offset,
                              "key": r.key.decode("utf-8", "replace") if r.key is not None else None,
                              "value_len": len(r.value) if r.value is not None else None})
                for r in batch]
        if self.delay_s:
            time.sleep(self.delay_s)
        return BatchOutput(streams={"events": rows}, outcomes={"event": len(batch)})

    def stage_seconds(self) -> dict[str, float]:
        return {}

    def close(self) -> None:
        pass


class Passthrough(InProcess):
    def start(self, context: PartitionContext, *, instrument: bool = False) -> Session:
        return PassthroughSession(context)


IMPLEMENTATION = Passthrough(
    name="kafka-passthrough", description="one output row per input record (Kafka transport ceiling)",
    pipeline=None, kind="stripped")
