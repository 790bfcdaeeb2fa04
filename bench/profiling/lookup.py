"""Finding an implementation by registry name or `module.path:ATTR`, and whether py-spy can see it."""

from __future__ import annotations

import importlib
import os
import re
import sys

from bench.errors import UserError
from impls import registry
from impls.base import Implementation

_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def is_object_spec(spec: str) -> bool:
    return bool(_SPEC.match(spec))


def import_object(spec: str) -> object:
    """The object named by `module.path:ATTR`; the working directory is importable (as with
    `python -m`, and as uvicorn does), so `tests.module:ATTR` works from the repository root."""
    module_name, attr = spec.split(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"{spec}: cannot import {module_name}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UserError(f"{spec}: {module_name} has no attribute {attr}") from None


def resolve(spec: str) -> Implementation:
    """A registry name, or `module.path:ATTR` (for implementations outside the registry, e.g. tests)."""
    if is_object_spec(spec):
        return import_object(spec)  # type: ignore[return-value]
    try:
        return registry.get(spec)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None


def load_error(spec: str) -> str | None:
    """Why a registered implementation's module cannot even be imported (None if it can)."""
    try:
        resolve(spec)
    except UserError as exc:
        return str(exc)
    except Exception as exc:  # a broken module must not stop `--all`
        return f"cannot import: {type(exc).__name__}: {exc}"
    return None


def sampling_blind_reason(impl: Implementation) -> str | None:
    """Why py-spy cannot see into this implementation's stages (None when it can).

    Out-of-process implementations run their stages in a child py-spy does not sample; an
    implementation can also declare `opaque_to_sampling = True` (e.g. numba-compiled stages,
    whose machine code carries no Python frames). A missing attribute means False.
    """
    if getattr(impl, "runtime", "in-process") == "subprocess":
        return "runs its stages in a child process that py-spy cannot sample"
    if getattr(impl, "opaque_to_sampling", False):
        return "declares its stages opaque to sampling (compiled code without Python frames)"
    return None
