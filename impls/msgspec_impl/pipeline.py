"""Stage mixins and the msgspec pipeline.

`EncodingStages` replaces the stages whose cost is serialization (create_event's JSON-text fields,
emit, flush) with an encoder chosen by the subclass; `MsgspecStages` adds the msgspec decode.
They are mixins so that `cython` and `combined` can put them over other stage sets; here
`MsgspecPipeline` puts them over the pure-Python reference, which supplies every other stage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from impls.msgspec_impl import encode
from impls.msgspec_impl.decode import FastDecoder
from impls.msgspec_impl.rows import RowWriter
from impls.reference import ReferencePipeline
from impls.reference.elements import elements_chain
from impls.reference.state import Batch
from impls.reference.timestamps import format_ms, format_seconds


class EncodingStages:
    """The reference's create_event, emit and flush loops with `dumps_bytes` and `rows` supplied by
    the subclass: this mixin only swaps the row builders and the encoder they use."""

    dumps_bytes: Callable[[Any], bytes]
    rows: RowWriter
    elements_chain: Callable[[dict[str, Any]], str] = staticmethod(elements_chain)

    # Properties, read once per batch by the stage loops, so the hot loop calls the function itself.
    @property
    def encode(self) -> Callable[[Any], bytes]:
        return self.dumps_bytes

    @property
    def event_row(self) -> Callable[..., dict[str, Any]]:
        return self.rows.event_row

    @property
    def warning_row(self) -> Callable[..., dict[str, Any]]:
        return self.rows.warning_row

    @property
    def person_row(self) -> Callable[..., dict[str, Any]]:
        return self.rows.person_row

    @property
    def group_row(self) -> Callable[..., dict[str, Any]]:
        return self.rows.group_row


class MsgspecStages(EncodingStages):
    """msgspec decode plus msgspec encoding."""

    dumps_bytes = staticmethod(encode.dumps_bytes)
    rows = RowWriter(encode.dumps_text, format_ms, format_seconds)
    decoder = FastDecoder()

    def stage_decode(self, batch: Batch) -> None:
        self.decoder.decode_batch(batch.events, self.context.topic, self.context.partition)


class MsgspecPipeline(MsgspecStages, ReferencePipeline):
    """msgspec decode and encoding; every other stage is the reference's."""
