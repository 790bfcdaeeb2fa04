"""The Rust prototype (impls/rust) behind the subprocess bridge: the full pipeline.

The floor variant of the same binary is registered from impls.rust_bridge.floor.
"""

from __future__ import annotations

from impls.rust_bridge.entry import RustBridge
from impls.rust_bridge.session import BridgeError

__all__ = ["IMPLEMENTATION", "BridgeError", "RustBridge"]

IMPLEMENTATION = RustBridge(
    name="rust",
    description="Rust port of the whole pipeline, in a child process over the bridge protocol",
    mode="full",
    kind="realistic",
)
