"""The floor variant of the Rust binary: decode both JSON layers and re-encode, no semantics
(canonically spelled `properties` members copied, as the full pipeline's rows copy them)."""

from __future__ import annotations

from impls.rust_bridge.entry import RustBridge

IMPLEMENTATION = RustBridge(
    name="rust-floor",
    description="Rust floor: decode outer JSON and data, re-encode; the least any pipeline must do",
    mode="floor",
    kind="stripped",
)
