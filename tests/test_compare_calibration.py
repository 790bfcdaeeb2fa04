"""Over many seeded synthetic pairs, compare stays quiet on A/A and catches a 10% slowdown.

The full figures (1000 trials per case) are in docs/reports.md, from
`python -m bench.reporting.calibrate`; this runs a smaller, seeded version of the same study.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.reporting import calibrate, compare
from bench.reporting.synthetic import NoiseModel

pytestmark = pytest.mark.slow
TRIALS = 300
SETTINGS = compare.Settings(n_resamples=2000)


def test_false_positive_and_detection_rates_with_defaults():
    model = NoiseModel(processes=12)
    aa = calibrate.simulate(TRIALS, 0.0, model, seed=11, settings=SETTINGS)
    slow = calibrate.simulate(TRIALS, 0.10, model, seed=12, settings=SETTINGS)
    assert aa.rate <= 0.02, f"A/A flagged {aa.regressions}/{aa.trials}"
    assert slow.rate >= 0.80, f"10% slowdown caught only {slow.regressions}/{slow.trials}"
    assert aa.cannot_judge == slow.cannot_judge == 0


def test_per_process_means_cry_wolf_less_than_values_as_independent_samples():
    # Why the unit is the per-process mean: values inside one process share its offset.
    model = NoiseModel(processes=12)
    no_threshold = replace(SETTINGS, threshold_pct=0.0)
    per_process = calibrate.simulate(200, 0.0, model, seed=13, settings=no_threshold)
    values = calibrate.simulate(200, 0.0, model, seed=13, unit="values", settings=no_threshold)
    assert values.rate > 1.5 * per_process.rate
    # And the noise threshold is what brings the per-process rate under alpha.
    assert calibrate.simulate(200, 0.0, model, seed=13, settings=SETTINGS).rate < per_process.rate
