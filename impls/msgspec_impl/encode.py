"""msgspec JSON encoding with the reference's output rules as the fallback.

msgspec writes UTF-8 rather than ASCII escapes (allowed: docs/pipeline.md, "JSON rules"), but it
refuses strings holding a lone surrogate, which the rules require to come out as `\\udXXX`: those
rare records are encoded by the reference encoder instead.
"""

from __future__ import annotations

from typing import Any

import msgspec

from impls.reference import jsonrules

_encode = msgspec.json.Encoder().encode
_FALLBACK_ERRORS = (UnicodeEncodeError, TypeError, OverflowError, ValueError)


def dumps_bytes(value: Any) -> bytes:
    """One output record as compact JSON bytes."""
    try:
        return _encode(value)
    except _FALLBACK_ERRORS:
        return jsonrules.dumps_bytes(value)


def dumps_text(value: Any) -> str:
    """Compact JSON text for the fields that hold JSON as a string (properties, details…)."""
    try:
        return _encode(value).decode("utf-8")
    except _FALLBACK_ERRORS:
        return jsonrules.dumps(value)
