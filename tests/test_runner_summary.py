"""The end-of-run summary's derived lines, on hand-built results documents."""

from __future__ import annotations

from typing import Any

from bench.runner.summary import floor_lines


def _result(impl: str, eps: float, *, workload: str = "general", kind: str = "realistic",
            status: str = "passed") -> dict[str, Any]:
    return {"impl": impl, "kind": kind, "workload": workload, "batch_size": 500,
            "verification": {"status": status}, "throughput": {"events_per_s": eps}}


def test_each_verified_full_result_as_a_share_of_the_fastest_floor() -> None:
    doc = {"results": [
        _result("reference", 6_000),
        _result("rust", 120_000),
        _result("rust-floor", 240_000, kind="stripped"),
        _result("other-floor", 200_000, kind="stripped"),
        _result("broken", 500_000, status="failed"),          # not verified: never a figure
        _result("rust", 100_000, workload="hot-key"),          # no floor on that workload
    ]}
    assert floor_lines(doc) == [
        "of the floor (rust-floor, 240,000 events/s) on general/b500: rust 50.0%, reference 2.5%"]


def test_no_line_without_a_verified_floor() -> None:
    doc = {"results": [_result("rust", 120_000), _result("rust-floor", 240_000, kind="stripped", status="error")]}
    assert floor_lines(doc) == []
