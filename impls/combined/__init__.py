"""`combined`: the best in-process combination measured (docs/implementations.md) — msgspec decode
with the Cython byte scans, msgspec encoding with Cython timestamp formatting, the Cython typed
property_defs, and the Cython-compiled reference for every other stage. Unavailable, like
`cython`, when the Cython extensions were not built."""

from __future__ import annotations

from impls.base import InProcess


def _load() -> tuple[type | None, str | None]:
    from impls.cython_impl import IMPLEMENTATION as cython_impl

    if cython_impl.unavailable_reason() is not None:
        return None, cython_impl.unavailable_reason()
    from impls.combined.pipeline import CombinedPipeline

    return CombinedPipeline, None


_pipeline, _missing = _load()

IMPLEMENTATION = InProcess(
    name="combined",
    description="msgspec decode + msgspec encoding + Cython typed property_defs/timestamps over the Cython-compiled reference",
    pipeline=_pipeline, kind="realistic", missing=_missing,
)
