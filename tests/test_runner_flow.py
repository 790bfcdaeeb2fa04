"""The run orchestration without real timing: verification gates timing, unavailable implementations
are not run, errors are reported, the A/A pair and ratios are computed, results are written."""

from __future__ import annotations

import pyperf
import pytest
from rich.console import Console

from bench.errors import UserError
from bench.runner import results, verify_step
from bench.runner import run as run_module
from bench.runner.plan import RunConfig, WorkloadRequest
from bench.runner.timing import PyperfOptions, Timed, TimingError
from tests.test_runner_support import save_tiny_workload

SUPPORT = "tests.test_runner_support"


def _timed(name: str, per_event: float) -> Timed:
    runs = [pyperf.Run([per_event * f, per_event * f], warmups=[(1, per_event)],
                       metadata={"name": name, "loops": 1, "inner_loops": 10}, collect_metadata=False)
            for f in (1.0, 1.02, 0.98)]
    bench = pyperf.Benchmark(runs)
    return Timed(bench, [list(r.values) for r in runs], None)


@pytest.fixture
def harness(tmp_path, monkeypatch):
    """Fake verifier, pyperf and probe; records what was timed."""
    calls = {"verify": [], "timed": [], "probed": [], "options": [], "tags": []}

    def verify(impl_name, workload, *, batch_size=500, settings=None):
        calls["verify"].append(impl_name)
        if impl_name.endswith("TINY2"):
            return {"status": "failed", "digest": "sha256:bad", "detail": "events[3]: x: 1 != 2"}
        return {"status": "passed", "digest": "sha256:ok", "detail": ""}

    def run_pyperf(name, impl_spec, workload_file, batch_size, settings, options, workdir, on_process=None, tag=""):
        calls["timed"].append(name)
        calls["options"].append(options)
        calls["tags"].append(tag)
        if impl_spec.endswith("SELF_TIMED") or (impl_spec.endswith("TINY2") and tag == ".r2"):
            raise TimingError("pyperf exited with code 1: worker crashed")
        return _timed(name, 2e-5 if "aa" in name else 1e-5)

    def run_probe(impl_spec, workload_file, batch_size, settings, budget_s, stage_passes, workdir, name):
        calls["probed"].append(name)
        return {"latency_s": [0.001] * 50, "passes": 2, "cpu_seconds": 0.5, "events_processed": 120,
                "baseline_rss_mb": 20.0, "peak_rss_mb": 25.0, "peak_rss_child_mb": None,
                "stage_seconds": {"decode": 0.3, "emit": 0.1} if stage_passes else None}

    monkeypatch.setattr(verify_step, "load_verifier", lambda: verify)
    monkeypatch.setattr(run_module, "run_pyperf", run_pyperf)
    monkeypatch.setattr(run_module, "run_probe", run_probe)
    workload = save_tiny_workload(tmp_path, 60)
    config = RunConfig(
        impls=[f"{SUPPORT}:TINY", f"{SUPPORT}:TINY2", f"{SUPPORT}:MISSING", f"{SUPPORT}:SELF_TIMED"],
        workloads=[WorkloadRequest(file=workload)], batch_sizes=[20], pyperf=PyperfOptions(mode="fast"),
        reference=f"{SUPPORT}:TINY", results_dir=tmp_path / "results", plain=True)
    return config, calls


def _run(config):
    console = Console(file=open("/dev/null", "w"), width=160)
    return run_module.run(config, console)


def test_only_verified_implementations_are_timed(harness):
    config, calls = harness
    document, code = _run(config)
    by_impl = {r["impl"]: r for r in document["results"]}
    assert set(by_impl) == {"tiny", "tiny2", "missing", "selftimed"}

    failed = by_impl["tiny2"]
    assert failed["verification"] == {"status": "failed", "digest": "sha256:bad", "detail": "events[3]: x: 1 != 2",
                                      "scope": "outputs"}
    assert failed["throughput"] is None and failed["stages"] is None
    assert not any(name.startswith("tiny2/") for name in calls["timed"] + calls["probed"])

    missing = by_impl["missing"]
    assert missing["verification"]["status"] == "unavailable"
    assert missing["verification"]["detail"] == "extension not built (test)"
    assert missing["throughput"] is None
    assert f"{SUPPORT}:MISSING" not in calls["verify"]  # not even run for verification

    crashed = by_impl["selftimed"]
    assert crashed["verification"]["status"] == "passed" and crashed["throughput"] is None
    assert "worker crashed" in crashed["error"]
    assert code == 1  # a failed verification / timing error is not a clean run


def test_aa_pair_ratios_and_files(harness):
    config, calls = harness
    document, _ = _run(config)
    # A first, B last, B not a result of its own
    assert calls["timed"][0] == "tiny/tinyload/b20" and calls["timed"][-1] == "tiny/tinyload/b20/aa"
    assert [r["impl"] for r in document["results"]].count("tiny") == 1
    noise = document["noise"]
    assert noise["impl"] == "tiny" and noise["diff_pct"] == pytest.approx(-50.0)  # B ran at half the speed
    assert noise["ci95_pct"][1] < 0
    ok = next(r for r in document["results"] if r["impl"] == "tiny")
    assert ok["ratio_to_reference"] == pytest.approx(1.0)
    assert ok["stages"]["decode"]["share"] == pytest.approx(0.75)
    assert ok["batch_latency_ms"]["p99"] == pytest.approx(1.0)
    assert ok["cpu_seconds_per_kevent"] == pytest.approx(0.5 / 0.12)
    files = sorted(p.name for p in (config.results_dir).iterdir())
    assert files == sorted(["latest.json", f"{document['run_id']}.json", f"{document['run_id']}.pyperf.json"])
    assert results.read(config.results_dir / "latest.json")["run_id"] == document["run_id"]
    suite = pyperf.BenchmarkSuite.load(str(config.results_dir / f"{document['run_id']}.pyperf.json"))
    assert "tiny/tinyload/b20/aa" in suite.get_benchmark_names()


