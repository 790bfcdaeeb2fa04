"""Where the Rust prototype's binary is, and whether it is usable (built and up to date)."""

from __future__ import annotations

import os
from pathlib import Path

CRATE_DIR = Path(__file__).resolve().parent.parent / "rust"
BINARY_NAME = "partbench-rust"
BUILD_HINT = "run `make rust`"


def binary_path() -> Path:
    """PARTBENCH_RUST_BIN, else the cargo target dir's release binary (CARGO_TARGET_DIR honoured)."""
    explicit = os.environ.get("PARTBENCH_RUST_BIN")
    if explicit:
        return Path(explicit)
    target = os.environ.get("CARGO_TARGET_DIR")
    target_dir = Path(target) if target else CRATE_DIR / "target"
    if not target_dir.is_absolute():
        target_dir = CRATE_DIR / target_dir
    return target_dir / "release" / BINARY_NAME


def _newest_source_mtime() -> float:
    paths = [CRATE_DIR / "Cargo.toml", *CRATE_DIR.glob("src/**/*.rs")]
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


def unavailable_reason() -> str | None:
    """None when the binary exists and is newer than the crate's sources, else one line why not."""
    path = binary_path()
    if not path.is_file() or not os.access(path, os.X_OK):
        return f"Rust binary not built ({path} missing): {BUILD_HINT}"
    if "PARTBENCH_RUST_BIN" not in os.environ and path.stat().st_mtime < _newest_source_mtime():
        # A stale binary would measure (and verify) code that is no longer in the tree.
        return f"Rust binary {path} is older than the crate's sources: {BUILD_HINT}"
    return None
