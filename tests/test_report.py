"""`partbench report`: one self-contained, escaped HTML file that never shows unverified figures."""

from __future__ import annotations

import argparse
import base64
import json
import re
from pathlib import Path

import pytest

from bench.errors import UserError
from bench.reporting import cli
from bench.reporting.synthetic import demo_run

EVIL = '<script>alert("x")</script>$x$'


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # The default --profiles/--projection are relative to the working directory: keep the
    # tree's own results/ out of these tests.
    monkeypatch.chdir(tmp_path)


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def profile_dir(tmp_path: Path) -> Path:
    d = tmp_path / "profiles"
    d.mkdir()
    write(d / "reference--general.json", {
        "impl": "reference", "workload": "general", "source": "py-spy", "samples": 1200, "rate": 250,
        "stages": {"decode": 0.4, "persons": 0.2}, "timer_stages": {"decode": 0.25, "persons": 0.22},
        "flagged": ["decode"], "top_self": [{"function": "loads (json/decoder.py)", "share": 0.12}],
        "top_total": [{"function": "stage_decode (impls/reference/x.py)", "share": 0.4}],
        "flamegraph": "reference--general.svg", "note": ""})
    # py-spy flamegraphs carry JavaScript: it must never run in the report.
    write(d / "reference--general.svg",
          '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="20"><script>boom()</script>'
          '<rect width="100" height="20" fill="orange"/><text y="15">stage_decode</text></svg>')
    write(d / "reference--general.speedscope.json", {"not": "a summary"})
    return d


PROJECTION = {
    "pipeline": "general", "growth": 10, "assumptions": ["plan at 70% utilization"],
    "today": {"peak_events_per_s": 60000, "pods": 20, "partitions": 64},
    "rows": [{"impl": "reference", "mu_partition": 41234.0, "mu_pod": 70000.0, "pods": 12, "partitions": 64,
              "cost_vs_today": 0.6, "sim": {"p99_lag_s": 0.8, "p999_lag_s": 2.1, "meets_sla": True,
                                             "min_pods_meeting_sla": 11}}],
    "sensitivity": {"growth": [1, 2, 5, 10], "pods": {"reference": [2, 3, 7, 12]}},
    "validation": {"partitions": 2, "predicted_events_per_s": 80000, "measured_events_per_s": 76000,
                   "error_pct": 5.2},
}


def render(tmp_path: Path, *extra: str, data=None) -> str:
    results = write(tmp_path / "run.json", data or demo_run())
    out = tmp_path / "out" / "report.html"
    assert run_cli("report", str(results), "-o", str(out), *extra) == 0
    return out.read_text()


