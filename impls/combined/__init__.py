"""`combined`: the best in-process combination measured (docs/implementations.md) — `cython`'s
statically typed stages (decode glue, normalize, personless persons, the event row, property_defs,
emit) with orjson parsing in decode and msgspec encoding, over the Cython-compiled reference for
every other stage. Unavailable, like `cython`, when the Cython extensions were not built."""

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
    description="orjson decode + msgspec encoding + Cython typed stages over the Cython-compiled reference",
    pipeline=_pipeline, kind="realistic", missing=_missing,
)
