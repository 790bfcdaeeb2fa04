"""Resolve `--impl`: a registry name, or `module.path:ATTR` for implementations outside it."""

from __future__ import annotations

import importlib

from bench.errors import UserError
from impls.base import Implementation


def resolve(name: str) -> Implementation:
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            impl = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise UserError(f"--impl {name}: cannot load ({exc})") from None
    else:
        from impls import registry

        try:
            impl = registry.get(name)
        except KeyError as exc:
            raise UserError(f"--impl {name}: {exc.args[0]}") from None
        except (ImportError, AttributeError) as exc:
            raise UserError(f"--impl {name}: cannot load ({exc})") from None
    reason = impl.unavailable_reason()
    if reason:
        raise UserError(f"--impl {name}: unavailable ({reason})")
    return impl
