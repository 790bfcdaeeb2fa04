"""The pure-Python reference pipeline: the oracle every other implementation is verified against
and the baseline every speed-up is measured from. Rules: docs/pipeline.md."""

from impls.base import InProcess
from impls.reference.pipeline import ReferencePipeline

IMPLEMENTATION = InProcess(
    name="reference",
    description="Pure-Python reference pipeline (stdlib json): every stage, the oracle for verification",
    pipeline=ReferencePipeline,
    kind="realistic",
    runtime="in-process",
)

__all__ = ["IMPLEMENTATION", "ReferencePipeline"]
