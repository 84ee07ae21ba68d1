"""Run records (TFC-0003 R13): list their ids, load them all, resolve one from what a user
typed. Read-only; one record is read by registry/runrecord.py, the views that list, show,
compare and rank them are in registry/runviews.py."""

from __future__ import annotations

import os
from pathlib import Path

from strataml.errors import StrataError
from strataml.refs import is_run_id
from strataml.registry.runcache import load_all
from strataml.registry.runrecord import RUNS, RunRecord, load_run


class RunLookupError(StrataError):
    """No run, or more than one, matches what the user typed."""


def run_ids(root: Path) -> list[str]:
    try:
        with os.scandir(root / RUNS) as listing:  # a directory entry's type, not a stat each
            return sorted(
                e.name for e in listing if is_run_id(e.name) and e.is_dir(follow_symlinks=False)
            )
    except (NotADirectoryError, FileNotFoundError):
        return []


def load_runs(
    root: Path, *, experiment: str | None = None, status: str | None = None, whole: bool = False
) -> list[RunRecord]:
    """Every run, oldest first (by claim time, then id), filtered. Without `whole`, each record
    leaves out what only one run's page or the catalogue shows (RunRecord.whole)."""
    records = load_all(root, run_ids(root), whole=whole)
    return sorted(
        (
            r
            for r in records
            if (experiment is None or r.experiment == experiment)
            and (status is None or r.state == status)
        ),
        key=lambda r: (r.created, r.run_id),
    )


def resolve_run(root: Path, text: str) -> RunRecord:
    """A run by id, by `runs/<id>` path, by a unique part of its id, or `latest`."""
    ids = run_ids(root)
    wanted = text.strip().rstrip("/").removeprefix("./").removeprefix(f"{RUNS}/")
    if wanted == "latest":
        records = load_runs(root)
        if not records:
            raise RunLookupError(f"no runs yet under {RUNS}/")
        return load_run(root, records[-1].run_id)
    if wanted in ids:
        return load_run(root, wanted)
    matches = [run_id for run_id in ids if wanted and wanted in run_id]
    if len(matches) == 1:
        return load_run(root, matches[0])
    if not matches:
        raise RunLookupError(f"no run matches {text!r} (see `strata runs list`)")
    shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
    raise RunLookupError(f"{text!r} matches {len(matches)} runs: {shown}")
