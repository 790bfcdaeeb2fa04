"""`partbench run` argument handling, the plan's order, `partbench list`, progress modes."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from bench.errors import UserError
from bench.runner import cli, defaults, listing
from bench.runner.plan import BenchItem, RunConfig, WorkloadRequest, build_items
from bench.runner.progress import PlainProgress, use_plain
from bench.runner.timing import PyperfOptions


def _args(*argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


def test_defaults_are_the_documented_set():
    config = cli.config_from_args(_args("run", "--fast", "--impl", "reference"))
    assert [(w.profile, w.events) for w in config.workloads] == list(defaults.DEFAULT_WORKLOADS)
    assert config.batch_sizes == [500]
    assert config.mode == "fast" and config.aa and config.stages


def test_pipeline_supplies_settings_batch_size_and_recipe(tmp_path, monkeypatch):
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "hot.toml").write_text(
        '[workload]\nprofile = "hot-key"\nevents = 3000\nseed = 7\n'
        '[stages]\nbatch_size = 200\noverflow_enabled = false\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(listing, "validation_error", lambda path: None)  # the capacity model's full schema
    config = cli.config_from_args(_args("run", "--pipeline", "hot", "--impl", "reference"))
    assert config.batch_sizes == [200]
    assert config.settings == {"overflow_enabled": False}
    assert config.workloads == [WorkloadRequest(profile="hot-key", events=3000, seed=7)]
    assert listing.pipelines()[0]["batch_size"] == 200
    with pytest.raises(UserError, match="no such pipeline"):
        cli.config_from_args(_args("run", "--pipeline", "nope"))
    # the capacity model's validation error is reported as is, and nothing runs
    monkeypatch.setattr(listing, "validation_error", lambda path: f"{path}: traffic.pods: must be > 0")
    with pytest.raises(UserError, match="hot.toml: traffic.pods: must be > 0"):
        cli.config_from_args(_args("run", "--pipeline", "hot"))
    assert listing.pipelines()[0]["error"].endswith("must be > 0")


@pytest.mark.parametrize("argv, message", [
    (("run", "--batch-size", "0"), "--batch-size must be at least 1"),
    (("run", "--processes", "0"), "--processes must be at least 1"),
    (("run", "--rounds", "0"), "--rounds must be at least 1"),
])
def test_bad_numbers_are_user_errors(argv, message):
    with pytest.raises(UserError, match=message):
        cli.config_from_args(_args(*argv))


def test_pyperf_options_map_modes_to_pyperf_flags():
    assert PyperfOptions(mode="fast").args() == ["--fast"]
    assert PyperfOptions(mode="rigorous").args() == ["--rigorous"]
    assert PyperfOptions(mode="normal").args() == []
    assert PyperfOptions(mode="fast").expected_processes() == 4
    assert PyperfOptions(mode="rigorous").expected_processes() == 16
    # explicit counts replace the mode's scaling (pyperf's --fast would override them)
    assert PyperfOptions(mode="fast", processes=2, values=1).args() == ["--processes=2", "--values=1"]
    # a round of four: a quarter of the processes (rounded up), the mode's values and warm-ups, given loops
    one = PyperfOptions(mode="rigorous").one_round(4, loops=7)
    assert one.args() == ["--processes=4", "--values=3", "--warmups=1", "--loops=7"]
    assert PyperfOptions(mode="normal", processes=9).one_round(4, None).expected_processes() == 3
    config = cli.config_from_args(_args("run", "--rigorous", "--rounds", "4", "--impl", "reference"))
    assert config.rounds == 4 and config.mode == "rigorous"


def test_plan_order_puts_the_aa_pair_first_and_last():
    general = WorkloadRequest(profile="general", events=10)
    hot = WorkloadRequest(profile="hot-key", events=10)
    names = {general.key: "general", hot.key: "hot-key"}
    config = RunConfig(impls=["rust"], workloads=[hot, general], batch_sizes=[500])
    items = build_items(config, names)
    assert items[0] == BenchItem("reference", general.key, "general", 500)
    assert items[-1].role == "aa" and items[-1].bench_name == "reference/general/b500/aa"
    assert {i.bench_name for i in items[1:-1]} == {"reference/hot-key/b500", "rust/hot-key/b500",
                                                   "rust/general/b500"}
    config.aa = False
    assert all(i.role == "main" for i in build_items(config, names))


def test_list_json(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert cli.cmd_list(_args("list", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    names = [row["name"] for row in data["implementations"]]
    assert "reference" in names
    assert all({"kind", "runtime", "available", "reason"} <= set(row) for row in data["implementations"])
    assert data["workloads"]["default_set"][0]["profile"] == "general"
    assert data["pipelines"] == []


def test_progress_is_plain_under_ci(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("CI", raising=False)
    assert use_plain(Tty()) is False
    assert use_plain(io.StringIO()) is True
    monkeypatch.setenv("CI", "true")
    assert use_plain(Tty()) is True
    out = io.StringIO()
    p = PlainProgress(out)
    p.start(4)
    p.advance(2)
    p.step("rust/general/b500: timing")
    assert out.getvalue() == "[ 50%] rust/general/b500: timing\n"