def test_no_stages_and_no_aa(harness):
    config, calls = harness
    config.stages = False
    config.aa = False
    config.impls = [f"{SUPPORT}:TINY"]
    document, code = _run(config)
    assert code == 0
    assert document["noise"] is None
    assert document["results"][0]["stages"] is None
    assert calls["timed"] == ["tiny/tinyload/b20"]


def test_output_option_skips_latest(harness, tmp_path):
    config, _ = harness
    config.impls = [f"{SUPPORT}:TINY"]
    config.output = tmp_path / "out" / "nightly.json"
    _run(config)
    assert sorted(p.name for p in config.output.parent.iterdir()) == ["nightly.json", "nightly.pyperf.json"]
    assert not (config.results_dir / "latest.json").exists()


def test_unknown_implementation_is_a_user_error_before_anything_runs(harness):
    config, calls = harness
    config.impls = ["no-such-impl"]
    with pytest.raises(UserError, match="no-such-impl"):
        _run(config)
    assert calls["verify"] == [] and calls["timed"] == []


def test_verifier_missing_or_crashing_is_an_error_verdict(monkeypatch):
    from tests.test_runner_support import TINY, tiny_workload

    def missing():
        raise ImportError("No module named 'bench.verification'")

    monkeypatch.setattr(verify_step, "load_verifier", missing)
    verdict = verify_step.check(TINY, "tiny", tiny_workload(5), 5, {})
    assert verdict["status"] == "error" and "not available" in verdict["detail"]

    def crash(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(verify_step, "load_verifier", lambda: crash)
    assert verify_step.check(TINY, "tiny", tiny_workload(5), 5, {})["detail"] == "ValueError: boom"


def test_stripped_implementation_is_checked_for_accounting_not_equality(monkeypatch):
    from impls.base import BatchOutput, InProcess
    from tests.test_runner_support import TinyPipeline, tiny_workload

    monkeypatch.setattr(verify_step, "load_verifier", lambda: pytest.fail("stripped ones are not compared"))
    floor = InProcess(name="floor", description="", pipeline=TinyPipeline, kind="stripped")
    verdict = verify_step.check(floor, "floor", tiny_workload(30), 10, {})
    assert verdict["status"] == "passed" and verdict["scope"] == "accounting"

    class Lossy(TinyPipeline):
        def process_batch(self, batch):
            out = super().process_batch(batch)
            return BatchOutput(out.streams, {"event": len(batch) - 1})

    lossy = InProcess(name="lossy", description="", pipeline=Lossy, kind="stripped")
    verdict = verify_step.check(lossy, "lossy", tiny_workload(30), 10, {})
    assert verdict["status"] == "failed" and "account for 9 records" in verdict["detail"]


def test_rich_progress_on_a_terminal(harness, tmp_path):
    import io

    config, _ = harness
    config.impls = [f"{SUPPORT}:TINY"]
    config.plain = False
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160)
    document, code = run_module.run(config, console)
    assert code == 0
    text = buffer.getvalue()
    assert "ETA" in text and "A/A noise" in text and "tiny" in text


def test_rounds_interleave_the_benchmarks_and_merge_their_processes(harness, monkeypatch):
    config, calls = harness
    config.impls = [f"{SUPPORT}:TINY", f"{SUPPORT}:TINY2", f"{SUPPORT}:SELF_TIMED"]
    config.rounds = 3
    config.pyperf = PyperfOptions(mode="normal")  # 8 processes: 3 a round
    monkeypatch.setattr(verify_step, "load_verifier", lambda: lambda *a, **k: {
        "status": "passed", "digest": "sha256:ok", "detail": ""})
    document, code = _run(config)
    a, b, c, aa = "tiny/tinyload/b20", "tiny2/tinyload/b20", "selftimed/tinyload/b20", "tiny/tinyload/b20/aa"
    # round by round in run order; one that failed is not timed again; the A/A half last, whole
    assert calls["timed"] == [a, b, c, a, b, a, b, aa]
    assert calls["tags"] == ["", "", "", ".r1", ".r1", ".r2", ".r2", ""]
    first, later, last = calls["options"][0], calls["options"][3], calls["options"][-1]
    assert (first.processes, first.values, first.loops) == (3, 3, None)  # the first round calibrates
    assert (later.processes, later.loops) == (3, 1)                       # the others reuse its loops
    assert last == config.pyperf
    by_impl = {r["impl"]: r for r in document["results"]}
    assert len(by_impl["tiny"]["throughput"]["per_process"]) == 9          # three rounds of three
    assert by_impl["tiny2"]["throughput"] is None                          # its third round crashed
    assert by_impl["tiny2"]["error"].startswith("round 3 of 3: pyperf exited")
    assert document["settings"]["rounds"] == 3 and document["settings"]["processes"] == 9
    assert document["noise"]["diff_pct"] == pytest.approx(-50.0)
    assert code == 1
