"""Where the profiled workload comes from: a workload file, a generator profile (through the
runner's workload cache, so the profile sees byte-identical input to `partbench run`), or — for
tests and ad-hoc experiments — `module.path:ATTR` naming a Workload or a function returning one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError
from bench.profiling.lookup import import_object, is_object_spec
from bench.workloads.model import Workload


@dataclass
class Prepared:
    name: str                # in summaries and file names: the profile, or the workload's own name
    workload: Workload
    target_argv: list[str]   # how the target process loads the same workload


@dataclass(frozen=True)
class WorkloadSource:
    workload: str | None = None  # file path or module:ATTR; None: generate from the profile
    profile: str = "general"
    events: int = 5000
    seed: int = 1

    def prepare(self) -> Prepared:
        """Load (generating and caching if needed) once in the profiler process."""
        if self.workload is not None:
            workload = self.load()
            return Prepared(workload.name, workload, ["--workload", self.workload])
        try:
            from bench.runner import workload_cache
        except ImportError:  # the runner is optional here: generate in memory (target does the same)
            workload = self.load()
            argv = ["--profile", self.profile, "--events", str(self.events), "--seed", str(self.seed)]
            return Prepared(self.profile, workload, argv)
        prepared = workload_cache.generated(self.profile, self.events, self.seed)
        return Prepared(self.profile, prepared.workload, ["--workload", str(prepared.path)])

    def load(self) -> Workload:
        if self.workload is None:
            return _generate(self.profile, self.events, self.seed)
        if not Path(self.workload).exists() and is_object_spec(self.workload):
            return _from_factory(self.workload)
        return _from_file(self.workload)


def _generate(profile: str, events: int, seed: int) -> Workload:
    from bench.workloads import generator

    if profile not in generator.PROFILES:
        raise UserError(f"unknown workload profile {profile!r} (known: {', '.join(generator.PROFILES)})")
    if events < 1:
        raise UserError(f"--events must be at least 1, got {events}")
    return generator.generate(profile, events, seed)


def _from_file(path: str) -> Workload:
    if not Path(path).is_file():
        raise UserError(f"workload file {path}: not found")
    from bench.workloads import format as workload_format

    return workload_format.load(path)  # raises UserError naming file/record on bad input


def _from_factory(spec: str) -> Workload:
    obj = import_object(spec)
    workload = obj() if callable(obj) else obj
    if not isinstance(workload, Workload):
        raise UserError(f"workload {spec}: not a Workload but {type(workload).__name__}")
    return workload
