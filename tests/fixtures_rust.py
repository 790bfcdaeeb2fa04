"""Fixtures for the Rust prototype's tests (the `rust` marker): the built binary's floor mode."""

from __future__ import annotations

import pytest

from impls import registry
from impls.rust_bridge import RustBridge


@pytest.fixture(scope="module")
def rust_floor() -> RustBridge:
    """The registered `rust-floor`; fails with the build hint when the binary is not built."""
    impl = registry.get("rust-floor")
    reason = impl.unavailable_reason()
    if reason is not None:
        pytest.fail(f"rust-floor unavailable: {reason}")
    assert isinstance(impl, RustBridge)
    return impl
