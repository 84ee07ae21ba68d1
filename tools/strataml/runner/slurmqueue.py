"""What `strata runs list` says of the submissions made from this checkout (TFC-0002 R24):
those not yet collected as the scheduler sees them now, those collected as their collector
saw them end."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import slurm
from strataml.runner.slurmpaths import BATCHES, COLLECTED, JOB

ENDED_SHOWN_S = 24 * 3600  # how long `strata runs list` shows a collected submission


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """A sweep submitted from this checkout, as the scheduler sees it now (R24)."""

    job_id: str
    experiment: str
    points: int
    tasks: tuple[slurm.Task, ...]

    def text(self) -> str:
        counts: dict[str, int] = {}
        for task in self.tasks:
            counts[task.state] = counts.get(task.state, 0) + len(task.tasks)
        said = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        live = [t for t in self.tasks if not t.ended]
        head = f"slurm job {self.job_id} ({self.experiment}, {self.points} points)"
        if not live:
            return f"{head}: ended: {said}\n"
        rows = [f"{head}: {said}"]
        for task in live:
            shown = f"{self.job_id}_{_span(task.tasks)}" if task.tasks else self.job_id
            rows.append(f"  {shown:<{len(self.job_id) + 11}}  {task.state:<11}  {task.reason}")
        return "\n".join(rows) + "\n"


def _span(indices: tuple[int, ...]) -> str:  # 3, or [4-19] for a pending range
    return f"[{indices[0]}-{indices[-1]}]" if len(indices) > 1 else str(indices[0])


def queued(root: Path, *, now: float | None = None) -> list[QueuedJob]:
    """Sweeps and pipelines submitted from this checkout, oldest first: those not yet collected
    as the scheduler sees them now (one squeue for all), and those collected in the last
    ENDED_SHOWN_S as their collector saw them end (R24), asking the scheduler nothing."""
    now = time.time() if now is None else now
    found: list[tuple[dict[str, Any], tuple[slurm.Task, ...] | None]] = []
    for job_file in sorted((root / BATCHES).glob(f"*/{JOB}"), key=lambda p: p.stat().st_mtime):
        ended = _ended(job_file.parent / COLLECTED, now)
        for job in json.loads(job_file.read_text(encoding="utf-8"))["jobs"]:
            if ended is None:
                found.append((job, None))
            elif ended.get(job["job_id"]):  # the collector saw its tasks end
                found.append((job, ended[job["job_id"]]))
    by_job: dict[str, list[slurm.Task]] = {}
    for task in slurm.tasks([job["job_id"] for job, seen in found if seen is None]):
        by_job.setdefault(task.job_id, []).append(task)
    return [
        QueuedJob(
            job["job_id"],
            job["experiment"],
            job["points"],
            seen if seen is not None else tuple(by_job[job["job_id"]]),
        )
        for job, seen in found
        if seen is not None or job["job_id"] in by_job
    ]


def _ended(collected: Path, now: float) -> dict[str, tuple[slurm.Task, ...]] | None:
    """The tasks the collector saw end, by job; {} once that is ENDED_SHOWN_S old; None before
    the collector has written (or a collected.json of another form: ask the scheduler)."""
    try:
        document = json.loads(collected.read_text(encoding="utf-8"))
        if now - collected.stat().st_mtime > ENDED_SHOWN_S:
            return {}
        return {
            job: tuple(
                slurm.Task(job, tuple(indices), state, reason) for indices, state, reason in rows
            )
            for job, rows in document["tasks"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def ended_tasks(job_ids: list[str]) -> dict[str, list[list[object]]]:
    """What the collector writes to collected.json of how each job's tasks ended."""
    rows: dict[str, list[list[object]]] = {job: [] for job in job_ids}
    for task in slurm.tasks(job_ids):
        rows.setdefault(task.job_id, []).append([list(task.tasks), task.state, task.reason])
    return rows
