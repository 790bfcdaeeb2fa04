"""Every default of `partbench run` in one place, with the reason for each.

The default workload set is what `make bench` measures. Event counts are chosen so that a
quick run (`--fast`) of every registered implementation (reference, msgspec, cython, numba,
rust, rust-floor: 6–8 of them) over these workloads, plus the A/A pair, finishes within
5 minutes on a 2-core machine: the slow reference dominates, at roughly
(processes + calibration + probe + verify) ≈ 12 passes per workload.
"""

from __future__ import annotations

# The batch size the real consumer uses by default (pipelines/*.toml may override it).
DEFAULT_BATCH_SIZE = 500

# Generated workloads are seeded so every run measures byte-identical input.
DEFAULT_SEED = 1

# (profile, events): the typical lane, the overflow lane and the merge-heavy lane.
DEFAULT_WORKLOADS: tuple[tuple[str, int], ...] = (
    ("general", 5_000),
    ("hot-key", 2_500),
    ("identify-heavy", 2_500),
)

# Events per generated workload when `--profile NAME` is given without `--events`.
DEFAULT_PROFILE_EVENTS = 10_000

# The A/A pair: the reference measured twice on this workload (first and last benchmark of the run).
NOISE_IMPL = "reference"
NOISE_PROFILE = "general"

# pyperf's base worker-process and values-per-process counts. pyperf's own `--fast` halves the
# processes (3 at least) and uses 2 values; `--rigorous` doubles the processes. So:
#   fast: 4 processes × 2 values, normal: 8 × 3, rigorous: 16 × 3 (each after 1 warm-up value).
BASE_PROCESSES = 8
BASE_VALUES = 3
WARMUPS = 1

# The probe (latency, memory, CPU; bench/runner/probe.py) repeats whole passes for about this many
# seconds (at least one pass, at most MAX_LATENCY_SAMPLES batches), after one warm-up pass. The stage
# breakdown then adds one instrumented pass.
PROBE_BUDGET_S = {"fast": 1.0, "normal": 5.0, "rigorous": 15.0}
MAX_LATENCY_SAMPLES = 5000

# A pyperf worker that takes longer than this (seconds) is killed: no hung benchmark.
WORKER_TIMEOUT_S = 900

# Where generated workloads are cached (gitignored) and results are written.
WORKLOAD_DIR = "workloads"
RESULTS_DIR = "results"
PIPELINES_DIR = "pipelines"
