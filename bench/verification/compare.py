"""Verify an implementation against the reference, canonically, on one workload."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.verification.canonical import Mismatch, compare_outcomes, compare_streams, digest
from bench.verification.process import AccountingError, ProcessedOutputs, run
from bench.workloads.model import Workload
from impls import registry

Status = Literal["passed", "failed", "unavailable", "error"]


@dataclass
class VerifyResult:
    impl: str
    workload: str
    status: Status
    digest: str = ""                 # sha256 of the implementation's canonical outputs ("" if none)
    detail: str = ""                 # first mismatch or the error, one line
    mismatch: Mismatch | None = None
    outcomes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The `verification` object of docs/results.md."""
        return {"status": self.status, "digest": self.digest, "detail": self.detail}


@dataclass
class _Reference:
    workload: Workload               # held so that id(workload) cannot be reused while cached
    outputs: ProcessedOutputs
    digest: str


_CACHE: dict[tuple[int, int, str], _Reference] = {}
_CACHE_LIMIT = 8


def _settings_key(settings: dict[str, Any] | None) -> str:
    return json.dumps(settings or {}, sort_keys=True, default=str)


def reference_outputs(workload: Workload, *, batch_size: int = 500,
                      settings: dict[str, Any] | None = None) -> tuple[ProcessedOutputs, str]:
    """The reference's outputs and digest for this workload, computed once per process."""
    key = (id(workload), batch_size, _settings_key(settings))
    cached = _CACHE.get(key)
    if cached is None or cached.workload is not workload:
        outputs = run(registry.get(registry.REFERENCE), workload, batch_size=batch_size, settings=settings)
        cached = _Reference(workload, outputs, digest(outputs.streams, outputs.outcomes))
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = cached
    return cached.outputs, cached.digest


def clear_cache() -> None:
    _CACHE.clear()


def verify(impl_name: str, workload: Workload, *, batch_size: int = 500,
           settings: dict[str, Any] | None = None) -> VerifyResult:
    """Run `impl_name` and compare every output record with the reference's.

    For the reference itself a second, fresh run is compared with the cached one, which checks
    that it is deterministic.
    """
    name = workload.name
    try:
        impl = registry.get(impl_name)
    except Exception as exc:  # unknown name, or its module failed to import
        return VerifyResult(impl_name, name, "error", detail=f"cannot load implementation: {exc}")
    reason = impl.unavailable_reason()
    if reason is not None:
        return VerifyResult(impl_name, name, "unavailable", detail=reason)
    try:
        expected, expected_digest = reference_outputs(workload, batch_size=batch_size, settings=settings)
    except Exception as exc:
        return VerifyResult(impl_name, name, "error", detail=f"reference failed: {type(exc).__name__}: {exc}")
    try:
        got = run(impl, workload, batch_size=batch_size, settings=settings)
    except AccountingError as exc:
        return VerifyResult(impl_name, name, "error", detail=f"accounting: {exc}")
    except Exception as exc:
        return VerifyResult(impl_name, name, "error", detail=f"{type(exc).__name__}: {exc}")
    mismatch = compare_streams(expected.streams, got.streams) or compare_outcomes(expected.outcomes, got.outcomes)
    if mismatch is not None:
        try:
            got_digest = digest(got.streams, got.outcomes)
        except (ValueError, UnicodeDecodeError):
            got_digest = ""
        return VerifyResult(impl_name, name, "failed", got_digest, mismatch.describe(), mismatch, got.outcomes)
    return VerifyResult(impl_name, name, "passed", expected_digest, "", None, got.outcomes)
