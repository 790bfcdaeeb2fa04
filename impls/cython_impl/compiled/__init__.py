"""Registry module for `cython-compiled` (the reference compiled unchanged)."""

from impls.cython_impl import COMPILED_IMPLEMENTATION as IMPLEMENTATION

__all__ = ["IMPLEMENTATION"]
