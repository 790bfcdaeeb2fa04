"""Verification before timing: an implementation is timed only if its outputs equal the reference's."""

from __future__ import annotations

from typing import Any

from impls.base import Implementation


def _field(result: Any, name: str) -> Any:
    return result.get(name) if isinstance(result, dict) else getattr(result, name, None)


def load_verifier() -> Any:
    """`bench.verification.compare.verify` (the verification subsystem's library API)."""
    from bench.verification.compare import verify

    return verify


def check(impl: Implementation, impl_spec: str, workload: Any, batch_size: int,
          settings: dict[str, Any]) -> dict[str, str]:
    """The results file's `verification` object: passed | failed | unavailable | error."""
    reason = impl.unavailable_reason()
    if reason is not None:
        return {"status": "unavailable", "digest": "", "detail": reason}
    try:
        verify = load_verifier()
    except ImportError as exc:
        return {"status": "error", "digest": "",
                "detail": f"cannot verify: bench.verification.compare is not available ({exc})"}
    try:
        result = verify(impl_spec, workload, batch_size=batch_size, settings=settings)
    except Exception as exc:  # a crash while verifying is a verdict, not a reason to stop the run
        return {"status": "error", "digest": "", "detail": f"{type(exc).__name__}: {exc}"}
    status = str(_field(result, "status"))
    if status not in ("passed", "failed", "unavailable", "error"):
        return {"status": "error", "digest": "", "detail": f"verification returned unknown status {status!r}"}
    return {"status": status, "digest": str(_field(result, "digest") or ""),
            "detail": str(_field(result, "detail") or "")}
