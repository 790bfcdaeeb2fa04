"""The Rust crate's unit tests under valgrind's memcheck: the SIMD block loops in scan.rs write
through raw pointers, and a store past a buffer's end passes every output comparison yet corrupts
the heap. The unit tests include strings whose buffers come from the system allocator (past
1 KiB), where memcheck sees such a store (`json::tests::sparse_escapes_near_the_end` caught one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.rust, pytest.mark.slow]

CRATE = Path(__file__).resolve().parent.parent / "impls" / "rust"


def _test_binary() -> str:
    """Build the crate's unit-test binary (release, as it runs) and return its path."""
    proc = subprocess.run(
        ["cargo", "test", "--release", "--offline", "--no-run", "--message-format=json", "-q"],
        cwd=CRATE, capture_output=True, text=True, check=True,
    )
    for line in proc.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("profile", {}).get("test") and msg.get("executable"):
            return msg["executable"]
    raise AssertionError("cargo built no unit-test binary")


def test_unit_tests_clean_under_memcheck() -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        pytest.fail("valgrind not installed: run `make apt` (the Makefile installs it)", pytrace=False)
    proc = subprocess.run([valgrind, "--error-exitcode=9", "-q", _test_binary()], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]


def test_child_clean_under_memcheck_on_every_profile(tmp_path: Path) -> None:
    """The child itself, through the real bridge (shared memory included), on every generated
    profile (hostile too), under memcheck: outputs equal to the reference's, and no memcheck error.
    (Blocks under 1 KiB come from the crate's pool, where memcheck cannot see an overflow; the
    unescape buffers and output rows of general records are larger.)"""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        pytest.fail("valgrind not installed: run `make apt` (the Makefile installs it)", pytrace=False)
    from impls.rust_bridge.binary import binary_path  # noqa: PLC0415 - only this test needs it

    logs = tmp_path / "memcheck"
    logs.mkdir()
    wrapper = tmp_path / "partbench-rust-memcheck"
    wrapper.write_text(f'#!/bin/sh\nexec {valgrind} -q --log-file={logs}/%p.log {binary_path()} "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "PARTBENCH_RUST_BIN": str(wrapper)}
    proc = subprocess.run([sys.executable, "-m", "bench.cli", "verify", "--impl", "rust", "--events", "400"],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.count("PASSED") == 6, proc.stdout
    reports = {p.name: p.read_text() for p in logs.iterdir() if p.read_text().strip()}
    assert not reports, next(iter(reports.values()))[:3000]
