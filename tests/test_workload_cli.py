"""`partbench workload …` through bench.cli.main: gen, inspect, import/export, record/replay wiring, errors."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from bench.cli import main
from bench.errors import UserError
from bench.workloads import format as fmt
from bench.workloads import generator
from impls.base import Record


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("partbench: error: ")
    return err[0]


def test_gen_is_byte_identical_per_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.pbw", tmp_path / "b.pbw", tmp_path / "c.pbw"
    assert main(["workload", "gen", "--profile", "general", "--events", "200", "--seed", "3", "-o", str(a)]) == 0
    assert main(["workload", "gen", "--profile", "general", "--events", "200", "--seed", "3", "-o", str(b)]) == 0
    assert main(["workload", "gen", "--profile", "general", "--events", "200", "--seed", "4", "-o", str(c)]) == 0
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    header = fmt.load(a).header
    assert header["origin"] == {**header["origin"], "kind": "generated", "profile": "general", "events": 200,
                                "seed": 3, "generator_version": generator.GENERATOR_VERSION}


def test_gen_all_profiles(tmp_path: Path) -> None:
    assert main(["workload", "gen", "--all-profiles", "--events", "60", "-o", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"{p}-60-s1.pbw" for p in
                           ("general", "hot-key", "identify-heavy", "large-properties", "personless", "hostile"))


def test_gen_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workload", "gen", "--profile", "nope", "-o", str(tmp_path / "x.pbw")]) != 0
    assert "unknown profile 'nope'" in _one_error_line(capsys)
    assert main(["workload", "gen", "--profile", "hostile", "--events", "5", "-o", str(tmp_path / "x.pbw")]) != 0
    assert "hostile" in _one_error_line(capsys)
    assert not list(tmp_path.iterdir())


def test_inspect_json(workload_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workload", "inspect", str(workload_files["hot-key"]), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["records"] == 300
    assert summary["checksum"]["status"] == "ok" and summary["checksum"]["value"].startswith("sha256:")
    assert summary["key_skew"]["top1_share"] >= 0.30
    assert summary["key_skew"]["top_keys"][0]["key"] == summary["origin"]["hot_key"]
    assert sum(e["records"] for e in summary["event_mix"]) == 300
    for field in ("message_bytes", "properties_per_event"):
        assert {"p50", "p90", "p99", "max"} <= set(summary[field])
        assert summary[field]["p50"] <= summary[field]["p99"] <= summary[field]["max"]
    assert {t["team_id"] for t in summary["teams"]} <= {2, 7, 11, 15}
    assert sum(t["records"] for t in summary["teams"]) == 300


def test_inspect_table_and_hostile(workload_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workload", "inspect", str(workload_files["hostile"])]) == 0
    out = capsys.readouterr().out
    for text in ("event mix", "key skew", "message bytes", "properties per event", "teams", "ok",
                 "hostile cases", "deep_nesting", "(unknown tokens)", "(no token)"):
        assert text in out, text


def test_inspect_reports_checksum_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import zstandard

    path = tmp_path / "m.pbw"
    fmt.save(fmt.Workload("m", {"origin": {}}, [Record(i, i, b"k", (), b'{"event":"x"}') for i in range(5)]), path)
    data = path.read_bytes()
    start = fmt.PREFIX.size
    (hlen,) = fmt.FRAME_LEN.unpack_from(data, start)
    rstart = start + 4 + hlen
    (rlen,) = fmt.FRAME_LEN.unpack_from(data, rstart)
    block = zstandard.ZstdDecompressor().decompress(data[rstart + 4: rstart + 4 + rlen])
    frame = zstandard.ZstdCompressor(write_checksum=True, write_content_size=True).compress(
        block.replace(b'"x"', b'"y"'))
    path.write_bytes(data[:rstart] + fmt.FRAME_LEN.pack(len(frame)) + frame + data[rstart + 4 + rlen:])
    assert main(["workload", "inspect", str(path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["checksum"]["status"] == "mismatch"


def test_bad_files_give_one_line(tmp_path: Path, workload_files: dict[str, Path],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    good = workload_files["general"].read_bytes()
    truncated = tmp_path / "trunc.pbw"
    truncated.write_bytes(good[: len(good) // 2])
    versioned = tmp_path / "v9.pbw"
    versioned.write_bytes(fmt.PREFIX.pack(fmt.MAGIC, 9) + good[fmt.PREFIX.size:])
    for path, reason in ((truncated, "truncated"), (versioned, "unknown workload format version 9")):
        for argv in (["workload", "inspect", str(path)], ["workload", "export", str(path), "-o", str(tmp_path / "o.jsonl")],
                     ["workload", "anonymize", str(path), "-o", str(tmp_path / "o.pbw"), "--key", "k"]):
            assert main(argv) == 2
            line = _one_error_line(capsys)
            assert str(path) in line and reason in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trunc.pbw", "v9.pbw"]


def test_import_export_round_trip(tmp_path: Path, workload_files: dict[str, Path]) -> None:
    src = workload_files["hostile"]  # invalid UTF-8, null values, lone-surrogate escapes…
    jsonl = tmp_path / "h.jsonl"
    assert main(["workload", "export", str(src), "-o", str(jsonl)]) == 0
    lines = jsonl.read_bytes().splitlines()
    assert len(lines) == 301 and b'"context"' in lines[0]
    assert any(b'"b64"' in line for line in lines)
    back = tmp_path / "back.pbw"
    assert main(["workload", "import", str(jsonl), "-o", str(back)]) == 0
    original, imported = fmt.load(src), fmt.load(back)
    assert imported.records == original.records
    for field in ("teams", "persons", "groups", "restrictions"):
        assert imported.header[field] == original.header[field]
    assert imported.header["origin"]["kind"] == "imported"
    assert imported.header["origin"]["original_origin"] == original.header["origin"]


def test_import_crafted_cases(tmp_path: Path) -> None:
    jsonl = tmp_path / "crafted.jsonl"
    context = tmp_path / "ctx.json"
    context.write_text(json.dumps({"teams": [{"id": 2, "api_token": "phc_t"}], "persons": []}))
    jsonl.write_text("\n".join([
        json.dumps({"timestamp": 1000, "key": "phc_t:u1", "headers": {"token": "phc_t"},
                    "value": {"uuid": "x", "event": "$pageview", "data": "{}"}}),
        json.dumps({"timestamp": 1001, "key": None, "headers": [["raw", {"b64": "/w=="}]], "value": None}),
        "",
        json.dumps({"offset": 40, "timestamp_ms": 1002, "value": "plain text"}),
    ]) + "\n")
    out = tmp_path / "crafted.pbw"
    assert main(["workload", "import", str(jsonl), "-o", str(out), "--context", str(context)]) == 0
    w = fmt.load(out)
    assert [r.offset for r in w.records] == [0, 1, 40]
    assert w.records[0].value == orjson.dumps({"uuid": "x", "event": "$pageview", "data": "{}"})
    assert w.records[1] == Record(1, 1001, None, (("raw", b"\xff"),), None)
    assert w.records[2].key is None and w.records[2].value == b"plain text"
    assert w.header["teams"] == [{"id": 2, "api_token": "phc_t"}]
    assert w.name == "crafted"


@pytest.mark.parametrize(("line", "reason"), [
    ("{not json", "not valid JSON"),
    ('{"key": "a", "value": "b"}', "timestamp must be an integer"),
    ('{"timestamp": 1, "offset": -3}', "offset must be a non-negative integer"),
    ('{"timestamp": 1, "headers": [["a"]]}', "each header must be [name, value]"),
    ('{"timestamp": 1, "value": {"b64": "%%%"}}', "invalid base64"),
    ('{"timestamp": 1, "colour": "red"}', "unknown field(s) colour"),
    ('[1, 2]', "expected a JSON object"),
])
def test_bad_jsonl_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, reason: str) -> None:
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"timestamp": 5, "value": "ok"}\n' + line + "\n")
    out = tmp_path / "out.pbw"
    assert main(["workload", "import", str(jsonl), "-o", str(out)]) == 2
    err = _one_error_line(capsys)
    assert f"file {jsonl}: line 2: " in err and reason in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_export_to_stdout(workload_files: dict[str, Path], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["workload", "export", str(workload_files["general"])]) == 0
    lines = capsysbinary.readouterr().out.splitlines()
    assert len(lines) == 301
    first = orjson.loads(lines[1])
    assert set(first) == {"offset", "timestamp", "key", "headers", "value"}


class _FakeKafka:
    """Stands in for bench.kafka.workload_io (its own tests use a real broker)."""

    def __init__(self, records: list[Record], fail: str | None = None) -> None:
        self.records, self.fail, self.calls = records, fail, []

    def record_partition(self, bootstrap, topic, partition, *, from_offset, from_time_ms, count, config):
        self.calls.append(("record", bootstrap, topic, partition, from_offset, from_time_ms, count, config))
        if self.fail:
            raise UserError(self.fail)
        return self.records[:count]

    def replay(self, records, bootstrap, topic, *, partition, rate, config):
        sent = list(records)
        self.calls.append(("replay", bootstrap, topic, partition, rate, config, sent))
        if self.fail:
            raise UserError(self.fail)
        return len(sent)


@pytest.fixture
def fake_kafka(monkeypatch: pytest.MonkeyPatch):
    import bench.workloads.cli as wcli

    fake = _FakeKafka([Record(100 + i, 5000 + i, b"k", (("token", b"t"),), b"{}") for i in range(10)])
    monkeypatch.setattr(wcli, "_kafka_io", lambda: fake)
    return fake


def test_record_builds_the_workload(tmp_path: Path, fake_kafka: _FakeKafka) -> None:
    context = tmp_path / "ctx.json"
    context.write_text(json.dumps({"teams": [{"id": 9, "api_token": "t"}], "restrictions": []}))
    out = tmp_path / "rec.pbw"
    assert main(["workload", "record", "--bootstrap", "127.0.0.1:9092", "--topic", "events", "--partition", "3",
                 "--from-time", "2026-11-20T00:00:00Z", "--count", "4", "-o", str(out), "--context", str(context),
                 "-X", "security.protocol=plaintext", "-X", "fetch.max.bytes=1048576"]) == 0
    call = fake_kafka.calls[0]
    assert call == ("record", "127.0.0.1:9092", "events", 3, None, 1_795_132_800_000, 4,
                    {"security.protocol": "plaintext", "fetch.max.bytes": "1048576"})
    w = fmt.load(out)
    assert len(w.records) == 4
    assert w.header["origin"] == {"kind": "recorded", "topic": "events", "partition": 3,
                                  "first_offset": 100, "last_offset": 103}
    assert w.header["teams"] == [{"id": 9, "api_token": "t"}] and w.header["persons"] == []


def test_record_failure_leaves_no_file(tmp_path: Path, fake_kafka: _FakeKafka,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    fake_kafka.fail = "broker 127.0.0.1:1: unreachable (connection refused)"
    out = tmp_path / "rec.pbw"
    assert main(["workload", "record", "--bootstrap", "127.0.0.1:1", "--topic", "t", "--partition", "0",
                 "--from-offset", "0", "--count", "5", "-o", str(out)]) == 2
    assert "127.0.0.1:1" in _one_error_line(capsys)
    assert not out.exists()


def test_replay_streams_the_file(workload_files: dict[str, Path], fake_kafka: _FakeKafka) -> None:
    assert main(["workload", "replay", str(workload_files["general"]), "--bootstrap", "h:1", "--topic", "t",
                 "--rate", "500", "-X", "acks=all"]) == 0
    _, bootstrap, topic, partition, rate, config, sent = fake_kafka.calls[0]
    assert (bootstrap, topic, partition, rate, config) == ("h:1", "t", None, 500.0, {"acks": "all"})
    assert sent == fmt.load(workload_files["general"]).records


def test_bad_kafka_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_kafka: _FakeKafka) -> None:
    base = ["workload", "record", "--bootstrap", "h:1", "--topic", "t", "--partition", "0", "-o", str(tmp_path / "o")]
    assert main([*base, "--from-time", "yesterday", "--count", "1"]) == 2
    assert "--from-time 'yesterday'" in _one_error_line(capsys)
    assert main([*base, "--from-offset", "0", "--count", "1", "-X", "novalue"]) == 2
    assert "-X 'novalue'" in _one_error_line(capsys)
    assert not fake_kafka.calls
