"""Workload fixtures shared by the test suite (owned by the workloads subsystem).

- `workload_files` (session fixture): profile name -> path of a small generated workload file
  (SMALL_EVENTS events, seed SMALL_SEED), written once per test session into a temporary folder.
- `small_workload(profile, events=SMALL_EVENTS, seed=SMALL_SEED)`: the same workloads in memory
  (cached; treat as read-only). Importable as a plain function, and also available as a fixture of
  the same name that returns the function.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import pytest

from bench.workloads import format as workload_format
from bench.workloads import generator
from bench.workloads.model import Workload

SMALL_EVENTS = 300
SMALL_SEED = 1


@functools.lru_cache(maxsize=32)
def _cached(profile: str, events: int, seed: int) -> Workload:
    return generator.generate(profile, events, seed)


def small_workload(profile: str, events: int = SMALL_EVENTS, seed: int = SMALL_SEED) -> Workload:
    """A small generated workload (cached per session; the header is a copy, records are shared)."""
    cached = _cached(profile, events, seed)
    return Workload(cached.name, copy.deepcopy(cached.header), list(cached.records))


@pytest.fixture(name="small_workload", scope="session")
def _small_workload_fixture():
    return small_workload


@pytest.fixture(scope="session")
def workload_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("workloads")
    paths = {}
    for profile in generator.PROFILES:
        path = folder / f"{profile}-{SMALL_EVENTS}-s{SMALL_SEED}.pbw"
        workload_format.save(small_workload(profile), path)
        paths[profile] = path
    return paths
