"""Results history per machine and asv's step detection over it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.errors import UserError
from bench.reporting import history
from bench.reporting.load import load_results
from bench.reporting.synthetic import NoiseModel, make_run


def results_file(tmp_path, run_id: str, eps: float = 40000.0, seed: int = 0):
    doc = make_run(np.random.default_rng(seed), {("reference", "general"): eps}, NoiseModel(), run_id, seed=seed)
    path = tmp_path / f"{run_id}.json"
    path.write_text(json.dumps(doc))
    return load_results(path)


def test_append_keeps_one_file_per_run_and_an_ordered_index(tmp_path):
    root = tmp_path / "history"
    for i in range(3):
        history.append(results_file(tmp_path, f"run-{i}", seed=i), root, "box one")
    machine_dir = root / "box-one"                       # machine id is slugged
    index = json.loads((machine_dir / "index.json").read_text())
    assert index["schema"] == history.HISTORY_SCHEMA
    assert [r["run_id"] for r in index["runs"]] == ["run-0", "run-1", "run-2"]
    assert index["machine_info"]["hostname"] == "synthetic"
    assert sorted(p.name for p in machine_dir.iterdir()) == ["index.json", "run-0.json", "run-1.json", "run-2.json"]
    runs = history.load_runs(root, "box-one")
    assert [r.run_id for r in runs] == ["run-0", "run-1", "run-2"]
    assert not list(machine_dir.glob("*.tmp"))


def test_same_run_twice_is_refused(tmp_path):
    root = tmp_path / "history"
    run = results_file(tmp_path, "run-0")
    history.append(run, root, "m")
    with pytest.raises(UserError, match="already in the history"):
        history.append(run, root, "m")


def test_machine_id_from_option_env_or_host(monkeypatch):
    monkeypatch.setenv("PARTBENCH_MACHINE", "ci/runner 1")
    assert history.machine_id() == "ci-runner-1"
    assert history.machine_id("laptop") == "laptop"
    monkeypatch.delenv("PARTBENCH_MACHINE")
    assert history.machine_id()


def test_step_detection_finds_a_lasting_drop_and_ignores_flat_noise():
    rng = np.random.default_rng(3)
    flat = list(40000 * (1 + rng.normal(0, 0.01, 12)))
    labels = [f"r{i}" for i in range(12)]
    assert history.detect_steps(flat, labels, 0.03).regressions == []
    stepped = flat[:8] + [v * 0.85 for v in flat[8:]]
    steps = history.detect_steps(stepped, labels, 0.03)
    assert len(steps.regressions) == 1 and "between r7 and r8" in steps.regressions[0]
    assert steps.fit[0] > steps.fit[-1] * 1.1
    # Gaps (unverified runs) are allowed; fewer than two points is no fit at all.
    assert history.detect_steps([None, 40000.0], ["a", "b"], 0.03).fit == [None, None]


def test_corrupt_index_is_a_clear_error(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "index.json").write_text('{"schema": "nope"}')
    with pytest.raises(UserError, match="index.json: not a partbench.history/1 index"):
        history.load_runs(tmp_path, "m")
