"""Cython implementations (docs/implementations.md):

- `cython-compiled`: the reference stage modules compiled as-is (impls.cython_impl._ref, built by
  setup.py from copies of impls/reference/*.py): what compiling unchanged Python buys.
- `cython`: the compiled reference plus the hot stages rewritten with static types
  (impls/cython_impl/_typed.pyx).

Both need the extensions built by `pip install -e .` (make setup). When they are missing this
module still imports, and the implementations report why they are unavailable instead of
silently running pure Python.
"""

from __future__ import annotations

import importlib
import importlib.machinery

from impls.base import InProcess

_REBUILD = "run `make setup` (pip install -e .) with a C compiler and Cython>=3"


def compiled_module(name: str):
    """Import `name` and insist it is a compiled extension, not a .py file picked up instead."""
    module = importlib.import_module(name)
    path = getattr(module, "__file__", "") or ""
    if not path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
        raise ImportError(f"{name} is not a compiled extension ({path or 'no file'})")
    return module


def _load(attribute: str) -> tuple[type | None, str | None]:
    try:
        from impls.cython_impl import pipeline
        return getattr(pipeline, attribute), None
    except ImportError as exc:
        return None, f"Cython extension not built ({exc}); {_REBUILD}"


_compiled, _compiled_missing = _load("CompiledReferencePipeline")
_typed, _typed_missing = _load("CythonPipeline")

COMPILED_IMPLEMENTATION = InProcess(
    name="cython-compiled",
    description="Reference stage modules compiled unchanged by Cython (no static types; stdlib json)",
    pipeline=_compiled, kind="realistic", missing=_compiled_missing,
)

IMPLEMENTATION = InProcess(
    name="cython",
    description="Cython-compiled reference plus statically typed hot stages (.pyx); stdlib json kept",
    pipeline=_typed, kind="realistic", missing=_typed_missing,
)
