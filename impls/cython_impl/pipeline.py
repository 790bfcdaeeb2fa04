"""Pipelines built on the Cython-compiled reference (import fails when the extensions are missing)."""

from __future__ import annotations

from impls.cython_impl import compiled_module

_ref_pipeline = compiled_module("impls.cython_impl._ref.pipeline")
_typed = compiled_module("impls.cython_impl._typed")

CompiledReferencePipeline = _ref_pipeline.ReferencePipeline


class CythonPipeline(CompiledReferencePipeline):
    pass
