"""Implementations by name. Modules are imported lazily so that one missing extension or
toolchain never stops the others from being listed or run. Each module exposes IMPLEMENTATION
(an object satisfying impls.base.Implementation)."""

from __future__ import annotations

import importlib

from impls.base import Implementation

# name -> module; the reference is the oracle every other implementation is verified against.
_MODULES: dict[str, str] = {
    "reference": "impls.reference",
    "rust": "impls.rust_bridge",
    "rust-floor": "impls.rust_bridge.floor",
    "msgspec": "impls.msgspec_impl",
    "cython-compiled": "impls.cython_impl.compiled",
    "cython": "impls.cython_impl",
    "numba": "impls.numba_impl",
    "combined": "impls.combined",
}

REFERENCE = "reference"


def names() -> list[str]:
    return list(_MODULES)


def get(name: str) -> Implementation:
    try:
        module_name = _MODULES[name]
    except KeyError:
        raise KeyError(f"unknown implementation {name!r} (known: {', '.join(_MODULES)})") from None
    return importlib.import_module(module_name).IMPLEMENTATION


def all_implementations() -> list[Implementation]:
    return [get(name) for name in _MODULES]
