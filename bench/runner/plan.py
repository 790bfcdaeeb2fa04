"""What a run measures: implementations × workloads × batch sizes, plus the A/A pair.

Order matters: the first benchmark is the reference on the noise workload (A) and the last is the
same again (B), so the A/A difference spans the whole run's drift, not two adjacent minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.runner import defaults
from bench.runner.timing import PyperfOptions


@dataclass(frozen=True)
class WorkloadRequest:
    """Either a generator recipe (profile, events, seed) or a workload file."""

    profile: str | None = None
    events: int = defaults.DEFAULT_PROFILE_EVENTS
    seed: int = defaults.DEFAULT_SEED
    file: Path | None = None

    @property
    def key(self) -> str:
        return str(self.file) if self.file else f"{self.profile}-{self.events}-s{self.seed}"


def default_workloads(seed: int = defaults.DEFAULT_SEED) -> list[WorkloadRequest]:
    return [WorkloadRequest(profile=p, events=n, seed=seed) for p, n in defaults.DEFAULT_WORKLOADS]


@dataclass
class RunConfig:
    impls: list[str]                                   # registry names or module:ATTR
    workloads: list[WorkloadRequest]
    batch_sizes: list[int] = field(default_factory=lambda: [defaults.DEFAULT_BATCH_SIZE])
    settings: dict[str, Any] = field(default_factory=dict)  # stage settings (e.g. a pipeline's [stages])
    pyperf: PyperfOptions = field(default_factory=PyperfOptions)
    stages: bool = True
    aa: bool = True
    rounds: int = 1                                    # interleaved timing rounds (run.py)
    reference: str = defaults.NOISE_IMPL
    output: Path | None = None
    results_dir: Path = Path(defaults.RESULTS_DIR)
    workload_dir: Path = Path(defaults.WORKLOAD_DIR)
    command: str = "partbench run"
    plain: bool | None = None                          # None: decide from the terminal / CI

    @property
    def mode(self) -> str:
        return self.pyperf.mode


@dataclass(frozen=True)
class BenchItem:
    impl: str
    workload: str          # WorkloadRequest.key
    workload_name: str     # profile or file workload name, for bench names and results
    batch_size: int
    role: str = "main"     # "main" | "aa" (the second reference measurement)
    impl_name: str = ""    # the implementation's own name (differs from `impl` for module:ATTR)

    @property
    def bench_name(self) -> str:
        name = f"{self.impl_name or self.impl}/{self.workload_name}/b{self.batch_size}"
        return name + "/aa" if self.role == "aa" else name


def noise_workload(requests: list[WorkloadRequest], names: dict[str, str]) -> WorkloadRequest:
    for request in requests:
        if names[request.key] == defaults.NOISE_PROFILE:
            return request
    return requests[0]


def build_items(config: RunConfig, names: dict[str, str], impl_names: dict[str, str] | None = None
                ) -> list[BenchItem]:
    """Benchmarks in run order. The reference is always measured (ratios and A/A need it).
    `names`: workload key → name; `impl_names`: implementation spec → its name."""
    impl_names = impl_names or {}
    impls = list(dict.fromkeys(config.impls))
    if config.reference not in impls:
        impls.insert(0, config.reference)
    items = [BenchItem(impl, request.key, names[request.key], batch, impl_name=impl_names.get(impl, ""))
             for batch in config.batch_sizes
             for request in config.workloads
             for impl in impls]
    if config.aa:
        noise = noise_workload(config.workloads, names)
        first = BenchItem(config.reference, noise.key, names[noise.key], config.batch_sizes[0],
                          impl_name=impl_names.get(config.reference, ""))
        items.remove(first)
        items.insert(0, first)
        items.append(BenchItem(first.impl, first.workload, first.workload_name, first.batch_size, role="aa",
                               impl_name=first.impl_name))
    return items
