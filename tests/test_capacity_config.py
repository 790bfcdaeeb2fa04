"""pipelines/*.toml loading: the shipped lanes load; bad files give one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.capacity import config
from bench.errors import UserError

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
name = "lane"
[workload]
profile = "general"
events = 1000
seed = 3
[stages]
batch_size = 250
[traffic]
example = true
peak_events_per_s = 1000
partitions = 8
pods = 2
cores_per_pod = 2
[sla]
p999_lag_s = 5
p99_lag_s = 10
"""


def write(tmp_path: Path, text: str, name: str = "lane.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(UserError) as exc:
        config.load(path)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ": ")
    return message


def test_shipped_lanes_load_and_are_marked_as_examples() -> None:
    lanes = {p.name: p for p in config.load_all(ROOT / "pipelines")}
    assert {"general", "overflow", "identify-heavy"} <= set(lanes)
    for lane in lanes.values():
        assert lane.traffic.example, f"{lane.path}: example figures must say so"
        assert "HOW TO PUT IN REAL FIGURES" in Path(lane.path).read_text()
        assert set(lane.stages) == {"batch_size", "overflow_enabled", "overflow_bucket_capacity",
                                    "overflow_replenish_per_s"}
    assert lanes["overflow"].stages["overflow_enabled"] is False


def test_defaults_and_values(tmp_path: Path) -> None:
    lane = config.load(write(tmp_path, GOOD))
    assert lane.name == "lane"
    assert lane.workload == config.Workload("general", 1000, 3)
    assert lane.stages == {"batch_size": 250, "overflow_enabled": True,
                           "overflow_bucket_capacity": 1000, "overflow_replenish_per_s": 1.0}
    assert lane.traffic.consumers_per_pod == 2  # one per core by default
    assert lane.target_utilization == 0.7 and lane.growth == 10
    assert lane.simulation.window_s == 3600


@pytest.mark.parametrize("old, new, expected", [
    ("pods = 2\n", "", "traffic.pods: missing (required)"),
    ("[workload]\nprofile = \"general\"\n", "[workload]\n", "workload.profile: missing (required)"),
    ("pods = 2", "pods = \"two\"", "traffic.pods: must be an integer, got 'two'"),
    ("pods = 2", "pods = 2.5", "traffic.pods: must be an integer, got 2.5"),
    ("pods = 2", "pods = true", "traffic.pods: must be an integer, got True"),
    ("peak_events_per_s = 1000", "peak_events_per_s = -5", "traffic.peak_events_per_s: must be > 0, got -5"),
    ("partitions = 8", "partitions = 0", "traffic.partitions: must be > 0, got 0"),
    ("batch_size = 250", "batch_size = -1", "stages.batch_size: must be > 0"),
    ("[sla]", "[capacity]\ntarget_utilization = 1.5\n[sla]", "capacity.target_utilization: must be <= 1"),
    ("[sla]", "[capacity]\ngrowth = 0\n[sla]", "capacity.growth: must be > 0"),
    ("example = true", "example = \"yes\"", "traffic.example: must be true or false"),
    ("cores_per_pod = 2", "cores_per_pod = 2\npartitons = 3", "traffic.partitons: unknown key"),
    ("[sla]", "[slaa]", "[slaa]: unknown section"),
    ("[stages]\n", "[stages]\noverflow_replenish_per_s = -1.0\n", "stages.overflow_replenish_per_s: must be >= 0"),
    ("[traffic]\n", "[traffic]\nhot_key_share = 1.5\n", "traffic.hot_key_share: must be <= 1"),
    ("seed = 3", "seed = -3", "workload.seed: must be >= 0"),
])
def test_bad_values_name_file_and_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    assert expected in error_of(tmp_path, GOOD.replace(old, new, 1))


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    assert "invalid TOML" in error_of(tmp_path, "[traffic\npods = 1")
    with pytest.raises(UserError, match="no such pipeline file"):
        config.load(tmp_path / "absent.toml")


def test_load_all_and_resolve(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.toml")
    write(tmp_path, GOOD.replace('name = "lane"', 'name = "other"'), "b.toml")
    assert [p.name for p in config.load_all(tmp_path)] == ["lane", "other"]
    assert config.resolve("other", tmp_path).path.endswith("b.toml")
    assert config.resolve("a", tmp_path).name == "lane"
    with pytest.raises(UserError, match="no pipeline named 'nope'"):
        config.resolve("nope", tmp_path)
    write(tmp_path, GOOD, "c.toml")
    with pytest.raises(UserError, match="already used"):
        config.load_all(tmp_path)
    with pytest.raises(UserError, match="no pipeline files"):
        config.load_all(tmp_path / "empty")


def test_hot_key_share_can_be_measured_on_the_lanes_workload(tmp_path):
    from bench.capacity import hotkey
    from impls.base import Record

    records = [Record(i, 0, key, (), b"{}") for i, key in enumerate([b"t:hot"] * 3 + [b"t:a", b"t:b"])]
    assert hotkey.top_key_share(records) == pytest.approx(0.6)
    lane = tmp_path / "lane.toml"
    lane.write_text(GOOD.replace("[traffic]\n", '[traffic]\nhot_key_share = "workload"\n'))
    loaded = config.load(lane)
    assert loaded.traffic.hot_key_source == "workload"
    lane.write_text(GOOD.replace("[traffic]\n", '[traffic]\nhot_key_share = "lots"\n'))
    with pytest.raises(UserError, match='traffic.hot_key_share: must be a number or "workload"'):
        config.load(lane)
