"""`workload anonymize`: consistent pseudonyms, lengths and skew kept, nothing identifying left."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import orjson
import pytest

from bench.cli import main
from bench.workloads import format as fmt
from bench.workloads.anonymize import Anonymizer, anonymize
from tests.fixtures_workloads import small_workload

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _ids(workload) -> set[str]:
    out = set()
    for r in workload.records:
        outer = orjson.loads(r.value)
        out.add(outer["distinct_id"])
    return out


def test_pseudonyms_are_consistent_and_keep_shape() -> None:
    a = Anonymizer(b"k1")
    uuid = "0196f3a1-11aa-7b3c-8d2e-55aa66bb77cc"
    p = a.pseudo("id", uuid)
    assert p == a.pseudo("id", uuid) == Anonymizer(b"k1").pseudo("id", uuid)
    assert p != uuid and len(p) == len(uuid)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", p)
    assert Anonymizer(b"k2").pseudo("id", uuid) != p
    email = a.text("write to ana.silva@example.com today")
    assert email.startswith("write to ") and email.endswith(" today") and "ana.silva" not in email
    assert len(email) == len("write to ana.silva@example.com today") and "@" in email
    ip = a.ip("203.0.113.10")
    assert ip != "203.0.113.10" and len(ip) == len("203.0.113.10")
    assert all(0 <= int(o) <= 255 for o in ip.split("."))
    url = a.text("https://shop.example.com/pricing?utm_source=google")
    assert url.startswith("https://") and url.endswith(".com/" + url.split(".com/")[1])
    assert "shop" not in url and "pricing" not in url and len(url) == len("https://shop.example.com/pricing?utm_source=google")
    assert a.distinct_id(123456) != 123456 and len(str(a.distinct_id(123456))) == 6
    assert a.distinct_id(None) is None and a.distinct_id(True) is True


def test_workload_anonymization_keeps_lengths_skew_and_links() -> None:
    w = small_workload("general")
    anon = anonymize(w, b"secret")
    assert len(anon.records) == len(w.records)
    # Lengths kept: every value and key has exactly the original length.
    assert [len(r.value) for r in anon.records] == [len(r.value) for r in w.records]
    assert [len(r.key) for r in anon.records] == [len(r.key) for r in w.records]
    # Skew kept: the multiset of per-key counts is unchanged, and the mapping is one-to-one.
    before, after = Counter(r.key for r in w.records), Counter(r.key for r in anon.records)
    assert sorted(before.values()) == sorted(after.values())
    assert len(before) == len(after)
    # Nothing identifying left: no original distinct id, email or client IP appears in the output.
    original_ids = _ids(w)
    blob = b"\n".join(r.value for r in anon.records) + b"\n".join(r.key for r in anon.records)
    for did in original_ids:
        assert did.encode() not in blob
    emails = {m for r in w.records for m in EMAIL.findall(r.value.decode())}
    assert emails and not any(e.encode() in blob for e in emails)
    ips = {orjson.loads(r.value)["ip"] for r in w.records}
    assert not any(f'"ip":"{ip}"'.encode() in blob for ip in ips)
    # Links kept: key, header, outer and inner distinct ids agree, and persons still match events.
    person_ids = {d for p in anon.header["persons"] for d in p["distinct_ids"]}
    hits = 0
    for r in anon.records:
        outer = orjson.loads(r.value)
        data = orjson.loads(outer["data"])
        assert r.key.decode() == f"{outer['token']}:{outer['distinct_id']}"
        assert dict(r.headers)["distinct_id"].decode() == outer["distinct_id"]
        if "distinct_id" in data.get("properties", {}):
            assert data["properties"]["distinct_id"] == outer["distinct_id"]
        hits += outer["distinct_id"] in person_ids
    original_hits = sum(orjson.loads(r.value)["distinct_id"] in {d for p in w.header["persons"] for d in p["distinct_ids"]}
                        for r in w.records)
    assert hits == original_hits > 0
    assert anon.header["origin"]["anonymized"]["key_id"]


def test_hostile_workload_anonymizes_without_crashing() -> None:
    w = small_workload("hostile")
    anon = anonymize(w, b"secret")
    assert len(anon.records) == len(w.records)
    assert sum(r.value is None for r in anon.records) == sum(r.value is None for r in w.records)


def test_cli_anonymize_is_deterministic_with_a_key(tmp_path: Path, workload_files: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = workload_files["identify-heavy"]
    a, b = tmp_path / "a.pbw", tmp_path / "b.pbw"
    assert main(["workload", "anonymize", str(src), "-o", str(a), "--key", "s3cret"]) == 0
    assert main(["workload", "anonymize", str(src), "-o", str(b), "--key", "s3cret"]) == 0
    assert a.read_bytes() == b.read_bytes()
    c = tmp_path / "c.pbw"
    assert main(["workload", "anonymize", str(src), "-o", str(c)]) == 0  # random key, said on stderr
    assert "random key" in capsys.readouterr().err
    assert fmt.load(c).records != fmt.load(a).records
    assert len(fmt.load(a).records) == 300
