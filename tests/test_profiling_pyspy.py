"""End-to-end `partbench profile` under py-spy with a deliberately slowed stage (slow: real sampling)."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.profiling import cli

pytestmark = pytest.mark.slow

SLOW = "tests.slow_stage_impl:IMPLEMENTATION"
WORKLOAD = "tests.slow_stage_impl:workload"


def _profile(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="partbench")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["profile", *argv])
    return args.func(args)


def _top(shares: dict[str, float]) -> str:
    return max(shares, key=shares.__getitem__)


def test_slowed_stage_is_the_top_bottleneck_by_sampling_and_timers(tmp_path: Path, capsys):
    code = _profile(["--impl", SLOW, "--workload", WORKLOAD, "--rate", "500", "--duration", "2",
                     "--out-dir", str(tmp_path)])
    assert code == 0
    summary = json.loads((tmp_path / "slow-groups--tiny.json").read_text())
    assert summary["source"] == "py-spy"
    assert summary["samples_in_stages"] >= 200  # ~2 s at 500 Hz, even on a busy machine
    assert _top(summary["stages"]) == "groups"
    assert _top(summary["timer_stages"]) == "groups"
    assert summary["bottleneck"]["stage"] == "groups"
    assert summary["bottleneck"]["function"].startswith("SlowGroupsPipeline.stage_groups")
    assert summary["top_self"][0]["function"].startswith("SlowGroupsPipeline.stage_groups")
    # both views measure the same busy loop, so they must agree on it
    assert abs(summary["stages"]["groups"] - summary["timer_stages"]["groups"]) < 0.10
    assert "groups" not in summary["flagged"]
    ET.parse(tmp_path / summary["flamegraph"])
    speedscope = json.loads((tmp_path / summary["speedscope"]).read_text())
    assert sum(speedscope["profiles"][0]["weights"]) == summary["samples"]
    out = capsys.readouterr().out
    assert "bottleneck stage groups" in out


def test_loops_mode_with_native_frames(tmp_path: Path):
    summary_path = tmp_path / "s.json"
    code = _profile(["--impl", SLOW, "--workload", WORKLOAD, "--rate", "500", "--loops", "15", "--native",
                     "--out-dir", str(tmp_path), "--json-out", str(summary_path)])
    assert code == 0
    summary = json.loads(summary_path.read_text())
    assert summary["native"] is True
    assert summary["passes"] == {"sampled": 15, "timers": 15}
    assert _top(summary["stages"]) == "groups"
