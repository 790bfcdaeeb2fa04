"""Workloads for a run: generated from a profile (cached under workloads/) or loaded from a file.

The pyperf workers and the probe load the workload from its file themselves (so loading is never
timed); the harness process loads it too, once, to verify implementations on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError
from bench.runner import defaults
from bench.workloads.model import Workload

EXTENSION = ".pbw"


@dataclass
class PreparedWorkload:
    name: str          # the profile name, or the file's workload name
    path: Path
    checksum: str
    workload: Workload

    @property
    def events(self) -> int:
        return len(self.workload.records)


def cache_path(profile: str, events: int, seed: int, folder: str | Path = defaults.WORKLOAD_DIR) -> Path:
    return Path(folder) / f"{profile}-{events}-s{seed}{EXTENSION}"


def _generator_version() -> object:
    from bench.workloads import generator

    return getattr(generator, "GENERATOR_VERSION", None)


def _is_current(path: Path, profile: str, events: int, seed: int) -> bool:
    """A cached file is reused only if its recipe (and the generator's version) still match."""
    from bench.workloads import format as workload_format

    try:
        origin = workload_format.read_header(path).get("origin", {})
    except UserError:
        return False
    if (origin.get("profile"), origin.get("events"), origin.get("seed")) != (profile, events, seed):
        return False
    current = _generator_version()
    return current is None or origin.get("generator_version") == current


def generated(profile: str, events: int, seed: int = defaults.DEFAULT_SEED,
              folder: str | Path = defaults.WORKLOAD_DIR) -> PreparedWorkload:
    from bench.workloads import format as workload_format
    from bench.workloads import generator

    if profile not in generator.PROFILES:
        raise UserError(f"unknown workload profile {profile!r} (known: {', '.join(generator.PROFILES)})")
    if events < 1:
        raise UserError(f"--events must be at least 1, got {events}")
    path = cache_path(profile, events, seed, folder)
    workload = None
    if path.exists() and _is_current(path, profile, events, seed):
        try:
            workload = workload_format.load(path)
        except UserError:
            workload = None  # damaged or from an older file format: generate it again
    if workload is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        workload_format.save(generator.generate(profile, events, seed), path)  # atomic
        workload = workload_format.load(path)
    return PreparedWorkload(profile, path, str(workload.header.get("checksum", "")), workload)


def from_file(path: str | Path) -> PreparedWorkload:
    from bench.workloads import format as workload_format

    path = Path(path)
    if not path.exists():
        raise UserError(f"file {path}: no such workload file")
    workload = workload_format.load(path)
    return PreparedWorkload(workload.name, path, str(workload.header.get("checksum", "")), workload)
