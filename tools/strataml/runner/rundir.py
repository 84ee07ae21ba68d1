"""Run directories: collision-free ids, the atomic claim, and the record files (TFC-0002 R1-R2, TFC-0003)."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

from strataml.atomic import fsync_path, write_text_atomic
from strataml.errors import StrataError
from strataml.integrity.tree import scan_tree
from strataml.metrichistory import MetricsWriter
from strataml.yamltext import dump_yaml

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


def write_metrics(path: Path, document: dict[str, Any]) -> dict[str, Any]:
    """metrics.json from a whole v1 document (an importer's), through the runner's writer: a long
    history goes to metrics.csv (TFC-0003 R15). Returns what metrics.json holds."""
    with MetricsWriter(path.parent, final_from_history=False) as writer:
        for name, points in document["history"].items():
            for p in points:
                writer.add(
                    name, p["step"], p["value"], time=p.get("time"), timestamp=p.get("timestamp")
                )
        writer.final.update(document["final"])
        return writer.write(path)


# Disk space set aside when a run starts, freed just before its record is sealed, so that a
# full disk still gets the run recorded `failed` (TFC-0002 R15): it holds system.json (a few
# tens of KiB with the package list), metrics.json, the runner's last log lines and a
# CHECKSUMS.txt of about 2,000 files.
RESERVE_BYTES = 256 << 10
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def no_space(error: OSError) -> bool:
    return error.errno in NO_SPACE


def reserve_space(directory: Path) -> Path:
    """A file of RESERVE_BYTES in `directory` (blocks allocated, not a sparse file)."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=".reserve-")
    try:
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
            os.write(fd, bytes(RESERVE_BYTES))  # a file system without fallocate
            os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        Path(name).unlink()
        if no_space(exc):
            raise StrataError(
                f"no space left on device: a run needs {RESERVE_BYTES} bytes free in {directory} "
                "to be sure it can be sealed (TFC-0002 R15); nothing was run"
            ) from exc
        raise
    os.close(fd)
    return Path(name)


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
    remove_empty_directories(run_dir / ARTIFACTS)
    return notes


def remove_empty_directories(top: Path) -> None:
    """Remove every empty directory under `top`, and `top` itself if it ends up empty: Git
    stores no empty directory, so a record must not depend on one (TFC-0003 R1, R6)."""
    if top.is_symlink() or not top.is_dir():
        return
    for directory, _, _ in os.walk(top, topdown=False):  # deepest first: parents empty out
        if not any(Path(directory).iterdir()):
            Path(directory).rmdir()
