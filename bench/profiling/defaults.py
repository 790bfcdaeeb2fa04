"""Profiling defaults: the default workload is `partbench run`'s first default workload, so that
`make profile` explains the figures `make bench` measures."""

from __future__ import annotations

try:
    from bench.runner.defaults import DEFAULT_BATCH_SIZE, DEFAULT_SEED, DEFAULT_WORKLOADS
except ImportError:  # the runner is not a hard dependency of the profiler
    DEFAULT_BATCH_SIZE, DEFAULT_SEED, DEFAULT_WORKLOADS = 500, 1, (("general", 5000),)

DEFAULT_PROFILE, DEFAULT_EVENTS = DEFAULT_WORKLOADS[0]
DEFAULT_RATE_HZ = 200       # ~1000 samples in the default 5 s: shares to within ~3 points
DEFAULT_DURATION_S = 5
