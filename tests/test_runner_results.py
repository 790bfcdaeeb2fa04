"""Results files: schema round trip, validation, atomic writes that survive an interrupt."""

from __future__ import annotations

import json
import os

import pytest

from bench.errors import UserError
from bench.runner import results


def _document(**overrides):
    doc = {
        "schema": results.SCHEMA, "run_id": results.new_run_id(), "created": results.iso_utc(),
        "source": "local", "mode": "fast", "command": "partbench run --fast",
        "machine": {"cores": 2}, "settings": {"batch_size": 500}, "noise": None,
        "results": [{
            "impl": "tiny", "kind": "realistic", "runtime": "in-process", "workload": "general",
            "workload_file": "w.pbw", "workload_checksum": "sha256:0", "events": 10, "batch_size": 500,
            "verification": {"status": "passed", "digest": "sha256:1", "detail": ""},
            "throughput": {"events_per_s": 10.0, "ci95": [9.0, 11.0], "per_process": [10.0], "values": [10.0]},
            "end_to_end": None, "batch_latency_ms": None, "peak_rss_mb": 1.0, "cpu_seconds_per_kevent": 0.1,
            "stages": None, "warnings": [],
        }],
    }
    doc.update(overrides)
    return doc


def test_round_trip(tmp_path):
    doc = _document()
    path = tmp_path / "run.json"
    results.atomic_write_json(path, doc)
    assert results.read(path) == doc


def test_validate_rejects_throughput_on_unverified_result():
    doc = _document()
    doc["results"][0]["verification"]["status"] = "failed"
    with pytest.raises(UserError, match="unverified result carries a throughput"):
        results.validate(doc)


def test_validate_names_missing_key_and_schema(tmp_path):
    doc = _document()
    del doc["results"][0]["peak_rss_mb"]
    with pytest.raises(UserError, match=r"results\[0\]: missing key 'peak_rss_mb'"):
        results.validate(doc)
    with pytest.raises(UserError, match="schema"):
        results.validate(_document(schema="partbench.results/0"))


def test_interrupted_write_keeps_previous_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "latest.json"
    results.atomic_write_json(path, {"old": True})

    def interrupted(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write('{"new": ')  # half a document, then Ctrl-C
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        results.atomic_write(path, interrupted)
    assert json.loads(path.read_text()) == {"old": True}
    assert os.listdir(tmp_path) == ["latest.json"]


def test_write_run_removes_its_files_when_interrupted(tmp_path, monkeypatch):
    class Suite:
        def dump(self, filename, replace=False):
            with open(filename, "w") as f:
                f.write("{}")

    calls = []
    real = results.atomic_write_json

    def fail_on_latest(path, document):
        calls.append(path)
        if str(path).endswith("latest.json"):
            raise KeyboardInterrupt
        real(path, document)

    monkeypatch.setattr(results, "atomic_write_json", fail_on_latest)
    with pytest.raises(KeyboardInterrupt):
        results.write_run(_document(), tmp_path / "r1.json", Suite(), tmp_path / "latest.json")
    assert os.listdir(tmp_path) == []  # neither the pyperf file nor the results file stays


def test_write_run_writes_pyperf_file_beside_results(tmp_path):
    class Suite:
        def dump(self, filename, replace=False):
            with open(filename, "w") as f:
                f.write("{}")

    results.write_run(_document(), tmp_path / "r1.json", Suite(), tmp_path / "latest.json")
    assert sorted(os.listdir(tmp_path)) == ["latest.json", "r1.json", "r1.pyperf.json"]
    assert results.read(tmp_path / "latest.json") == results.read(tmp_path / "r1.json")
    assert oct(os.stat(tmp_path / "r1.json").st_mode & 0o044) != "0o0"  # readable by others (not mkstemp's 0600)


def test_machine_metadata_records_partbench_settings(monkeypatch) -> None:
    from bench.runner import machine

    monkeypatch.setenv("PARTBENCH_BRIDGE_SPIN", "0")
    monkeypatch.setenv("NOT_PARTBENCH_X", "1")
    settings = machine.collect()["settings_from_environment"]
    assert settings["PARTBENCH_BRIDGE_SPIN"] == "0"
    assert "NOT_PARTBENCH_X" not in settings
