"""Pipelines on the Cython-compiled reference. Importing this module fails (ImportError) when the
extensions were not built; impls.cython_impl turns that into an "unavailable" reason."""

from __future__ import annotations

from typing import Any

from impls.cython_impl import compiled_module
from impls.msgspec_impl.pipeline import EncodingStages
from impls.msgspec_impl.rows import RowWriter
from impls.reference import jsonrules

_ref_pipeline = compiled_module("impls.cython_impl._ref.pipeline")
_ref_elements = compiled_module("impls.cython_impl._ref.elements")
typed = compiled_module("impls.cython_impl._typed")

CompiledReferencePipeline = _ref_pipeline.ReferencePipeline


def dumps_bytes(value: Any) -> bytes:
    """The typed encoder; values it does not handle (non-string keys…) go to the reference's."""
    try:
        return typed.dumps_bytes(value)
    except (TypeError, ValueError):
        return jsonrules.dumps_bytes(value)


def dumps_text(value: Any) -> str:
    try:
        return typed.dumps_text(value)
    except (TypeError, ValueError):
        return jsonrules.dumps(value)


class CythonStages(EncodingStages):
    """The statically typed hot stages: decode (glue and scans; stdlib parser), serialization
    (create_event, emit, flush) and property_defs."""

    dumps_bytes = staticmethod(dumps_bytes)
    rows = RowWriter(dumps_text, typed.format_ms, typed.format_seconds)
    elements_chain = staticmethod(_ref_elements.elements_chain)

    def stage_decode(self, batch: Any) -> None:
        decode_record, topic, partition = typed.decode_record, self.context.topic, self.context.partition
        for ev in batch.events:
            decode_record(ev, topic, partition)

    def stage_property_defs(self, batch: Any) -> None:
        batch.property_defs = typed.property_definitions(batch.events)


class CythonPipeline(CythonStages, CompiledReferencePipeline):
    """Typed hot stages over the compiled reference."""
