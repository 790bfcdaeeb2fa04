"""Machine and environment metadata for a results file."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

# Packages whose versions change what is measured.
PACKAGES = ("partbench", "pyperf", "msgspec", "orjson", "cython", "numba", "llvmlite", "numpy",
            "scipy", "zstandard", "confluent-kafka", "rich")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _git(args: list[str], cwd: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_state(cwd: str = ".") -> tuple[str | None, bool | None]:
    """(commit, dirty): dirty when tracked files are modified or untracked files exist."""
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return None, None
    status = _git(["status", "--porcelain"], cwd)
    return commit.strip(), (bool(status.strip()) if status is not None else None)


def rustc_version() -> str | None:
    try:
        out = subprocess.run(["rustc", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def partbench_settings() -> dict[str, str]:
    """The PARTBENCH_* variables set for this run (e.g. PARTBENCH_BRIDGE_SPIN=0 changes the
    bridge's end-to-end figure), so that a results file says how it was measured."""
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("PARTBENCH_")}


def collect(cwd: str = ".") -> dict[str, Any]:
    commit, dirty = git_state(cwd)
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": package_versions(),
        "rustc": rustc_version(),
        "git_commit": commit,
        "git_dirty": dirty,
        "settings_from_environment": partbench_settings(),
    }
