"""A real run: pyperf worker processes, the probe process and the files, on a tiny workload."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyperf
import pytest
from rich.console import Console

from bench.runner import results, verify_step
from bench.runner import run as run_module
from bench.runner.plan import RunConfig, WorkloadRequest
from bench.runner.timing import PyperfOptions
from tests.test_runner_support import save_tiny_workload

ROOT = Path(__file__).resolve().parents[1]
SUPPORT = "tests.test_runner_support"


def _tiny_config(tmp_path, monkeypatch, processes: int, **kwargs) -> RunConfig:
    """The tiny and the self-timed test implementations on a 120-record workload, real workers."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the workers import the test implementations
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(verify_step, "load_verifier",
                        lambda: lambda *a, **k: {"status": "passed", "digest": "sha256:t", "detail": ""})
    return RunConfig(
        impls=[f"{SUPPORT}:TINY", f"{SUPPORT}:SELF_TIMED"],
        workloads=[WorkloadRequest(file=save_tiny_workload(tmp_path, 120))], batch_sizes=[30],
        pyperf=PyperfOptions(mode="fast", processes=processes, values=2, min_time=0.02),
        reference=f"{SUPPORT}:TINY", results_dir=tmp_path / "results", plain=True, **kwargs)


@pytest.mark.slow
def test_real_pyperf_run(tmp_path, monkeypatch):
    config = _tiny_config(tmp_path, monkeypatch, processes=3)
    out = Console(file=open(tmp_path / "console.txt", "w"), width=160)
    document, code = run_module.run(config, out)
    assert code == 0

    saved = results.read(tmp_path / "results" / "latest.json")
    assert saved["run_id"] == document["run_id"]
    tiny, selftimed = saved["results"]
    for r in (tiny, selftimed):
        thr = r["throughput"]
        assert len(thr["per_process"]) == 3 and len(thr["values"]) == 6
        assert thr["ci95"][0] <= thr["events_per_s"] <= thr["ci95"][1]
        assert r["batch_latency_ms"]["p50"] > 0 and r["peak_rss_mb"] > 0 and r["cpu_seconds_per_kevent"] > 0
        assert set(r["stages"]) >= {"decode", "emit"}
    assert tiny["end_to_end"] is None
    # self-timed: the headline is the implementation's own time (half its wall time, see the support module),
    # so end-to-end throughput, which includes everything, must be lower
    assert selftimed["end_to_end"]["events_per_s"] < selftimed["throughput"]["events_per_s"]
    assert len(selftimed["end_to_end"]["per_process"]) == 3
    # the summary says what share the out-of-process overhead takes (the support module's
    # self-timed implementation reports half its wall time as its own)
    console_text = (tmp_path / "console.txt").read_text()
    line = next(x for x in console_text.splitlines() if x.startswith("end to end: selftimed/tinyload/b30"))
    share = float(line.rsplit("; ", 1)[1].split("%")[0])
    assert 30.0 < share < 70.0, line
    assert "end to end: tiny/" not in console_text
    assert saved["noise"]["impl"] == "tiny" and saved["noise"]["ci95_pct"] is not None

    pyperf_file = Path(saved["pyperf_file"])
    suite = pyperf.BenchmarkSuite.load(str(pyperf_file))
    assert sorted(suite.get_benchmark_names()) == ["selftimed/tinyload/b30", "tiny/tinyload/b30",
                                                   "tiny/tinyload/b30/aa"]
    # users keep their pyperf tools
    for cmd in (["stats", str(pyperf_file)], ["compare_to", str(pyperf_file), str(pyperf_file), "--table"]):
        proc = subprocess.run([sys.executable, "-m", "pyperf", *cmd], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    console = (tmp_path / "console.txt").read_text()
    assert "A/A noise (tiny on tinyload" in console and "selftimed" in console


def test_workers_get_the_partbench_settings(monkeypatch) -> None:
    """pyperf gives its workers only the variables named in --inherit-environ: the PARTBENCH_*
    settings (e.g. which Rust binary) must reach the timed worker as they reached verification."""
    from pyperf._utils import create_environ

    from bench.runner.timing import inherited_environment

    monkeypatch.setenv("PARTBENCH_RUST_BIN", "/opt/other/partbench-rust")
    monkeypatch.setenv("PARTBENCH_BRIDGE_SPIN", "0")
    monkeypatch.setenv("UNRELATED_SETTING", "x")
    env = create_environ(inherited_environment().split(","), None, False)
    assert env["PARTBENCH_RUST_BIN"] == "/opt/other/partbench-rust"
    assert env["PARTBENCH_BRIDGE_SPIN"] == "0"
    assert "UNRELATED_SETTING" not in env


@pytest.mark.slow
def test_real_pyperf_rounds_merge_into_one_benchmark(tmp_path, monkeypatch):
    config = _tiny_config(tmp_path, monkeypatch, processes=4, rounds=2, aa=False, stages=False)
    console = Console(file=open(tmp_path / "console.txt", "w"), width=160)
    document, code = run_module.run(config, console)
    assert code == 0
    saved = results.read(tmp_path / "results" / "latest.json")
    assert saved["settings"]["rounds"] == 2 and saved["settings"]["processes"] == 4
    for r in saved["results"]:
        assert len(r["throughput"]["per_process"]) == 4  # two rounds of two
    selftimed = saved["results"][1]
    assert len(selftimed["end_to_end"]["per_process"]) == 4
    suite = pyperf.BenchmarkSuite.load(saved["pyperf_file"])
    for bench in suite.get_benchmarks():
        loops = {run.get_loops() for run in bench.get_runs() if run.values}
        assert len(loops) == 1  # the later round timed the loops the first one calibrated
        assert sum(1 for run in bench.get_runs() if run.values) == 4
    assert "(fast, 2 interleaved rounds)" in (tmp_path / "console.txt").read_text()
