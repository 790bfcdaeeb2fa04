"""msgspec implementation: typed msgspec.Struct decoding of the envelope and `data`, msgspec
encoding of every output record and JSON-text field; the other stages are the reference's
(docs/implementations.md)."""

from impls.base import InProcess
from impls.msgspec_impl.pipeline import MsgspecPipeline, MsgspecStages

IMPLEMENTATION = InProcess(
    name="msgspec",
    description="Reference stages with msgspec Struct decoding (envelope + data) and msgspec encoding of outputs",
    pipeline=MsgspecPipeline,
    kind="realistic",
    runtime="in-process",
)

__all__ = ["IMPLEMENTATION", "MsgspecPipeline", "MsgspecStages"]
