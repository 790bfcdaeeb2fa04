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
    """The statically typed hot stages: decode (glue, scans and `now`; stdlib parser), normalize
    (key scan, timestamp parsing), persons (the personless branch), create_event (the event row),
    property_defs, and serialization (emit, flush) with the typed encoder. `dumps_text` encodes
    the JSON-text fields of the rows; `combined` swaps in msgspec's."""

    dumps_bytes = staticmethod(dumps_bytes)
    dumps_text = staticmethod(dumps_text)
    rows = RowWriter(dumps_text, typed.format_ms, typed.format_seconds)
    elements_chain = staticmethod(_ref_elements.elements_chain)

    def stage_decode(self, batch: Any) -> None:
        typed.decode_batch(batch.events, self.context.topic, self.context.partition)

    def stage_normalize(self, batch: Any) -> None:
        typed.normalize_batch(batch.events)

    def stage_persons(self, batch: Any) -> None:
        touches = typed.persons_batch(batch.events, self.persons)
        batch.touched_persons = list(touches.persons.values())
        batch.touched_distinct_ids = list(touches.distinct_ids)

    def stage_create_event(self, batch: Any) -> None:
        typed.create_event_batch(batch.events, self.dumps_text, self.elements_chain)

    def stage_property_defs(self, batch: Any) -> None:
        batch.property_defs = typed.property_definitions(batch.events)

    def stage_emit(self, batch: Any) -> None:
        typed.emit_batch(batch, self.dumps_bytes, self.rows.warning_row)


class CythonPipeline(CythonStages, CompiledReferencePipeline):
    """Typed hot stages over the compiled reference."""
