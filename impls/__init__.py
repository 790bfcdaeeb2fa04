"""Pipeline implementations. The harness sees them only through impls.base and impls.registry."""
