"""Build hook for the Cython implementation's extensions (see impls/cython_impl/ and
docs/implementations.md).

Three sets of extensions:
- `impls.cython_impl._ref.*`: the reference stage modules compiled as-is. They are copied to
  build/cython_ref/ with `impls.reference` imports rewritten to `impls.cython_impl._ref`, so the
  compiled modules call each other while impls/reference stays pure Python.
- `impls.cython_impl._typed`: the hot stages rewritten in Cython with static types (.pyx).
- `impls.rust_bridge._wire`: the Rust bridge's batch writer (without it the bridge uses marshal).

If Cython is missing or a module fails to compile, the package still installs without them and the
Cython implementations report themselves unavailable (impls/cython_impl/__init__.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
REFERENCE = Path("impls/reference")
GENERATED = Path("build/cython_ref")
COMPILED_PACKAGE = "impls.cython_impl._ref"
TYPED_SOURCES = {
    "impls.cython_impl._typed": "impls/cython_impl/_typed.pyx",
    # the Rust bridge's batch writer (falls back to marshal when not built)
    "impls.rust_bridge._wire": "impls/rust_bridge/_wire.pyx",
}
DIRECTIVES = {
    "language_level": 3,
    # As-is compile: annotations stay documentation, so `x: dict` does not start rejecting None.
    "annotation_typing": False,
}


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _reference_copies() -> list[Extension]:
    """Copies of the reference modules with their imports pointed at the compiled package."""
    package_dir = GENERATED.joinpath(*COMPILED_PACKAGE.split("."))
    # __init__.py files so that Cython derives the same qualified names as the extensions.
    for depth in range(1, len(COMPILED_PACKAGE.split(".")) + 1):
        _write_if_changed(GENERATED.joinpath(*COMPILED_PACKAGE.split(".")[:depth], "__init__.py"), "")
    extensions = []
    for source in sorted((ROOT / REFERENCE).glob("*.py")):
        if source.name == "__init__.py":
            continue
        text = source.read_text().replace("impls.reference", COMPILED_PACKAGE)
        copy = package_dir / source.name
        _write_if_changed(ROOT / copy, text)
        extensions.append(Extension(f"{COMPILED_PACKAGE}.{source.stem}", [str(copy)]))
    return extensions


def _extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("partbench: Cython not available; building without the Cython implementations", file=sys.stderr)
        return []
    modules = _reference_copies() + [Extension(name, [src]) for name, src in TYPED_SOURCES.items()]
    built = []
    for module in modules:  # one at a time, so one failing module does not drop the others
        try:
            built.extend(cythonize([module], compiler_directives=DIRECTIVES, quiet=True))
        except Exception as exc:  # Cython compile errors raise CompileError/SystemExit-like errors
            print(f"partbench: Cython failed on {module.name}: {exc}", file=sys.stderr)
    return built


class OptionalBuildExt(build_ext):
    """A C compiler failure skips that extension instead of failing the install."""

    def build_extensions(self) -> None:
        self._failed: set[str] = set()
        super().build_extensions()
        # later steps (in-place copy, editable/wheel outputs) must not look for the failed ones
        self.extensions = [ext for ext in self.extensions if ext.name not in self._failed]

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._failed.add(ext.name)
            print(f"partbench: could not build {ext.name} ({exc}); its implementation will be unavailable",
                  file=sys.stderr)


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
