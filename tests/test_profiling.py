"""Fast tests of `partbench profile`: attribution, comparison, artifacts, timers, CLI paths that
need no sampling. The py-spy runs are in test_profiling_pyspy.py (slow)."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.errors import UserError
from bench.profiling import artifacts, cli, lookup, pyspy
from bench.profiling.attribution import attribute, display_name, parse_raw, stage_of
from bench.profiling.passes import ContractError, batches
from bench.profiling.summary import flagged_stages
from bench.profiling.timers import run_timers
from tests import slow_stage_impl

HARNESS = "_run_module_as_main (<frozen runpy>:173);main (bench/profiling/target.py:44);run_pass (bench/profiling/passes.py:27)"
BATCH = f"{HARNESS};StagedPipeline.process_batch (impls/base.py:130)"
RAW = "\n".join([
    # setup and teardown: no run_pass frame, must be left out
    "_run_module_as_main (<frozen runpy>:173);main (bench/profiling/target.py:44);load (bench/workloads/format.py:10) 500",
    f"{BATCH};Ref.stage_decode (impls/reference/decode.py:5);loads (json/decoder.py:332) 30",
    f"{BATCH};Ref.stage_decode (impls/reference/decode.py:5) 10",
    # persons calls a helper that happens to be named like a stage: the innermost stage frame wins
    f"{BATCH};Ref.stage_persons (impls/reference/persons.py:9);merge (impls/reference/persons.py:40) 20",
    f"{BATCH};Ref.stage_persons (impls/reference/persons.py:9);stage_groups (impls/reference/groups.py:3) 20",
    f"{BATCH};Batch.output (impls/reference/state.py:80) 20",  # in the loop, outside every stage
])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="partbench")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser


def _run_cli(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


def test_stage_is_innermost_stage_frame_and_setup_is_excluded():
    result = attribute(RAW, "run_pass")
    assert result.samples_total == 600
    assert result.samples_in_loop == 100
    assert result.samples_in_stages == 80
    assert result.stage_shares() == {"decode": 0.5, "persons": 0.25, "groups": 0.25}
    assert result.outside_stages_share() == pytest.approx(0.2)
    top_self = {row["function"]: row["share"] for row in result.top_self()}
    assert top_self["loads (json/decoder.py)"] == pytest.approx(0.3)
    assert top_self["Ref.stage_decode (impls/reference/decode.py)"] == pytest.approx(0.1)
    top_total = {row["function"]: row["share"] for row in result.top_total()}
    assert top_total["StagedPipeline.process_batch (impls/base.py)"] == pytest.approx(1.0)
    assert top_total["Ref.stage_decode (impls/reference/decode.py)"] == pytest.approx(0.4)
    assert "run_pass (bench/profiling/passes.py)" not in top_total  # harness frames cut off
    assert result.top_in_stage("decode", 1) == [{"function": "loads (json/decoder.py)", "share": 0.75}]


def test_without_boundary_every_sample_counts():
    result = attribute(RAW)
    assert result.samples_in_loop == 600
    assert result.samples_in_stages == 80


def test_frame_helpers():
    assert stage_of("Pipeline.stage_decode (x.pyx:3)") == "decode"
    assert stage_of("stage_property_defs (a.py:1)") == "property_defs"
    assert stage_of("stage_unknown (a.py:1)") is None
    assert stage_of("0x7f793184524a (libc.so.6)") is None
    assert display_name("loads (json/decoder.py:332)") == "loads (json/decoder.py)"
    assert display_name("weird-frame") == "weird-frame"


def test_malformed_raw_line_is_rejected_with_its_number():
    with pytest.raises(ValueError, match="line 2"):
        parse_raw("a;b 3\nno count here\n")


def test_disagreement_over_ten_points_is_flagged():
    sampled = {"decode": 0.50, "persons": 0.30, "groups": 0.20}
    timers = {"decode": 0.38, "persons": 0.39, "groups": 0.23}
    assert flagged_stages(sampled, timers) == ["decode"]   # 12 points; persons 9, groups 3
    assert flagged_stages(sampled, {}) == []               # nothing to compare with
    assert flagged_stages({"emit": 0.15}, {"decode": 1.0}) == ["decode", "emit"]  # missing counts as 0


def test_speedscope_holds_the_same_samples():
    doc = artifacts.speedscope(RAW, "t")
    profile = doc["profiles"][0]
    assert doc["$schema"] == artifacts.SPEEDSCOPE_SCHEMA
    assert sum(profile["weights"]) == 600 == profile["endValue"]
    frames = doc["shared"]["frames"]
    stacks = {";".join(frames[i]["name"] for i in s): w for s, w in zip(profile["samples"], profile["weights"], strict=True)}
    assert stacks["_run_module_as_main;main;run_pass;StagedPipeline.process_batch;Ref.stage_decode"] == 10
    assert frames[0] == {"name": "_run_module_as_main", "file": "<frozen runpy>", "line": 173}


def test_flamegraph_is_valid_svg_with_stage_frames():
    svg = artifacts.flamegraph_svg(RAW, "title <&>")
    root = ET.fromstring(svg)
    titles = [el.text for el in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "Ref.stage_decode (impls/reference/decode.py): 40 samples (6.7%)" in titles
    assert "600 samples" in svg and "title &lt;&amp;&gt;" in svg


def test_timers_name_the_slowed_stage():
    workload = slow_stage_impl.workload(100)
    context = workload.context({"batch_size": 50})
    run = run_timers(slow_stage_impl.IMPLEMENTATION, context, batches(workload.records, 50), loops=2)
    assert run.passes == 2
    shares = run.shares()
    assert max(shares, key=shares.get) == "groups"
    assert sum(shares.values()) == pytest.approx(1.0)


def test_timers_of_an_implementation_without_them_are_empty():
    workload = slow_stage_impl.workload(20)
    run = run_timers(slow_stage_impl.NO_TIMERS, workload.context(), batches(workload.records, 10), loops=1)
    assert run.stage_seconds == {} and run.shares() == {}


def test_broken_outcome_contract_is_caught():
    workload = slow_stage_impl.workload(20)
    with pytest.raises(ContractError, match="batch of 10 records reported 9 outcomes"):
        run_timers(slow_stage_impl.MISCOUNTING, workload.context(), batches(workload.records, 10), loops=1)


def test_sampling_blind_implementations():
    assert lookup.sampling_blind_reason(slow_stage_impl.IMPLEMENTATION) is None
    assert "child process" in lookup.sampling_blind_reason(slow_stage_impl.OUT_OF_PROCESS)
    assert "opaque" in lookup.sampling_blind_reason(slow_stage_impl.OPAQUE)


@pytest.mark.parametrize("attr", ["OPAQUE", "OUT_OF_PROCESS"])
def test_opaque_implementation_is_reported_from_timers_with_a_note(tmp_path: Path, attr: str):
    code = _run_cli(["profile", "--impl", f"tests.slow_stage_impl:{attr}", "--workload",
                     "tests.slow_stage_impl:workload", "--loops", "1", "--out-dir", str(tmp_path)])
    assert code == 0
    (summary_file,) = tmp_path.glob("*.json")  # no flamegraph, speedscope or raw: nothing was sampled
    summary = json.loads(summary_file.read_text())
    assert summary["source"] == "timers"
    assert summary["samples"] == 0 and summary["flamegraph"] is None and summary["top_self"] == []
    assert "py-spy cannot see into" in summary["note"]
    assert summary["stages"] == {}  # nothing sampled: only the timers speak
    assert max(summary["timer_stages"], key=summary["timer_stages"].get) == "groups"
    assert summary["bottleneck"]["stage"] == "groups"


def test_all_skips_unavailable_implementations(tmp_path: Path, monkeypatch, capsys):
    entries = {"never-built": slow_stage_impl.UNAVAILABLE, "child": slow_stage_impl.OUT_OF_PROCESS}

    def fake_get(name: str):
        if name == "not-importable":
            raise ImportError("No module named 'impls.cython_impl._pipeline'")
        return entries[name]

    monkeypatch.setattr(lookup.registry, "get", fake_get)
    monkeypatch.setattr(cli.registry, "names", lambda: ["never-built", "not-importable", "child"])
    code = _run_cli(["profile", "--all", "--workload", "tests.slow_stage_impl:workload", "--loops", "1",
                     "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "skipped never-built: unavailable: extension not built" in out
    assert "skipped not-importable: unavailable: cannot import" in out
    assert [p.name for p in tmp_path.glob("*.json")] == ["slow-groups-child--tiny.json"]


def test_unknown_implementation_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="unknown implementation 'nope'"):
        _run_cli(["profile", "--impl", "nope", "--workload", "tests.slow_stage_impl:workload",
                  "--out-dir", str(tmp_path)])
    with pytest.raises(UserError, match="has no attribute MISSING"):
        _run_cli(["profile", "--impl", "tests.slow_stage_impl:MISSING", "--workload",
                  "tests.slow_stage_impl:workload", "--out-dir", str(tmp_path)])


def test_bad_workload_and_options_are_user_errors(tmp_path: Path):
    impl = "tests.slow_stage_impl:OPAQUE"
    with pytest.raises(UserError, match="workload file .*missing.pbw: not found"):
        _run_cli(["profile", "--impl", impl, "--workload", str(tmp_path / "missing.pbw"), "--out-dir", str(tmp_path)])
    with pytest.raises(UserError, match="--rate"):
        _run_cli(["profile", "--impl", impl, "--rate", "0", "--out-dir", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []


def test_target_failure_leaves_no_files(tmp_path: Path):
    # The miscounting implementation fails its warm-up pass in the target, before py-spy starts.
    with pytest.raises(UserError, match="profiled program failed before sampling: .*ContractError"):
        _run_cli(["profile", "--impl", "tests.slow_stage_impl:MISCOUNTING", "--workload",
                  "tests.slow_stage_impl:workload", "--loops", "1", "--out-dir", str(tmp_path)])
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


def test_invisible_stages_are_resampled_with_native_frames(tmp_path: Path, monkeypatch):
    # Without --native a compiled implementation's samples all land in process_batch; with it the
    # stage frames appear. The profiler must notice and sample again natively.
    blind = f"{BATCH} 300\n"
    seen = f"{BATCH};stage_decode (impls/cython_impl/_ref/pipeline.py) 200\n{BATCH};stage_emit (x.pyx) 100\n"
    calls = []

    def fake_record(target_argv, *, native=False, **kwargs):
        calls.append(native)
        raw = seen if native else blind
        return pyspy.SamplingRun(raw=raw, samples=300, errors=0, passes=3, native=native)

    monkeypatch.setattr(pyspy, "record", fake_record)
    code = _run_cli(["profile", "--impl", "tests.slow_stage_impl:IMPLEMENTATION", "--workload",
                     "tests.slow_stage_impl:workload", "--loops", "1", "--out-dir", str(tmp_path)])
    assert code == 0 and calls == [False, True]
    summary = json.loads((tmp_path / "slow-groups--tiny.json").read_text())
    assert summary["native"] is True and summary["source"] == "py-spy"
    assert summary["stages"] == {"decode": pytest.approx(2 / 3), "emit": pytest.approx(1 / 3)}
    assert "re-sampled with --native" in summary["note"]
    # the timers disagree completely with these canned samples: every stage is flagged
    assert "groups" in summary["flagged"] and "decode" in summary["flagged"]
