"""Seeded synthetic results documents, for calibrating `compare` and testing reports.

Noise model (one run = one `partbench run`):
  * the run as a whole is shifted by N(0, run_sd) (machine state, neighbours, thermal);
  * each worker process by a further N(0, process_sd) (memory layout, hash seed);
  * with probability `outlier_p` a process is hit by a noisy neighbour and loses U(5%, 20%);
  * values inside a process vary by N(0, value_sd) around that process's mean.
Every document is labelled synthetic in its `source` so it can never pass for a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.reporting.compare import relative_change


@dataclass(frozen=True)
class NoiseModel:
    run_sd: float = 0.010
    process_sd: float = 0.025
    outlier_p: float = 0.05
    value_sd: float = 0.005
    processes: int = 6
    values_per_process: int = 3


def process_means(rng: np.random.Generator, mu: float, model: NoiseModel) -> np.ndarray:
    shift = 1.0 + rng.normal(0.0, model.run_sd)
    means = mu * shift * (1.0 + rng.normal(0.0, model.process_sd, model.processes))
    hit = rng.random(model.processes) < model.outlier_p
    means[hit] *= 1.0 - rng.uniform(0.05, 0.20, int(hit.sum()))
    return means


def process_values(rng: np.random.Generator, means: np.ndarray, model: NoiseModel) -> np.ndarray:
    noise = 1.0 + rng.normal(0.0, model.value_sd, (len(means), model.values_per_process))
    return means[:, None] * noise


def throughput_block(rng: np.random.Generator, means: np.ndarray, model: NoiseModel) -> dict[str, Any]:
    values = process_values(rng, means, model)
    pp = values.mean(axis=1)
    m = float(pp.mean())
    half = float(1.96 * pp.std(ddof=1) / np.sqrt(len(pp))) if len(pp) > 1 else 0.0
    return {"events_per_s": m, "ci95": [m - half, m + half], "per_process": [float(x) for x in pp],
            "values": [float(x) for x in values.ravel()]}


def aa_noise(rng: np.random.Generator, mu: float, model: NoiseModel, seed: int) -> dict[str, Any]:
    """The run's A/A pair: the reference measured twice, compared like `compare` does."""
    a = process_means(rng, mu, model)
    b = process_means(rng, mu, model)
    ch = relative_change(list(a), list(b), seed=seed, n_resamples=2000)
    return {"impl": "reference", "workload": "general", "diff_pct": ch.change * 100,
            "ci95_pct": [ch.ci[0] * 100, ch.ci[1] * 100]}


def make_run(rng: np.random.Generator, true_eps: dict[tuple[str, str], float], model: NoiseModel,
             run_id: str, seed: int = 0, with_noise: bool = True) -> dict[str, Any]:
    """A `partbench.results/1` document with the given true throughput per (impl, workload)."""
    results = []
    for (impl, workload), mu in true_eps.items():
        means = process_means(rng, mu, model)
        results.append({
            "impl": impl, "kind": "realistic", "runtime": "in-process", "workload": workload,
            "workload_file": f"workloads/{workload}.pbw", "workload_checksum": f"synthetic-{workload}",
            "events": 2000, "batch_size": 500,
            "verification": {"status": "passed", "digest": "sha256:synthetic", "detail": ""},
            "throughput": throughput_block(rng, means, model),
            "end_to_end": None, "batch_latency_ms": None, "peak_rss_mb": None,
            "cpu_seconds_per_kevent": None, "stages": None, "warnings": [],
        })
    first_mu = next(iter(true_eps.values()))
    return {
        "schema": "partbench.results/1", "run_id": run_id, "created": "2026-11-27T02:15:00Z",
        "source": "synthetic", "mode": "rigorous", "command": "python -m bench.reporting.calibrate",
        "machine": {"hostname": "synthetic", "cores": 2},
        "settings": {"processes": model.processes, "values_per_process": model.values_per_process},
        "noise": aa_noise(rng, first_mu, model, seed) if with_noise else None,
        "results": results,
    }


def demo_run(seed: int = 7, run_id: str = "synthetic-demo", slowdown: float = 0.0,
             workload_names: tuple[str, ...] = ("general", "hot-key")) -> dict[str, Any]:
    """A full-featured synthetic results document (stages, latencies, memory, one failed
    verification) for tests and for looking at the report's layout."""
    from impls.base import STAGES

    rng = np.random.default_rng(seed)
    model = NoiseModel(processes=6)
    speed = {"reference": 1.0, "msgspec": 1.8, "numba": 2.6, "broken": 3.0}
    true = {(impl, w): 40000.0 * s * (1.0 - slowdown) * (0.8 if w != "general" else 1.0)
            for w in workload_names for impl, s in speed.items()}
    doc = make_run(rng, true, model, run_id, seed=seed)
    weights = rng.dirichlet(np.ones(len(STAGES)) * 2)
    for r in doc["results"]:
        eps = r["throughput"]["events_per_s"]
        batch_ms = 500 / eps * 1000
        samples = [float(x) for x in batch_ms * (1 + np.abs(rng.normal(0, 0.1, 200)))]
        r["batch_latency_ms"] = {"p50": float(np.percentile(samples, 50)), "p99": float(np.percentile(samples, 99)),
                                 "max": max(samples), "samples": samples}
        r["peak_rss_mb"] = float(120 + 60 * rng.random())
        r["cpu_seconds_per_kevent"] = 1000.0 / eps
        total = 2000 / eps
        r["stages"] = {s: {"seconds": float(total * w), "share": float(w)} for s, w in zip(STAGES, weights, strict=True)}
        if r["impl"] == "broken":
            r["verification"] = {"status": "failed", "digest": "sha256:0bad",
                                 "detail": "events stream: record 17 differs ($set.email)"}
            r["throughput"] = None
            r["stages"] = None
    doc["machine"] = {"hostname": "synthetic", "cpu_model": "synthetic CPU", "cores": 2,
                      "platform": "Linux", "python": "3.11", "packages": {"pyperf": "2.11"},
                      "git_commit": "0" * 40, "git_dirty": False}
    doc["command"] = "partbench run --rigorous"
    return doc
