"""Where the profiled workload comes from: a workload file, a generator profile, or (for tests
and ad-hoc experiments) `module.path:ATTR` naming a Workload or a function returning one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError
from bench.profiling.lookup import import_object, is_object_spec
from bench.workloads.model import Workload


@dataclass(frozen=True)
class WorkloadSource:
    workload: str | None = None  # file path or module:ATTR
    profile: str = "general"
    events: int = 20000
    seed: int = 1

    @property
    def name(self) -> str:
        """The workload's name in summaries and file names: the profile, or the file's stem."""
        if self.workload is None:
            return self.profile
        if _is_factory(self.workload):
            return self.workload.rsplit(":", 1)[1]
        return Path(self.workload).stem.split(".")[0]

    def argv(self) -> list[str]:
        """The same source as command-line arguments for the target process."""
        if self.workload is not None:
            return ["--workload", self.workload]
        return ["--profile", self.profile, "--events", str(self.events), "--seed", str(self.seed)]

    def load(self) -> Workload:
        if self.workload is None:
            return _generate(self.profile, self.events, self.seed)
        if _is_factory(self.workload):
            return _from_factory(self.workload)
        return _from_file(self.workload)


def _is_factory(spec: str) -> bool:
    return not Path(spec).exists() and is_object_spec(spec)


def _generate(profile: str, events: int, seed: int) -> Workload:
    try:
        from bench.workloads import generator
    except ImportError as exc:
        raise UserError(f"workload generator unavailable ({exc}); pass --workload FILE") from None
    if profile not in getattr(generator, "PROFILES", (profile,)):
        raise UserError(f"unknown generator profile {profile!r} (known: {', '.join(generator.PROFILES)})")
    if events < 1:
        raise UserError(f"--events must be at least 1, got {events}")
    return generator.generate(profile, events, seed)


def _from_file(path: str) -> Workload:
    if not Path(path).is_file():
        raise UserError(f"workload file {path}: not found")
    try:
        from bench.workloads import format as workload_format
    except ImportError as exc:
        raise UserError(f"workload file {path}: workload loader unavailable ({exc})") from None
    return workload_format.load(path)  # raises UserError naming file/record on bad input


def _from_factory(spec: str) -> Workload:
    obj = import_object(spec)
    workload = obj() if callable(obj) else obj
    if not isinstance(workload, Workload):
        raise UserError(f"workload {spec}: not a Workload but {type(workload).__name__}")
    return workload
