"""Find an earlier run of the same computation (TFC-0002 R11)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from strataml.doctor.intact import intact
from strataml.registry.runrecord import RunRecord
from strataml.registry.runs import load_runs


def find_reusable(
    root: Path, experiment: str, fingerprint: str, succeeded: Sequence[RunRecord] | None = None
) -> str | None:
    """The latest succeeded, sealed and verifying run with this fingerprint; among `succeeded`
    (load_runs' succeeded runs, oldest first, read once for many stages) where given."""
    listed = load_runs(root, status="succeeded") if succeeded is None else succeeded
    candidates = [
        record
        for record in listed
        if record.experiment == experiment
        and record.config.get("fingerprint") == fingerprint
        and record.sealed
    ]
    for record in reversed(candidates):  # newest first
        if intact(root, record.path, select=("CHK",)):  # fail closed
            return record.run_id
    return None
