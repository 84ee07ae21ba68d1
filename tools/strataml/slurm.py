"""The only module that runs Slurm's commands: sbatch, squeue, scancel (TFC-0002 R22-R25).

Every call is one process whatever the number of array tasks: a sweep's whole state is one
`squeue --array` (the scheduler keeps finished jobs for MinJobAge, 300 s by default).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from strataml.errors import StrataError

# Job states that end a task (squeue --states=all shows them until MinJobAge passes).
ENDED = frozenset(
    {
        "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
        "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT",
    }
)  # fmt: skip
_FORMAT = "%i|%T|%r"  # 12_3|RUNNING|None, 12_[4-19]|PENDING|Resources


class SchedulerError(StrataError):
    """Slurm is missing or refused: nothing was submitted, or nothing could be read."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        self.code = code
        self.hint = hint
        super().__init__(f"[{code}] {message} (hint: {hint})")


@dataclass(frozen=True, slots=True)
class Task:
    """One array task, or a pending range of them, as squeue shows it."""

    job_id: str  # the array's job id, or the job's
    tasks: tuple[int, ...]  # the array task ids this row stands for; () for a job, not an array
    state: str  # PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, …
    reason: str  # why pending, or why it ended; "None" when Slurm gives none

    @property
    def ended(self) -> bool:
        return self.state in ENDED


def _slurm(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, env=dict(env or os.environ), check=False
        )
    except FileNotFoundError as exc:
        raise SchedulerError(
            "slurm-missing",
            f"{argv[0]} not found: Slurm's client commands are not installed here",
            "run on a machine of the cluster (a login node), or install slurm-client",
        ) from exc
    if done.returncode != 0:
        said = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        raise SchedulerError(
            "slurm-refused" if argv[0] == "sbatch" else "slurm-unreachable",
            f"{argv[0]} refused: {said}",
            "check --partition and --account against `sinfo` and `sacctmgr show assoc`"
            if argv[0] == "sbatch"
            else "is slurmctld reachable? try `sinfo`",
        )
    return done.stdout


def submit(script: str, *, env: Mapping[str, str] | None = None) -> str:
    """sbatch a script (its #SBATCH lines say everything); the job id."""
    out = _slurm(["sbatch", "--parsable", script], env=env)
    job_id = out.strip().split(";")[0]  # --parsable: "id" or "id;cluster"
    if not job_id.isdigit():
        raise SchedulerError(
            "slurm-refused", f"sbatch gave no job id: {out.strip()!r}", "see sbatch"
        )
    return job_id


def tasks(job_ids: Sequence[str]) -> list[Task]:
    """Every task of these jobs that Slurm still knows, from one squeue call."""
    if not job_ids:
        return []
    try:
        out = _slurm(
            ["squeue", "--noheader", "--array", "--states=all", f"--format={_FORMAT}",
             f"--jobs={','.join(job_ids)}"]
        )  # fmt: skip
    except SchedulerError as exc:
        if "Invalid job id" in str(exc):
            return []  # all of them purged: Slurm has forgotten the jobs
        raise
    return [task for line in out.splitlines() if (task := _row(line)) is not None]


def cancel(job_ids: Sequence[str]) -> None:
    """scancel these jobs (one call); their pending dependants go with them."""
    if job_ids:
        _slurm(["scancel", *job_ids])


def release(job_ids: Sequence[str]) -> None:
    """scontrol release these held jobs (one call): from now on they may start."""
    if job_ids:
        _slurm(["scontrol", "release", ",".join(job_ids)])


def _row(line: str) -> Task | None:
    fields = line.strip().split("|")
    if len(fields) != 3:
        return None
    job_id, _, index = fields[0].partition("_")
    return Task(job_id, _indices(index) if index else (), fields[1], fields[2])


def _indices(text: str) -> tuple[int, ...]:
    """'3' -> (3,); '[4-6,9]' -> (4, 5, 6, 9); a %-throttle suffix is dropped."""
    body = text.strip("[]").split("%")[0]
    found: list[int] = []
    for part in body.split(","):
        low, _, high = part.partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            found.extend(range(int(low), int(high or low) + 1))
    return tuple(found)
