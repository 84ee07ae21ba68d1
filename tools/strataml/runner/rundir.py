"""Run directories: collision-free ids, the atomic claim, and the record files (TFC-0002 R1-R2, TFC-0003)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
from pathlib import Path
from typing import Any

from strataml.atomic import fsync_path, write_text_atomic
from strataml.errors import StrataError
from strataml.integrity.tree import scan_tree
from strataml.yamlio import dump_yaml

RUNS = "runs"
CONFIG, SYSTEM, METRICS, LOGS, ARTIFACTS = (
    "config.yaml",
    "system.json",
    "metrics.json",
    "logs.txt",
    "artifacts",
)
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
SUFFIX_LENGTH = 6  # 32**6 ≈ 1.07e9 ids per day
_CLAIM_ATTEMPTS = 16


def new_run_id(today: dt.date) -> str:
    suffix = "".join(secrets.choice(_BASE32) for _ in range(SUFFIX_LENGTH))
    return f"run-{today.isoformat()}-{suffix}"


def claim_run_directory(root: Path, now: dt.datetime) -> tuple[str, Path]:
    """Create runs/<new id>/ with one mkdir that fails if it exists; never rename into place."""
    runs = root / RUNS
    if runs.is_symlink() or not runs.is_dir():
        raise StrataError(f"{runs}: no runs/ directory (TFC-0001 R2); create it with a .gitkeep")
    for _ in range(_CLAIM_ATTEMPTS):
        run_id = new_run_id(now.astimezone(dt.UTC).date())
        try:
            (runs / run_id).mkdir()
        except FileExistsError:
            continue
        return run_id, runs / run_id
    raise StrataError(f"could not claim a run directory in {runs} after {_CLAIM_ATTEMPTS} attempts")


def timestamp(moment: dt.datetime) -> str:
    return moment.astimezone().isoformat(timespec="milliseconds")


def write_json(path: Path, document: dict[str, Any]) -> None:
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    write_text_atomic(path, text + "\n")


def write_metrics(path: Path, document: dict[str, Any]) -> None:
    """metrics.json with one history point per line: readable and diffable at thousands of steps."""

    def dumps(value: object) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)

    final = json.dumps(
        document["final"], indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False
    )
    series = [
        f"    {dumps(name)}: [\n" + ",\n".join(f"      {dumps(p)}" for p in points) + "\n    ]"
        for name, points in sorted(document["history"].items())
    ]
    history = "{\n" + ",\n".join(series) + "\n  }" if series else "{}"
    text = (
        "{\n"
        f'  "final": {final.replace(chr(10), chr(10) + "  ")},\n'
        f'  "history": {history},\n'
        f'  "schema_version": {dumps(document["schema_version"])}\n'
        "}\n"
    )
    assert json.loads(text) == document  # the layout is cosmetic; the content is exact
    write_text_atomic(path, text)


def write_config(run_dir: Path, document: dict[str, Any]) -> None:
    write_text_atomic(
        run_dir / CONFIG, dump_yaml(document, modeline="../../schemas/run-config.schema.json")
    )


def append_log(log_path: Path, line: str) -> None:
    with log_path.open("ab") as handle:
        handle.write(f"[strata] {line}\n".encode())


def sync(path: Path) -> None:
    fsync_path(path)


def remove_unrecordable(run_dir: Path) -> list[str]:
    """Delete what the command left that no CHECKSUMS.txt can hold; log notes (TFC-0003 R6).

    A symlink is removed, never followed, so whatever it points at stays untouched.
    """
    scan = scan_tree(run_dir)
    notes = []
    for rel in (*scan.symlinks, *scan.special, *scan.unportable):
        path = run_dir / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        shown = rel.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        notes.append(
            f"{shown!r}: removed before sealing: runs hold regular files with portable names only"
        )
    return notes
