"""Results files (schema `partbench.results/1`, docs/results.md): build, validate, write atomically.

Every file is written to a temporary file in the same folder and moved into place with
`os.replace`, so an interrupted run (Ctrl-C, crash) leaves either the previous file or the new
one, never a partial one, and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.atomic import atomic_write, write_json
from bench.errors import UserError

SCHEMA = "partbench.results/1"

# Keys every result carries (docs/results.md); later additions are optional for readers.
RUN_KEYS = ("schema", "run_id", "created", "source", "mode", "command", "machine", "settings", "noise", "results")
RESULT_KEYS = ("impl", "kind", "runtime", "workload", "workload_file", "workload_checksum", "events",
               "batch_size", "verification", "throughput", "end_to_end", "batch_latency_ms",
               "peak_rss_mb", "cpu_seconds_per_kevent", "stages", "warnings")
VERIFICATION_STATUSES = ("passed", "failed", "unavailable", "error")


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def iso_utc(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic_write_json(path: str | os.PathLike[str], document: Any) -> None:
    write_json(path, document)


def validate(document: Any, where: str = "results") -> None:
    """Check the parts of the schema every reader relies on; raise UserError naming what is wrong."""
    if not isinstance(document, dict):
        raise UserError(f"{where}: not a JSON object")
    if document.get("schema") != SCHEMA:
        raise UserError(f"{where}: schema is {document.get('schema')!r}, expected {SCHEMA!r}")
    for key in RUN_KEYS:
        if key not in document:
            raise UserError(f"{where}: missing key {key!r}")
    for i, result in enumerate(document["results"]):
        for key in RESULT_KEYS:
            if key not in result:
                raise UserError(f"{where}: results[{i}]: missing key {key!r}")
        status = result["verification"].get("status")
        if status not in VERIFICATION_STATUSES:
            raise UserError(f"{where}: results[{i}]: verification status {status!r} unknown")
        if status != "passed" and result["throughput"] is not None:
            raise UserError(f"{where}: results[{i}]: unverified result carries a throughput")


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"file {path}: {exc}") from None
    validate(document, f"file {path}")
    return document


def pyperf_path_for(results_path: str | os.PathLike[str]) -> Path:
    """`results/X.json` → `results/X.pyperf.json` (pyperf's own file beside ours)."""
    path = Path(results_path)
    stem = path.name[:-5] if path.name.endswith(".json") else path.name
    return path.with_name(stem + ".pyperf.json")


def write_run(document: dict[str, Any], results_path: str | os.PathLike[str],
              pyperf_suite: Any | None, latest_path: str | os.PathLike[str] | None) -> None:
    """Write pyperf's suite, the results file and (optionally) latest.json; on an interrupt,
    remove whatever this run had already written so no half-set of files is left."""
    validate(document)
    written: list[Path] = []
    try:
        if pyperf_suite is not None:
            pyperf_file = pyperf_path_for(results_path)
            atomic_write(pyperf_file, lambda tmp: pyperf_suite.dump(tmp, replace=True))
            written.append(pyperf_file)
        atomic_write_json(results_path, document)
        written.append(Path(results_path))
        if latest_path is not None:
            atomic_write_json(latest_path, document)
    except BaseException:
        for path in written:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        raise
