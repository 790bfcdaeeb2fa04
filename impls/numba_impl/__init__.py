"""`numba`: the reference with the overflow token buckets advanced by a numba kernel over the
batch's keys as integer ids (docs/implementations.md explains why this is the only stage where
numba fits, with measurements). The kernel is machine code without Python frames, so py-spy
cannot attribute time inside it: `opaque_to_sampling` tells the profiler so."""

from impls.base import InProcess
from impls.numba_impl.pipeline import NumbaPipeline

IMPLEMENTATION = InProcess(
    name="numba",
    description="Reference stages with the overflow token buckets as a numba kernel over integer key ids",
    pipeline=NumbaPipeline,
    kind="realistic",
    runtime="in-process",
)
IMPLEMENTATION.opaque_to_sampling = True  # read by bench/profiling/lookup.py

__all__ = ["IMPLEMENTATION", "NumbaPipeline"]
