"""The floor variant of the Rust binary: decode both JSON layers and re-encode, no semantics
(with the full pipeline's own shortcuts: `properties` values no stage reads left as their JSON
text, canonically spelled members copied, as the full pipeline's rows copy them)."""

from __future__ import annotations

from impls.rust_bridge.entry import RustBridge

IMPLEMENTATION = RustBridge(
    name="rust-floor",
    description="Rust floor: decode outer JSON and data, re-encode; the least any pipeline must do",
    mode="floor",
    kind="stripped",
)
