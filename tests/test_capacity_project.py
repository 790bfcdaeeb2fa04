"""`partbench project` end to end on hand-built results files."""

from __future__ import annotations

import argparse
import json
import math
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from bench.capacity import cli
from bench.errors import UserError
from impls.base import InProcess
from tests.test_capacity_scaling import TinyPipeline, tiny_workload

LANE = """
# test lane
[workload]
profile = "{profile}"
events = 1000
[stages]
batch_size = 500
overflow_enabled = true
[traffic]
example = true
peak_events_per_s = 10000
partitions = 16
pods = 4
cores_per_pod = 2
hot_key_share = 0.05
[sla]
p999_lag_s = 5
p99_lag_s = 10
[simulation]
window_s = 600
bursts_per_hour = 6
"""


def result(impl: str, workload: str, mu: float | None, status: str = "passed",
           kind: str = "realistic") -> dict[str, Any]:
    per_batch_ms = 500 / (mu or 1) * 1000
    return {
        "impl": impl, "kind": kind, "runtime": "in-process", "workload": workload,
        "events": 20000, "batch_size": 500,
        "verification": {"status": status, "digest": "", "detail": "" if status == "passed" else "digest differs"},
        "throughput": None if mu is None else {"events_per_s": mu, "ci95": [mu * 0.97, mu * 1.03]},
        "batch_latency_ms": {"p50": per_batch_ms, "samples": [per_batch_ms * f for f in (0.9, 1.0, 1.1, 1.0)]},
    }


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    lanes = tmp_path / "pipelines"
    lanes.mkdir()
    (lanes / "general.toml").write_text(LANE.format(profile="general"))
    (lanes / "hot.toml").write_text(LANE.format(profile="hot-key"))
    results = tmp_path / "latest.json"
    results.write_text(json.dumps({"schema": "partbench.results/1", "source": "local", "results": [
        result("reference", "general", 8000.0),
        result("fast", "general-20000-s1", 30000.0),
        result("fast", "hot-key", 25000.0),
        result("broken", "general", None, status="failed"),
        result("floor", "general", 90000.0, kind="stripped"),
    ]}))
    return {"dir": lanes, "results": results, "out": tmp_path / "projection.json",
            "cache": tmp_path / "scaling.json"}


def run(paths: dict[str, Path], *extra: str) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["project", "--pipelines-dir", str(paths["dir"]), "--results", str(paths["results"]),
                              "--json-out", str(paths["out"]), "--scaling-cache", str(paths["cache"]), *extra])
    assert args.func(args) == 0
    return json.loads(paths["out"].read_text())


def test_projection_matches_formulas_and_schema(setup: dict[str, Path]) -> None:
    doc = run(setup, "--no-measure", "--no-sim-sensitivity")
    assert doc["pipeline"] == "general" and doc["growth"] == 10
    assert doc["today"] == {"peak_events_per_s": 10000, "pods": 4, "partitions": 16, "cores_per_pod": 2,
                            "consumers_per_pod": 2}
    rows = {r["impl"]: r for r in doc["rows"]}
    assert set(rows) == {"reference", "fast"}  # the failed one is not shown
    assert any("broken" in line and "failed" in line for line in doc["ignored"])
    # A stripped floor is a yardstick, never a deployment option.
    assert any("floor" in line and "stripped" in line for line in doc["ignored"])
    assert "floor" not in {row["impl"] for row in doc["rows"]}
    ref = rows["reference"]
    # e assumed 1.0 (no cache, --no-measure): μ_pod = 16000; pods = ceil(100000 / 11200) = 9
    assert ref["efficiency"] == 1.0 and ref["mu_pod"] == 16000
    assert ref["pods"] == 9
    # partitions = max(ceil(100000 / 5600) = 18, 9 × 2 = 18, 16) = 18
    assert ref["partitions"] == 18
    assert ref["cost_vs_today"] == pytest.approx(9 / 4)
    sim = ref["sim"]
    for key in ("p99_lag_s", "p999_lag_s", "meets_sla", "min_pods_meeting_sla", "lane_p999_lag_s"):
        assert key in sim
    assert math.isfinite(sim["p999_lag_s"])
    assert sim["meets_sla"] == (sim["p999_lag_s"] <= 5 and sim["p99_lag_s"] <= 10)
    assert ref["recommended"]["pods"] >= ref["pods"]
    assert ref["sentence"].startswith(f"With implementation reference, lane general needs {ref['recommended']['pods']} pods")
    assert "EXAMPLES" in ref["sentence"]
    assert any("assumed 1.0" in a for a in doc["assumptions"])
    assert any("EXAMPLES" in a for a in doc["assumptions"])
    assert doc["sensitivity"]["growth"] == list(range(1, 21))
    assert doc["sensitivity"]["pods"]["reference"][9] == 9
    assert doc["validation"] is None
    assert [lane["pipeline"] for lane in doc["pipelines"]] == ["general", "hot"]


