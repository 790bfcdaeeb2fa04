"""`partbench compare`: statistics, verdicts and exit codes."""

from __future__ import annotations

import argparse
import copy
import json

import numpy as np
import pytest

from bench.errors import UserError
from bench.reporting import cli, compare
from bench.reporting.synthetic import NoiseModel, make_run

KEY = ("reference", "general")


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    try:
        return args.func(args)
    except UserError as exc:   # what bench.cli.main does
        return exc.exit_code


def doc(per_process: list[float], noise=(0.5, [-1.5, 2.5]), run_id="r", impl="reference") -> dict:
    m = float(np.mean(per_process))
    return {
        "schema": "partbench.results/1", "run_id": run_id,
        "noise": {"impl": "reference", "workload": "general", "diff_pct": noise[0], "ci95_pct": noise[1]}
        if noise else None,
        "results": [{
            "impl": impl, "workload": "general", "workload_checksum": "abc",
            "verification": {"status": "passed", "digest": "", "detail": ""},
            "throughput": {"events_per_s": m, "ci95": [m * 0.99, m * 1.01], "per_process": per_process,
                           "values": per_process},
        }],
    }


BASE = [40000.0, 40800.0, 39500.0, 40300.0, 39900.0, 40600.0, 40100.0, 39700.0]


def test_relative_change_is_reproducible_and_brackets_the_truth():
    slow = [v * 0.9 for v in BASE]
    a = compare.relative_change(BASE, slow, seed=1)
    b = compare.relative_change(BASE, slow, seed=1)
    assert a == b
    assert a.change == pytest.approx(-0.10)
    assert a.ci[0] < -0.10 < a.ci[1] and a.ci[1] < 0
    assert a.p_value < 0.01


def test_injected_ten_percent_slowdown_is_a_regression_and_aa_is_not(tmp_path):
    base, slow = tmp_path / "base.json", tmp_path / "slow.json"
    base.write_text(json.dumps(doc(BASE)))
    slow.write_text(json.dumps(doc([v * 0.9 for v in BASE])))
    assert run_cli("compare", str(base), str(slow)) == compare.EXIT_REGRESSION
    assert run_cli("compare", str(base), str(base)) == compare.EXIT_OK
    # Faster is not a regression.
    assert run_cli("compare", str(slow), str(base)) == compare.EXIT_OK


def test_significant_change_inside_the_noise_threshold_is_not_a_regression():
    slow = [v * 0.97 for v in BASE]    # clearly significant, but 3% < 6% measured A/A noise
    c = compare.compare_runs(doc(BASE, noise=(4.0, [-2.0, 6.0])), doc(slow))
    row = c.rows[0]
    assert row.change.p_value < 0.05
    assert c.threshold_pct == pytest.approx(4.0)       # max(|diff|, CI half-width 4.0)
    assert row.verdict == compare.NO_CHANGE and "noise" in row.reason
    # With a lower fixed threshold the same data is a regression.
    c2 = compare.compare_runs(doc(BASE), doc(slow), compare.Settings(threshold_pct=1.0))
    assert c2.rows[0].verdict == compare.REGRESSION


def test_threshold_floor_applies_when_noise_is_small_or_missing():
    t, why = compare.choose_threshold(doc(BASE, noise=(0.2, [-0.5, 0.9])), doc(BASE), compare.Settings())
    assert t == compare.DEFAULT_FLOOR_PCT and "floor" in why
    t, why = compare.choose_threshold(doc(BASE, noise=None), doc(BASE, noise=None), compare.Settings())
    assert t == compare.DEFAULT_FLOOR_PCT and "no A/A" in why
    t, _ = compare.choose_threshold(doc(BASE, noise=(1.0, [-7.0, 9.0])), doc(BASE),
                                    compare.Settings(noise_k=1.5))
    assert t == pytest.approx(12.0)


