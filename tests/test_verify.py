"""bench.verification: process.run accounting, canonical comparison, verify statuses, CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import orjson
import pytest

from bench.errors import UserError
from bench.verification import cli as vcli
from bench.verification import compare
from bench.verification.canonical import compare_streams, digest, first_difference
from bench.verification.process import AccountingError, run
from bench.workloads.model import Workload
from impls import registry
from impls.base import InProcess
from impls.reference import ReferencePipeline
from tests.test_reference_support import TEAM, make_record


def tiny_workload(name: str = "tiny") -> Workload:
    records = [make_record({"event": "$pageview", "properties": {"$browser": "Chrome", "n": 1.5, "t": "é"},
                            "$set": {"plan": "pro"}}, offset=i, distinct_id=f"u{i % 3}") for i in range(7)]
    records.append(make_record(offset=7, value=b"\xff"))
    return Workload(name, {"teams": [TEAM], "persons": []}, records)


class OrjsonEmit(ReferencePipeline):
    """Different bytes, same canonical outputs: other key order, UTF-8, and JSON-in-string spacing."""

    def encode(self, record: dict) -> bytes:
        record = dict(reversed(list(record.items())))
        for key in ("properties", "person_properties"):
            if isinstance(record.get(key), str):
                record[key] = json.dumps(json.loads(record[key]), indent=1, ensure_ascii=False)
        return orjson.dumps(record)


class WrongBrowser(ReferencePipeline):
    def stage_create_event(self, batch) -> None:
        for ev in batch.events:
            if ev.outcome is None and "$browser" in ev.properties:
                ev.properties["$browser"] = "Safari"
        super().stage_create_event(batch)


class LosesRecords(ReferencePipeline):
    def stage_emit(self, batch) -> None:
        batch.events[0].outcome = None   # forget what became of one record
        super().stage_emit(batch)


@pytest.fixture
def fake_impls(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = {
        "orjson-emit": InProcess("orjson-emit", "test", OrjsonEmit),
        "wrong-browser": InProcess("wrong-browser", "test", WrongBrowser),
        "loses-records": InProcess("loses-records", "test", LosesRecords),
        "missing": InProcess("missing", "test", None, missing="extension not built (test)"),
    }
    original_get, original_names = registry.get, registry.names
    monkeypatch.setattr(registry, "get", lambda name: entries[name] if name in entries else original_get(name))
    monkeypatch.setattr(registry, "names", lambda: original_names() + list(entries))
    compare.clear_cache()


def test_run_concatenates_batches_and_counts_outcomes() -> None:
    out = run(registry.get("reference"), tiny_workload(), batch_size=3)
    assert out.batches == 3 and out.records == 8
    assert out.outcomes == {"dlq": 1, "event": 7}
    assert len(out.streams["events"]) == 7 and len(out.streams["dlq"]) == 1


def test_run_raises_on_accounting_error() -> None:
    with pytest.raises(AccountingError, match="account for"):
        run(InProcess("loses-records", "test", LosesRecords), tiny_workload(), batch_size=4)


def test_first_difference_paths_and_number_rules() -> None:
    assert first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]}) == ("a[1].b", 2, 3)
    assert first_difference({"a": 1}, {"a": 1.0}) is None
    assert first_difference({"a": 1}, {"a": True}) == ("a", 1, True)
    assert first_difference([1, 2], [1, 2, 3]) == ("length", 2, 3)
    assert first_difference({"a": 1}, {"a": 1, "z": None})[0] == "z"


def test_canonical_comparison_ignores_spelling_not_values() -> None:
    ref = {"events": [b'{"a":1,"properties":"{\\"x\\":1.0,\\"y\\":\\"\\\\u00e9\\"}"}']}
    same = {"events": ['{"properties":"{\\"y\\": \\"é\\", \\"x\\": 1}","a":1e0}'.encode()]}
    assert compare_streams(ref, same) is None
    assert digest(ref, {"event": 1}) == digest(same, {"event": 1})
    other = {"events": [b'{"a":1,"properties":"{\\"x\\":2,\\"y\\":\\"\\\\u00e9\\"}"}']}
    mismatch = compare_streams(ref, other)
    assert mismatch is not None and (mismatch.stream, mismatch.index, mismatch.path) == ("events", 0, "properties.x")
    assert digest(ref, {"event": 1}) != digest(other, {"event": 1})
    order = compare_streams({"dlq": [b'{"i":1}', b'{"i":2}']}, {"dlq": [b'{"i":2}', b'{"i":1}']})
    assert order is not None and order.index == 0    # order within a stream matters


def test_verify_statuses(fake_impls: None) -> None:
    workload = tiny_workload()
    passed = compare.verify("orjson-emit", workload)
    assert passed.status == "passed" and passed.digest.startswith("sha256:")
    assert compare.verify("reference", workload).digest == passed.digest
    failed = compare.verify("wrong-browser", workload)
    assert failed.status == "failed" and failed.mismatch is not None
    assert (failed.mismatch.stream, failed.mismatch.index, failed.mismatch.path) == ("events", 0, "properties.$browser")
    assert "'Chrome'" in failed.detail and "'Safari'" in failed.detail
    errored = compare.verify("loses-records", workload)
    assert errored.status == "error" and "accounting" in errored.detail
    unavailable = compare.verify("missing", workload)
    assert unavailable.status == "unavailable" and unavailable.detail == "extension not built (test)"
    assert compare.verify("no-such-impl", workload).status == "error"
    assert failed.as_dict().keys() == {"status", "digest", "detail"}


def test_reference_outputs_are_cached_per_workload(fake_impls: None, monkeypatch: pytest.MonkeyPatch) -> None:
    workload = tiny_workload()
    calls = []
    real_run = compare.run

    def counting_run(impl, *args, **kwargs):
        calls.append(impl.name)
        return real_run(impl, *args, **kwargs)

    monkeypatch.setattr(compare, "run", counting_run)
    compare.verify("orjson-emit", workload)
    compare.verify("wrong-browser", workload)
    assert calls == ["reference", "orjson-emit", "wrong-browser"]


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="partbench")
    vcli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def workload_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "tiny.pbw"
    path.write_bytes(b"placeholder")
    monkeypatch.setattr(vcli, "load_workload", lambda spec, **_: tiny_workload(Path(spec).stem))
    return str(path)


def test_cli_verify_exit_codes(fake_impls: None, workload_file: str, capsys: pytest.CaptureFixture) -> None:
    assert _cli(["verify", "--impl", "orjson-emit", workload_file]) == 0
    assert _cli(["verify", "--impl", "wrong-browser", workload_file]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "events[0] field properties.$browser" in out
    assert _cli(["verify", "--impl", "loses-records", workload_file]) == 2
    assert _cli(["verify", "--impl", "missing", workload_file]) == 2
    with pytest.raises(UserError):
        _cli(["verify", "--impl", "nope", workload_file])


def test_cli_process_writes_streams_and_summary(workload_file: str, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    assert _cli(["process", "--impl", "reference", workload_file, "--out", str(out_dir), "--batch-size", "3"]) == 0
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["outcomes"] == {"dlq": 1, "event": 7} and summary["streams"]["events"] == 7
    lines = (out_dir / "events.jsonl").read_bytes().splitlines()
    assert len(lines) == 7 and all(json.loads(line)["event"] == "$pageview" for line in lines)
    assert summary["digest"] == compare.verify("reference", tiny_workload("tiny"), batch_size=3).digest
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".")]   # no temp files left


def test_cli_process_bad_workload_leaves_nothing(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    with pytest.raises(UserError, match="no such workload file or profile"):
        _cli(["process", str(tmp_path / "missing.pbw"), "--out", str(out_dir)])
    assert not out_dir.exists()


def test_cli_verify_generated_profile() -> None:
    pytest.importorskip("bench.workloads.generator")
    assert _cli(["verify", "--impl", "reference", "--events", "60", "hostile"]) == 0


def test_cli_verify_all_skips_stripped(workload_file: str, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    stripped = InProcess("stripped-one", "test", WrongBrowser, kind="stripped")
    original_get = registry.get
    monkeypatch.setattr(registry, "names", lambda: ["reference", "stripped-one"])
    monkeypatch.setattr(registry, "get", lambda name: stripped if name == "stripped-one" else original_get(name))
    assert _cli(["verify", workload_file]) == 0
    assert "SKIPPED     stripped-one" in capsys.readouterr().out
    assert _cli(["verify", "--impl", "stripped-one", workload_file]) == 1   # named: run and compared