def test_lane_uses_its_own_workload_else_general(setup: dict[str, Path]) -> None:
    doc = run(setup, "--no-measure", "--no-sim-sensitivity", "--pipeline", "hot", "--growth", "2")
    assert doc["pipeline"] == "hot" and doc["growth"] == 2
    rows = {r["impl"]: r for r in doc["rows"]}
    assert rows["fast"]["mu_partition"] == 25000 and rows["fast"]["workload"] == "hot-key"
    assert rows["reference"]["mu_partition"] == 8000 and rows["reference"]["workload"] == "general"
    assert any("reference: no verified result on the lane's workload 'hot-key'" in a for a in doc["assumptions"])


def test_cached_scaling_efficiency_is_used(setup: dict[str, Path]) -> None:
    setup["cache"].write_text(json.dumps({"schema": "partbench.scaling/1", "validation": None, "impls": {
        "reference": {"efficiency": [1.0, 0.8], "created": "2026-01-01T00:00:00Z", "machine": {"hostname": "h"}}}}))
    doc = run(setup, "--no-sim-sensitivity", "--pipeline", "general")
    rows = {r["impl"]: r for r in doc["rows"]}
    assert rows["reference"]["efficiency"] == pytest.approx(0.8)
    assert rows["reference"]["mu_pod"] == pytest.approx(8000 * 2 * 0.8)
    assert rows["fast"]["efficiency"] == pytest.approx(0.8)
    assert any("fast: no scaling measurement of its own; reference's is used" in a for a in doc["assumptions"])
    assert doc["scaling"]["reference"]["efficiency"] == [1.0, 0.8]


def test_simulated_sensitivity(setup: dict[str, Path]) -> None:
    doc = run(setup, "--no-measure", "--pipeline", "general")
    sens = doc["sensitivity"]
    assert sens["sim_growth"] == [1, 2, 5, 10, 20]
    mins = sens["min_pods_meeting_sla"]["reference"]
    assert len(mins) == 5 and all(m is not None for m in mins)
    assert mins == sorted(mins)


def test_measure_scaling_writes_cache_and_validation(setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = InProcess("reference", "tiny stand-in", TinyPipeline)
    fake_gen = types.ModuleType("bench.workloads.generator")
    fake_gen.PROFILES = ("general", "hot-key")  # type: ignore[attr-defined]
    fake_gen.generate = lambda profile, events, seed: tiny_workload(min(events, 400))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench.workloads.generator", fake_gen)
    import impls.registry
    monkeypatch.setattr(impls.registry, "get", lambda name: tiny)
    doc = run(setup, "--measure-scaling", "--no-sim-sensitivity", "--pipeline", "general",
              "--scaling-partitions", "2", "--scaling-seconds", "0.3")
    cache = json.loads(setup["cache"].read_text())
    assert cache["impls"]["reference"]["partitions"] == [1, 2]
    v = doc["validation"]
    assert v["partitions"] == 2 and v["measured_events_per_s"] > 0 and math.isfinite(v["error_pct"])
    e = min(1.0, cache["impls"]["reference"]["efficiency"][1])
    assert {r["impl"]: r for r in doc["rows"]}["reference"]["efficiency"] == pytest.approx(e)


def test_errors_leave_no_output(setup: dict[str, Path], tmp_path: Path) -> None:
    setup["out"].write_text("previous")
    bad = dict(setup, results=tmp_path / "absent.json")
    with pytest.raises(UserError, match="absent.json: no such results file"):
        run(bad, "--no-measure")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(UserError, match=r"broken.json: invalid JSON: line 1"):
        run(dict(setup, results=tmp_path / "broken.json"), "--no-measure")
    only_failed = tmp_path / "failed.json"
    only_failed.write_text(json.dumps({"results": [result("x", "general", None, status="failed")]}))
    with pytest.raises(UserError, match="no verified result"):
        run(dict(setup, results=only_failed), "--no-measure")
    (setup["dir"] / "general.toml").write_text(LANE.format(profile="general").replace("pods = 4", "pods = -4"))
    with pytest.raises(UserError, match=r"general.toml: traffic.pods: must be > 0, got -4"):
        run(setup, "--no-measure")
    assert setup["out"].read_text() == "previous"
    assert not list(tmp_path.glob(".projection.json.*"))


def test_hot_key_beyond_one_consumer_is_reported_unreachable(setup: dict[str, Path]) -> None:
    lane = LANE.format(profile="general").replace("overflow_enabled = true", "overflow_enabled = false")
    (setup["dir"] / "general.toml").write_text(lane.replace("hot_key_share = 0.05", "hot_key_share = 0.5"))
    doc = run(setup, "--no-measure", "--no-sim-sensitivity", "--pipeline", "general")
    ref = {r["impl"]: r for r in doc["rows"]}["reference"]
    # 50% of 100000/s on one key = 50000/s against one consumer's 8000/s.
    assert ref["sim"]["min_pods_meeting_sla"] is None
    assert "hot key alone exceeds" in ref["sim"]["unreachable_reason"]
    assert not ref["sim"]["meets_sla"] and "does NOT meet its lag SLA at any pod count" in ref["sentence"]
