"""CombinedPipeline: each stage from the technology that measured fastest for it."""

from __future__ import annotations

from typing import Any

import orjson

from impls.cython_impl import compiled_module
from impls.cython_impl.pipeline import CythonPipeline, typed
from impls.msgspec_impl import encode
from impls.msgspec_impl.rows import RowWriter

_ref_decode = compiled_module("impls.cython_impl._ref.decode")


class CombinedPipeline(CythonPipeline):
    """The Cython typed stages over the compiled reference, with orjson parsing in decode and
    msgspec encoding for the output records and their JSON-text fields."""

    dumps_bytes = staticmethod(encode.dumps_bytes)
    dumps_text = staticmethod(encode.dumps_text)
    rows = RowWriter(encode.dumps_text, typed.format_ms, typed.format_seconds)

    @staticmethod
    def decode_events(events: list[Any], topic: str, partition: int) -> None:
        """orjson applies the strict number rules itself, so no number gate is needed; anything
        it refuses or that may need the reference's judgement goes to the compiled reference's
        decode_record (typed.decode_batch_strict)."""
        typed.decode_batch_strict(events, orjson.loads, topic, partition, _ref_decode.decode_record)

    def stage_decode(self, batch: Any) -> None:
        self.decode_events(batch.events, self.context.topic, self.context.partition)
