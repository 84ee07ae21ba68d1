"""Find an earlier run of the same computation (TFC-0002 R11)."""

from __future__ import annotations

from pathlib import Path

from strataml.doctor.intact import intact
from strataml.registry.runs import load_runs


def find_reusable(root: Path, experiment: str, fingerprint: str) -> str | None:
    """The latest succeeded, sealed and verifying run with this fingerprint."""
    candidates = [
        record
        for record in load_runs(root, experiment=experiment, status="succeeded")
        if record.config.get("fingerprint") == fingerprint and record.sealed
    ]
    for record in reversed(candidates):  # newest first
        if intact(root, record.path, select=("CHK",)):  # fail closed
            return record.run_id
    return None