def test_full_report_has_every_section_and_is_self_contained(tmp_path):
    proj = write(tmp_path / "projection.json", PROJECTION)
    base = write(tmp_path / "base.json", demo_run(seed=3, run_id="base-run"))
    html = render(tmp_path, "--profiles", str(profile_dir(tmp_path)), "--projection", str(proj),
                  "--baseline", str(base))
    for chart in ("throughput", "speedup", "stages", "latency", "memory", "sensitivity", "comparison"):
        assert f'data-chart="{chart}"><svg' in html, chart
    for text in ("Summary", "fastest verified", "A/A noise", "Verification", "Bottlenecks",
                 "loads (json/decoder.py)", "Pod projection", "plan at 70% utilization", "Machine",
                 "synthetic CPU", "partbench run --rigorous", "git checkout " + "0" * 40, "Compared with base-run"):
        assert text in html, text
    # No external assets, no scripts: it opens offline and nothing runs.
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html
    # Flamegraph embedded as an image (its script cannot run there), not inlined.
    m = re.search(r'<img class="flamegraph"[^>]*src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert m and b"boom()" in base64.b64decode(m.group(1))


def test_unverified_results_only_in_the_verification_table(tmp_path):
    html = render(tmp_path)
    throughput = html.split('id="throughput"')[1].split("</section>")[0]
    verification = html.split('id="verification"')[1].split("</section>")[0]
    assert "broken" not in throughput
    assert "broken" in verification and "record 17 differs" in verification
    assert "not shown as figures: broken on general (failed)" in html
    stages = html.split('id="stages"')[1].split("</section>")[0]
    assert "broken" not in stages


def test_missing_parts_say_not_measured_never_fake_data(tmp_path):
    data = demo_run()
    for r in data["results"]:
        r["stages"] = None
        r["batch_latency_ms"] = None
        r["peak_rss_mb"] = None
        r["cpu_seconds_per_kevent"] = None
    html = render(tmp_path, "--profiles", str(tmp_path / "none"), "--projection", str(tmp_path / "none.json"),
                  data=data)
    assert html.count("not measured in this run") == 5
    assert "run <code>make profile</code>" in html and "run <code>make project</code>" in html
    for chart in ("stages", "latency", "memory", "sensitivity", "comparison"):
        assert f'data-chart="{chart}"' not in html


def test_names_from_workloads_cannot_inject_markup(tmp_path):
    data = demo_run()
    for r in data["results"]:
        r["workload"] = EVIL
    data["results"][3]["verification"]["detail"] = EVIL
    data["command"] = EVIL
    html = render(tmp_path, data=data)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    # In the charts too (matplotlib escapes text; mathtext is off so $x$ stays literal).
    svg = html.split('data-chart="throughput">')[1].split("</figure>")[0]
    assert "&lt;script&gt;" in svg and "$x$" in svg


def test_all_unverified_renders_a_note_not_a_chart(tmp_path):
    data = demo_run()
    for r in data["results"]:
        r["verification"] = {"status": "error", "digest": "", "detail": "crashed"}
        r["throughput"] = None
    html = render(tmp_path, data=data)
    assert "No verified result" in html and 'data-chart="throughput"' not in html


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.update(schema="other/1"), "schema is 'other/1'"),
    (lambda d: d["results"][0]["throughput"].update(per_process=[]), r"results\[0\] \(reference on general\): throughput.per_process"),
    (lambda d: d["results"][3].update(throughput={"events_per_s": 1.0}), "verification failed but a throughput is present"),
    (lambda d: d["results"][1]["verification"].update(status="maybe"), "verification.status"),
])
def test_bad_results_are_refused_with_one_line_and_no_output(tmp_path, mutate, message):
    data = demo_run()
    mutate(data)
    results = write(tmp_path / "bad.json", data)
    out = tmp_path / "report.html"
    with pytest.raises(UserError, match=message) as exc:
        run_cli("report", str(results), "-o", str(out))
    assert "bad.json" in str(exc.value) and "\n" not in str(exc.value)
    assert not out.exists() and list(tmp_path.glob("*.tmp")) == []


def test_bad_projection_and_profile_are_refused(tmp_path):
    results = write(tmp_path / "run.json", demo_run())
    proj = write(tmp_path / "projection.json", {"rows": [{"impl": "reference"}]})
    with pytest.raises(UserError, match=r"projection.json: rows\[0\]"):
        run_cli("report", str(results), "-o", str(tmp_path / "r.html"), "--projection", str(proj))
    d = tmp_path / "p"
    d.mkdir()
    write(d / "x.json", {"impl": "reference", "top_self": [{"function": 3}]})
    with pytest.raises(UserError, match="x.json: top_self"):
        run_cli("report", str(results), "-o", str(tmp_path / "r.html"), "--profiles", str(d))


def test_report_is_deterministic(tmp_path):
    a = render(tmp_path)
    b = render(tmp_path)
    assert a == b


def test_several_results_files_are_labelled_by_run(tmp_path):
    one = write(tmp_path / "one.json", demo_run(seed=1, run_id="run-one"))
    two = write(tmp_path / "two.json", demo_run(seed=2, run_id="run-two"))
    out = tmp_path / "r.html"
    assert run_cli("report", str(one), str(two), "-o", str(out), "--profiles", str(tmp_path / "x")) == 0
    html = out.read_text()
    assert "general · reference [run-one]" in html and "general · reference [run-two]" in html


def test_a_stripped_floor_is_never_called_the_fastest(tmp_path):
    doc = demo_run()
    floor = json.loads(json.dumps(next(r for r in doc["results"] if r["impl"] == "numba"
                                       and r["workload"] == "general")))
    floor.update(impl="rust-floor", kind="stripped")
    floor["throughput"]["events_per_s"] *= 10
    doc["results"].append(floor)
    path = write(tmp_path / "run.json", doc)
    assert run_cli("report", str(path), "-o", str(tmp_path / "r.html")) == 0
    summary = (tmp_path / "r.html").read_text().split('id="summary"')[1].split("</section>")[0]
    assert "general: fastest verified is numba" in summary
    assert "of the floor (rust-floor" in summary
