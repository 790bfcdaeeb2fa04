"""`partbench nightly`: history, two-run confirmation, exit codes, report with trends."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

from bench.errors import UserError
from bench.reporting import cli, nightly
from bench.reporting.synthetic import NoiseModel, make_run

KEY = ("reference", "general")
MODEL = NoiseModel(processes=12)


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    try:
        return args.func(args)
    except UserError as exc:
        return exc.exit_code


@pytest.fixture
def night(tmp_path):
    """Run one nightly on a synthetic run with the given true throughput; returns the exit code."""
    rng = np.random.default_rng(42)
    count = [0]

    def go(eps: float, verified: bool = True) -> int:
        i = count[0]
        count[0] += 1
        doc = make_run(rng, {KEY: eps, ("numba", "general"): 2.5 * 40000.0}, MODEL, f"2026112{i}T021500Z", seed=i)
        if not verified:
            doc["results"][0]["verification"] = {"status": "failed", "digest": "", "detail": "record 9 differs"}
            doc["results"][0]["throughput"] = None
        path = tmp_path / f"run{i}.json"
        path.write_text(json.dumps(doc))
        return run_cli("nightly", "--from-results", str(path), "--history", str(tmp_path / "history"),
                       "--machine", "testbox", "-o", str(tmp_path / "nightly.html"),
                       "--markdown-out", str(tmp_path / "summary.md"))
    return go


@pytest.mark.slow
def test_regression_is_confirmed_only_by_the_second_slow_run(night, tmp_path, capsys):
    assert night(40000) == 0
    assert "first run" in capsys.readouterr().out
    assert night(40000) == 0
    assert night(36000) == 0                        # one slow run: suspected, not a failure
    out = capsys.readouterr().out
    assert "suspected" in out and "reference on general" in out
    assert night(36000) == 1                        # confirmed by the second consecutive run
    out = capsys.readouterr().out
    assert "REGRESSION confirmed by two consecutive runs: reference on general" in out
    assert "numba" not in out.split("confirmed by two consecutive runs:")[1].splitlines()[0]
    assert "REGRESSION confirmed" in (tmp_path / "summary.md").read_text()
    html = (tmp_path / "nightly.html").read_text()
    assert html.count('data-chart="trend"') == 2    # one per series
    assert "confirmed" in html and "asv step detection" in html
    assert night(36000) == 0                        # the new level is the new normal: reported once
    index = json.loads((tmp_path / "history" / "testbox" / "index.json").read_text())
    assert len(index["runs"]) == 5


@pytest.mark.slow
def test_a_one_night_blip_is_never_confirmed(night):
    assert [night(40000), night(40000), night(36000), night(40000), night(40000)] == [0, 0, 0, 0, 0]


def test_unverified_latest_run_cannot_be_judged(night, tmp_path):
    assert night(40000) == 0
    assert night(40000, verified=False) == 2
    assert "record 9 differs" in (tmp_path / "nightly.html").read_text()


def test_bench_runs_as_a_subprocess_with_fast_passthrough(tmp_path, monkeypatch):
    calls = []
    doc = make_run(np.random.default_rng(1), {KEY: 40000.0}, MODEL, "sub-run", seed=1)

    def fake_run(cmd, check=False):
        calls.append(cmd)
        out = cmd[cmd.index("-o") + 1]
        with open(out, "w") as fh:
            json.dump(doc, fh)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(nightly.subprocess, "run", fake_run)
    out = tmp_path / "nightly.json"
    assert run_cli("nightly", "--fast", "--results-out", str(out), "--history", str(tmp_path / "h"),
                   "--machine", "m", "-o", str(tmp_path / "n.html")) == 0
    assert calls == [[sys.executable, "-m", "bench.cli", "run", "--fast", "-o", str(out)]]
    assert (tmp_path / "h" / "m" / "sub-run.json").exists()

    calls.clear()
    monkeypatch.setattr(nightly.subprocess, "run", lambda cmd, check=False: subprocess.CompletedProcess(cmd, 3))
    assert run_cli("nightly", "--results-out", str(tmp_path / "x.json"), "--history", str(tmp_path / "h"),
                   "--machine", "m", "-o", str(tmp_path / "n2.html")) == 2
    assert not (tmp_path / "n2.html").exists()
    index = json.loads((tmp_path / "h" / "m" / "index.json").read_text())
    assert len(index["runs"]) == 1                  # the failed run appended nothing


def test_default_bench_command_is_rigorous(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(nightly.subprocess, "run",
                        lambda cmd, check=False: seen.append(cmd) or subprocess.CompletedProcess(cmd, 1))
    with pytest.raises(UserError, match="exited with 1"):
        nightly.run_bench(tmp_path / "o.json", fast=False)
    assert "--rigorous" in seen[0] and "--fast" not in seen[0]
