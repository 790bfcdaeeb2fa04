"""`partbench list`: implementations (kind, runtime, availability), workloads and pipelines."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from bench.runner import defaults


def implementations() -> list[dict[str, Any]]:
    from impls import registry

    rows = []
    for name in registry.names():
        try:
            impl = registry.get(name)
        except Exception as exc:  # one broken module must not hide the others
            rows.append({"name": name, "kind": "?", "runtime": "?", "available": False,
                         "reason": f"cannot import: {type(exc).__name__}: {exc}", "description": ""})
            continue
        reason = impl.unavailable_reason()
        rows.append({"name": name, "kind": impl.kind, "runtime": impl.runtime, "available": reason is None,
                     "reason": reason or "", "description": getattr(impl, "description", "")})
    return rows


def workloads(folder: str | Path = defaults.WORKLOAD_DIR) -> dict[str, Any]:
    try:
        from bench.workloads import generator

        profiles = list(generator.PROFILES)
    except Exception as exc:  # a broken generator must not hide the implementations
        profiles = []
        error = f"{type(exc).__name__}: {exc}"
    else:
        error = ""
    cached = sorted(str(p) for p in Path(folder).glob("*.pbw")) if Path(folder).is_dir() else []
    return {
        "profiles": profiles,
        "profiles_error": error,
        "default_set": [{"profile": p, "events": n, "seed": defaults.DEFAULT_SEED}
                        for p, n in defaults.DEFAULT_WORKLOADS],
        "cached_files": cached,
    }


def _pipeline_row(name: str, data: dict[str, Any], path: str) -> dict[str, Any]:
    stages = data.get("stages", {}) if isinstance(data.get("stages"), dict) else {}
    workload = data.get("workload", {}) if isinstance(data.get("workload"), dict) else {}
    return {"name": name, "file": path, "batch_size": stages.get("batch_size", data.get("batch_size")),
            "workload": workload, "stages": stages}


def validation_error(path: Path) -> str | None:
    """The capacity model owns pipeline validation (bench.capacity.config.load): use it if present."""
    from bench.errors import UserError

    try:
        from bench.capacity import config as capacity_config
    except Exception:
        return None
    try:
        capacity_config.load(path)
    except UserError as exc:
        return str(exc)
    return None


def pipelines(folder: str | Path = defaults.PIPELINES_DIR) -> list[dict[str, Any]]:
    """Validated by the capacity model's loader when present, else read as plain TOML."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    rows = []
    for path in sorted(folder.glob("*.toml")):
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            rows.append({"name": path.stem, "file": str(path), "error": str(exc)})
            continue
        row = _pipeline_row(path.stem, data, str(path))
        error = validation_error(path)
        if error:
            row["error"] = error
        rows.append(row)
    return rows


def pipeline_settings(name_or_path: str, folder: str | Path = defaults.PIPELINES_DIR) -> tuple[dict[str, Any], dict[str, Any]]:
    """(stage settings, workload recipe) of one pipeline file, by name or path."""
    from bench.errors import UserError

    path = Path(name_or_path)
    if not path.suffix:
        path = Path(folder) / f"{name_or_path}.toml"
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise UserError(f"file {path}: no such pipeline") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"file {path}: {exc}") from None
    error = validation_error(path)
    if error:
        raise UserError(error)
    row = _pipeline_row(path.stem, data, str(path))
    return dict(row["stages"]), dict(row["workload"])
