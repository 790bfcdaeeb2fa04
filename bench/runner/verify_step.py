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


STRIPPED_DETAIL = ("stripped implementation: every record accounted for and every output record is JSON; "
                   "its outputs are not compared with the reference's (by design they differ)")


def check_stripped(impl: Implementation, workload: Any, batch_size: int, settings: dict[str, Any]) -> dict[str, str]:
    """A stripped implementation (e.g. the Rust floor) cannot equal the reference: check what it
    claims to do instead. Its `kind` and this verdict's `scope` keep it apart from full results."""
    import orjson

    try:
        from bench.verification.process import AccountingError, run
    except ImportError as exc:
        return {"status": "error", "digest": "", "detail": f"cannot verify: {exc}", "scope": "accounting"}
    try:
        outputs = run(impl, workload, batch_size=batch_size, settings=settings)
        for stream, rows in outputs.streams.items():
            for i, row in enumerate(rows):
                try:
                    orjson.loads(row)
                except orjson.JSONDecodeError as exc:
                    return {"status": "failed", "digest": "", "scope": "accounting",
                            "detail": f"{stream}[{i}]: not JSON ({exc})"}
    except AccountingError as exc:
        return {"status": "failed", "digest": "", "detail": str(exc), "scope": "accounting"}
    except Exception as exc:
        return {"status": "error", "digest": "", "detail": f"{type(exc).__name__}: {exc}", "scope": "accounting"}
    return {"status": "passed", "digest": "", "detail": STRIPPED_DETAIL, "scope": "accounting"}


def check(impl: Implementation, impl_spec: str, workload: Any, batch_size: int,
          settings: dict[str, Any]) -> dict[str, str]:
    """The results file's `verification` object: passed | failed | unavailable | error, and its
    `scope`: "outputs" (every output record equals the reference's) or "accounting" (stripped)."""
    verdict = _check(impl, impl_spec, workload, batch_size, settings)
    verdict.setdefault("scope", "accounting" if impl.kind == "stripped" else "outputs")
    return verdict


def _check(impl: Implementation, impl_spec: str, workload: Any, batch_size: int,
           settings: dict[str, Any]) -> dict[str, str]:
    reason = impl.unavailable_reason()
    if reason is not None:
        return {"status": "unavailable", "digest": "", "detail": reason}
    if impl.kind == "stripped":
        return check_stripped(impl, workload, batch_size, settings)
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
            "detail": str(_field(result, "detail") or ""), "scope": "outputs"}
