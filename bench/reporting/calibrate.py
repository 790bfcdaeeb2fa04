"""How often does `compare` cry wolf, and how often does it catch a real slowdown?

    python -m bench.reporting.calibrate [--trials 1000] [--processes 6] [--seed 1]

Simulates many seeded baseline/candidate pairs of synthetic runs (noise model in
bench/reporting/synthetic.py): A/A pairs (same code) and pairs where the candidate is truly
10% slower, and counts the verdicts. The figures in docs/reports.md come from this script.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace

import numpy as np

from bench.reporting import compare
from bench.reporting.synthetic import NoiseModel, make_run

KEY = ("reference", "general")


@dataclass
class Rates:
    trials: int
    regressions: int
    cannot_judge: int

    @property
    def rate(self) -> float:
        return self.regressions / self.trials


def simulate(trials: int, slowdown: float, model: NoiseModel, seed: int, unit: str = "per_process",
             settings: compare.Settings | None = None) -> Rates:
    """Count "regression" verdicts over `trials` seeded pairs with a true relative `slowdown`.

    unit="values" treats every timed value as an independent sample (what pyperf does), to
    show why partbench compares per-process means instead.
    """
    settings = settings or compare.Settings(n_resamples=2000)
    rng = np.random.default_rng(seed)
    mu = 40000.0
    regressions = cannot = 0
    for i in range(trials):
        base = make_run(rng, {KEY: mu}, model, f"base-{i}", seed=seed + i)
        cand = make_run(rng, {KEY: mu * (1.0 - slowdown)}, model, f"cand-{i}", seed=seed + i)
        if unit == "values":
            for doc in (base, cand):
                tp = doc["results"][0]["throughput"]
                tp["per_process"] = tp["values"]
        verdict = compare.compare_runs(base, cand, replace(settings, seed=seed + i)).rows[0].verdict
        regressions += verdict == compare.REGRESSION
        cannot += verdict == compare.CANNOT_JUDGE
    return Rates(trials=trials, regressions=regressions, cannot_judge=cannot)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    model = NoiseModel(processes=args.processes)
    print(f"noise model: {model}; {args.trials} trials per case; defaults: alpha {compare.DEFAULT_ALPHA}, "
          f"floor {compare.DEFAULT_FLOOR_PCT}%, k {compare.DEFAULT_NOISE_K}")
    default = compare.Settings(n_resamples=2000)
    no_threshold = replace(default, threshold_pct=0.0)   # p < alpha and CI below 0 only
    cases = [("A/A, defaults", 0.0, "per_process", default),
             ("10% slower, defaults", 0.10, "per_process", default),
             ("5% slower, defaults", 0.05, "per_process", default),
             ("A/A, no noise threshold", 0.0, "per_process", no_threshold),
             ("A/A, no threshold, values as samples", 0.0, "values", no_threshold)]
    for label, slowdown, unit, settings in cases:
        r = simulate(args.trials, slowdown, model, args.seed, unit, settings)
        print(f"{label:38s} flagged regression {r.regressions:5d}/{r.trials} = {r.rate * 100:5.1f}%"
              f"   (could not judge: {r.cannot_judge})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