def test_failed_verification_missing_result_and_too_few_processes_cannot_be_judged(tmp_path):
    bad = doc(BASE)
    bad["results"][0]["verification"] = {"status": "failed", "digest": "", "detail": "record 3 differs"}
    bad["results"][0]["throughput"] = None
    row = compare.compare_runs(doc(BASE), bad).rows[0]
    assert row.verdict == compare.CANNOT_JUDGE and "record 3 differs" in row.reason

    other = doc(BASE, impl="msgspec")
    c = compare.compare_runs(doc(BASE), other)
    verdicts = {(r.impl, r.verdict) for r in c.rows}
    assert verdicts == {("reference", compare.CANNOT_JUDGE), ("msgspec", compare.NEW)}
    assert c.exit_code == compare.EXIT_CANNOT_JUDGE

    few = compare.compare_runs(doc(BASE[:3]), doc([v * 0.5 for v in BASE[:3]]))
    assert few.rows[0].verdict == compare.CANNOT_JUDGE and "too few processes" in few.rows[0].reason

    changed = doc(BASE)
    changed["results"][0]["workload_checksum"] = "other"
    assert "workload" in compare.compare_runs(doc(BASE), changed).rows[0].reason

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(doc(BASE)))
    b.write_text(json.dumps(bad))
    assert run_cli("compare", str(a), str(b)) == compare.EXIT_CANNOT_JUDGE
    assert run_cli("compare", str(a), str(tmp_path / "missing.json")) == compare.EXIT_CANNOT_JUDGE


def test_regression_wins_over_cannot_judge():
    base = doc(BASE)
    base["results"].append(copy.deepcopy(base["results"][0]) | {"impl": "gone"})
    c = compare.compare_runs(base, doc([v * 0.85 for v in BASE]))
    assert c.exit_code == compare.EXIT_REGRESSION


def test_markdown_output_escapes_and_lists_every_result(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    base = doc(BASE, impl="pipe|impl")
    a.write_text(json.dumps(base))
    b.write_text(json.dumps(doc([v * 0.9 for v in BASE], impl="pipe|impl")))
    assert run_cli("compare", str(a), str(b), "--markdown") == 1
    out = capsys.readouterr().out
    assert "| pipe\\|impl | general |" in out
    assert "regression" in out and "-10.0%" in out


def test_terminal_table_names_the_verdict(tmp_path, capsys):
    a = tmp_path / "a.json"
    a.write_text(json.dumps(doc(BASE)))
    assert run_cli("compare", str(a), str(a)) == 0
    out = capsys.readouterr().out
    assert "no change" in out and "no regression" in out


def test_bad_options_and_bad_files_are_one_line_errors(tmp_path):
    a = tmp_path / "a.json"
    a.write_text("{not json")
    with pytest.raises(UserError, match=r"a\.json: not JSON: line 1"):
        from bench.reporting.load import load_results
        load_results(a)
    assert run_cli("compare", str(a), str(a), "--alpha", "2") == 2


def test_seeded_synthetic_pairs_quick_rates():
    # A small version of `python -m bench.reporting.calibrate` (full figures in docs/reports.md).
    rng = np.random.default_rng(5)
    model = NoiseModel(processes=12)
    settings = compare.Settings(n_resamples=1000)
    aa = slow = 0
    for i in range(30):
        base = make_run(rng, {KEY: 40000.0}, model, "b", seed=i)
        same = make_run(rng, {KEY: 40000.0}, model, "c", seed=i)
        worse = make_run(rng, {KEY: 36000.0}, model, "d", seed=i)
        aa += compare.compare_runs(base, same, settings).rows[0].verdict == compare.REGRESSION
        slow += compare.compare_runs(base, worse, settings).rows[0].verdict == compare.REGRESSION
    assert aa <= 1
    assert slow >= 20


def test_a_very_noisy_run_says_it_cannot_see_small_changes():
    c = compare.compare_runs(doc(BASE, noise=(25.0, [-10.0, 60.0])), doc(BASE))
    assert c.threshold_pct == pytest.approx(35.0)
    assert "too noisy to see changes smaller than 35%" in c.summary
