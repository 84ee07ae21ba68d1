"""Seal a run whose runner a scheduler killed outright (TFC-0002 R24): the scheduler, not the
runner, knows how it ended, so the submitting command records it `failed` with that reason."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path

from strataml.integrity.stamp import stamp_directory
from strataml.liveness import parse_moment
from strataml.runner import rundir
from strataml.runner.outcome import clip, write_metrics


def seal_abandoned(root: Path, run_id: str, reason: str) -> bool:
    """Seal the run `failed` with `reason` if it is still `running`, under a lock on its
    directory, so that two sealers (a Slurm collector job and a waiting command) never both
    write it: True when this call sealed it, False when it was sealed already."""
    run_dir = root / rundir.RUNS / run_id
    fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when fd closes, as a kill does
        system = json.loads((run_dir / rundir.SYSTEM).read_text(encoding="utf-8"))
        if system.get("status") != "running":
            return False
        _seal(root, run_dir, run_id, system, reason)
        return True
    finally:
        os.close(fd)


def _seal(root: Path, run_dir: Path, run_id: str, system: dict[str, object], reason: str) -> None:
    scratch = root / ".strata" / "runs" / run_id
    metrics = scratch / "metrics.jsonl"
    if not metrics.is_file():
        scratch.mkdir(parents=True, exist_ok=True)
        metrics.touch()
    write_metrics(run_dir, metrics, [])  # what the command reported before it was killed
    ended = dt.datetime.now(dt.UTC)
    started = parse_moment(system.get("started"))
    took = max(0.0, (ended - started).total_seconds()) if started is not None else 0.0
    system.update(
        status="failed", exit_code=None, ended=rundir.timestamp(ended),
        duration_s=round(took, 3), reason=clip(reason),
    )  # fmt: skip
    rundir.remove_unrecordable(run_dir)
    rundir.append_log(run_dir / rundir.LOGS, f"{run_id} failed: {reason}")
    rundir.write_json(run_dir / rundir.SYSTEM, system)
    stamp_directory(run_dir)
    reserve = scratch / "reserve"
    reserve.unlink(missing_ok=True)
