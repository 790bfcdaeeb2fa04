"""The report in a real headless Chromium: it renders, charts are drawn, no console errors."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.reporting import cli
from bench.reporting.synthetic import demo_run

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--enable-logging=stderr", "--v=0"]


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("chromium not installed (make installs Debian's `chromium`)")
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.fixture
def report(tmp_path: Path) -> Path:
    prof = tmp_path / "profiles"
    prof.mkdir()
    (prof / "reference--general.json").write_text(json.dumps({
        "impl": "reference", "workload": "general", "source": "py-spy", "samples": 100, "rate": 250,
        "stages": {"decode": 0.5}, "timer_stages": {"decode": 0.45}, "flagged": [],
        "top_self": [], "top_total": [], "flamegraph": "reference--general.svg"}))
    # Like py-spy's output: an SVG with a script that would throw if it ever ran.
    (prof / "reference--general.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40"><script>undefinedFn();</script>'
        '<rect width="400" height="40" fill="#e8743b"/></svg>')
    results = tmp_path / "run.json"
    results.write_text(json.dumps(demo_run()))
    base = tmp_path / "base.json"
    base.write_text(json.dumps(demo_run(seed=3, run_id="base")))
    out = tmp_path / "report.html"
    assert run_cli("report", str(results), "--baseline", str(base), "-o", str(out), "--profiles", str(prof),
                   "--projection", str(tmp_path / "none.json")) == 0
    return out


def test_console_capture_works(tmp_path):
    # Guard against a silent check: a page with a real error must be caught by the same means.
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>undefinedFn();</script></body></html>")
    proc = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert any("undefinedFn" in line for line in console_lines(proc.stderr))


def test_report_renders_in_chromium_with_charts_and_no_console_errors(tmp_path, report):
    shot = tmp_path / "report.png"
    proc = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,4000", "--hide-scrollbars",
                    report.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert console_lines(proc.stderr) == []
    assert not [line for line in proc.stderr.splitlines() if "net::ERR" in line or "Failed to load" in line]

    from PIL import Image

    img = Image.open(shot).convert("RGB")
    assert img.size == (1280, 4000)
    colors = img.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 200        # text, bars, tables: not a blank page
    # The chart bars' colour is on screen, i.e. the inline SVG charts were drawn.
    bar_blue = (0x33, 0x66, 0xAA)
    assert sum(n for n, c in colors if c == bar_blue) > 5000

    dom = chromium(tmp_path, "--dump-dom", report.as_uri())
    assert dom.stdout.count("<svg") >= 6            # throughput, speed-up, stages, latency, memory, comparison
    assert 'class="flamegraph"' in dom.stdout
    assert console_lines(dom.stderr) == []
