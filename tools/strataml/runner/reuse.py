"""Find an earlier run of the same computation (TFC-0002 R11)."""

from __future__ import annotations

import json
from pathlib import Path

from strataml.doctor.engine import run_doctor
from strataml.refs import is_run_id
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES, parse_yaml

_RUNS = "runs"


def find_reusable(root: Path, experiment: str, fingerprint: str) -> str | None:
    """The latest succeeded, sealed and verifying run with this fingerprint, by id."""
    candidates = []
    runs = root / _RUNS
    for run_dir in sorted(runs.iterdir()) if runs.is_dir() else ():
        if not is_run_id(run_dir.name) or run_dir.is_symlink() or not run_dir.is_dir():
            continue
        config = _config(run_dir)
        if config is None or config.get("fingerprint") != fingerprint:
            continue
        recorded = config.get("experiment")
        if not isinstance(recorded, dict) or recorded.get("name") != experiment:
            continue
        if _status(run_dir) != "succeeded" or not (run_dir / "CHECKSUMS.txt").is_file():
            continue
        candidates.append((str(config.get("created", "")), run_dir.name, run_dir))
    for _, run_id, run_dir in sorted(candidates, reverse=True):
        if not run_doctor(run_dir, select=("CHK",)).failed:  # fail closed: reuse only what verifies
            return run_id
    return None


def _config(run_dir: Path) -> dict[str, object] | None:
    try:
        document = parse_yaml(read_regular(run_dir / "config.yaml", MAX_BYTES + 1))
    except OSError:
        return None
    return document.data if isinstance(document.data, dict) else None


def _status(run_dir: Path) -> object:
    try:
        data = json.loads(read_regular(run_dir / "system.json", MAX_BYTES + 1))
    except (OSError, ValueError):
        return None
    return data.get("status") if isinstance(data, dict) else None
