"""A run's record: what is planned (config.yaml), the claim with the first record, and the
final record with the seal (TFC-0002 R2, R7, R9, R15; TFC-0003 R2, R4, R7), shared by
tools/run.py and runs started from Python."""

from __future__ import annotations

import copy
import datetime as dt
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import tool_version
from strataml.confine import confined
from strataml.credentials import dotted, iter_secrets
from strataml.errors import StrataError
from strataml.integrity.checksums import CHECKSUMS, format_checksums
from strataml.integrity.digest import Digest
from strataml.integrity.stamp import stamp_directory
from strataml.refs import is_run_id
from strataml.runlog import LOG_CAP, cap_log
from strataml.runner import rundir
from strataml.runner.environment import host_facts, installed_packages, python_facts
from strataml.runner.execute import Outcome
from strataml.runner.experiment import Experiment, SpecError
from strataml.runner.fingerprint import CodeState, fingerprint
from strataml.runner.inputs import ResolvedInput
from strataml.runner.outcome import disk_full, disk_reason, judge, write_metrics
from strataml.runner.stagelink import StageLink

Notify = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a run started from Python runs: its code identity (TFC-0003 R17)."""

    kind: str  # script or notebook
    path: str  # repository-relative
    content_hash: str  # blake3 of the file's bytes when the run started

    def document(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "content_hash": self.content_hash}


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a scheduler ran the run (TFC-0002 R24): system.json's `executor`."""

    name: str  # slurm or ray
    job_id: str
    array_task_id: int | None
    cluster: str | None
    task_id: str | None = None  # Ray's task (TFC-0002 R26)
    node_id: str | None = None  # Ray's node

    def document(self) -> dict[str, str | int]:
        found: dict[str, str | int | None] = {
            "name": self.name, "job_id": self.job_id,
            "array_task_id": self.array_task_id, "cluster": self.cluster,
            "task_id": self.task_id, "node_id": self.node_id,
        }  # fmt: skip
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True, slots=True)
class PlannedRun:
    experiment: Experiment
    params: dict[str, Any]
    inputs: dict[str, ResolvedInput]
    code: CodeState
    fingerprint: str
    name: str | None
    tags: tuple[str, ...]
    reproduces: str | None = None  # the run this one re-executes (TFC-0002 R12)
    origin: Origin | None = None  # the script or notebook a run started from Python runs in
    stage: StageLink | None = None  # a pipeline stage's links to its upstream runs
    placement: Placement | None = None  # a scheduler's job; None: this machine's runner alone

    def config(self, run_id: str, created: str) -> dict[str, Any]:
        """config.yaml (TFC-0003 R2); `run_id` and `created` are the only per-run fields."""
        spec = copy.deepcopy(self.experiment.spec)
        spec.pop("sweep", None)
        spec["shell"] = bool(spec.get("shell", False))
        if self.params or "params" in spec:
            spec["params"] = copy.deepcopy(self.params)
        if self.inputs:
            spec["inputs"] = {n: str(i.ref) for n, i in self.inputs.items()}
        document: dict[str, Any] = {
            "schema_version": 1,
            "run_id": run_id,
            "experiment": {
                "name": self.experiment.name,
                "path": self.experiment.path,
                "spec": spec,
            },
            "params": copy.deepcopy(self.params),
            "inputs": {n: i.record() for n, i in self.inputs.items()},
            "code": {
                "commit": self.code.commit,
                "dirty": self.code.dirty,
                "diff_hash": self.code.diff_hash,
                "tree_hash": self.code.tree_hash,
            },
            "fingerprint": self.fingerprint,
            "created": created,
            "tags": list(self.tags),
        }
        if self.name:
            document["name"] = self.name
        if self.reproduces:
            document["reproduces"] = self.reproduces
        if self.origin is not None:
            document["started_from"] = self.origin.document()
        if self.stage is not None:
            document["pipeline"] = self.stage.document()
        return document


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: str
    path: Path
    status: str  # succeeded, failed, interrupted; or "reused"
    exit_code: int  # what the runner exits with
    duration_s: float | None


def refuse_secrets(planned: PlannedRun) -> None:
    """A record is never rewritten, so a secret in it is there for good (TFC-0003 R9)."""
    for where, kind in iter_secrets(planned.config("", "")):
        raise SpecError(
            f"{planned.experiment.path}: {dotted(where)} holds {kind}, which config.yaml would "
            "record; pass secrets to the command through environment variables (TFC-0003 R9)"
        )


def planned_run(
    experiment: Experiment, params: dict[str, Any], inputs: dict[str, ResolvedInput],
    code: CodeState, name: str | None, tags: tuple[str, ...], reproduces: str | None = None,
    origin: Origin | None = None, stage: StageLink | None = None,
) -> PlannedRun:  # fmt: skip
    # A stage's code is the files it runs, not the whole tree (TFC-0002 R20): editing one
    # stage's script leaves the others' results standing.
    hashes = {n: i.content_hash for n, i in inputs.items()}
    if stage is not None:
        hashes.update(stage.input_hashes())
    return PlannedRun(
        experiment, params, inputs, code,
        fingerprint(
            experiment=experiment.name, command=experiment.command,
            shell=bool(experiment.spec.get("shell", False)), params=params,
            inputs=hashes, outputs=experiment.outputs,
            tree_hash=code.tree_hash if stage is None else _code_hash(stage.code),
        ),
        name, tags, reproduces, origin, stage,
    )  # fmt: skip


def _code_hash(code: dict[str, str]) -> str:
    """A stage's code files and their digests, every path counted (content_hash would drop
    metadata.yaml, card.md and the like, names a code file may have)."""
    return str(Digest.of(format_checksums(code).encode("utf-8")))


@dataclass(frozen=True, slots=True)
class OpenRun:
    """A claimed run whose record says `running`: what finish_run needs to seal it."""

    run_id: str
    run_dir: Path
    created: str
    scratch: Path
    metrics_file: Path  # the command's metrics lines (TFC-0002 R6)
    reserve: Path  # the space set aside for sealing (TFC-0002 R15)
    system: dict[str, Any]
    clock: float

    @property
    def log_path(self) -> Path:
        return self.run_dir / rundir.LOGS


def begin_run(root: Path, planned: PlannedRun, *, notify: Notify = lambda _: None) -> OpenRun:
    """Claim a run directory and write its first record (TFC-0002 R2, TFC-0003 R4), or raise
    having left nothing behind."""
    scratches = confined(root, root / ".strata" / "runs")  # before the claim: nothing to undo
    _sweep_scratch(root, scratches)
    scratches.mkdir(parents=True, exist_ok=True)
    reserve = rundir.reserve_space(scratches)  # before the claim: a full disk creates nothing
    claimed_at = dt.datetime.now(dt.UTC)
    try:
        run_id, run_dir = rundir.claim_run_directory(root, claimed_at)
    except BaseException:
        reserve.unlink()
        raise
    scratch = scratches / run_id
    metrics_file = scratch / "metrics.jsonl"
    log_path = run_dir / rundir.LOGS
    created = rundir.timestamp(claimed_at)
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        reserve = reserve.rename(scratch / "reserve")
        metrics_file.touch()
        (run_dir / rundir.ARTIFACTS).mkdir()
        rundir.write_config(run_dir, planned.config(run_id, created))
        started = dt.datetime.now(dt.UTC)
        system = _system_record(planned, started)
        # The log first: a run whose system.json says running always has its whole record
        # (a kill between the two leaves RUN006 alone, never RUN001 beside it).
        rundir.append_log(log_path, f"{run_id} started at {system['started']}")
        rundir.write_json(run_dir / rundir.SYSTEM, system)
    except OSError as exc:
        if not rundir.no_space(exc):
            raise
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
        reserve.unlink(missing_ok=True)
        raise StrataError(
            f"no space left on device while starting a run in {rundir.RUNS}/: nothing was run "
            "and nothing is left (TFC-0002 R15)"
        ) from exc
    notify(f"{run_id} started: {rundir.RUNS}/{run_id}/")
    return OpenRun(
        run_id, run_dir, created, scratch, metrics_file, reserve, system, time.monotonic()
    )


def finish_run(
    run: OpenRun, planned: PlannedRun, outcome: Outcome, *, notify: Notify = lambda _: None,
    before_seal: Callable[[str, Path], None] | None = None, failure: str | None = None,
    ended_by: str | None = None,
) -> RunResult:  # fmt: skip
    """Judge how the work ended, write the final record and seal it (TFC-0002 R7, TFC-0003 R7);
    `failure` words why a failed run failed where the exit code cannot (a Python exception);
    `ended_by` is a scheduler's reason for the signal that stopped the run (TFC-0002 R24)."""
    run_id, run_dir, log_path = run.run_id, run.run_dir, run.log_path
    duration = round(time.monotonic() - run.clock, 3)
    disk_was_full = disk_full(run_dir)
    run.reserve.unlink()  # the space set aside is what sealing writes into (TFC-0002 R15)
    status, exit_code, notes, judged = judge(
        outcome, run_dir, timeout_s=planned.experiment.timeout_s, outputs=planned.experiment.outputs
    )
    failure = failure if failure is not None and status == "failed" else judged
    if ended_by is not None and status == "interrupted":  # the scheduler stopped it (R24)
        status, failure = "failed", ended_by
    notes += rundir.remove_unrecordable(run_dir)  # else the seal below could not be written
    unwritten = [rundir.LOGS] if outcome.log_full else []
    warnings = write_metrics(run_dir, run.metrics_file, unwritten)
    if unwritten and status == "succeeded":
        status, exit_code = "failed", 1
    ending = f"{run_id} {status} (exit code {outcome.exit_code}) after {duration:g} s"
    try:
        for line in (*warnings, *notes, ending):
            rundir.append_log(log_path, line)
        rundir.sync(log_path)
        full_log = cap_log(log_path, run_dir / rundir.ARTIFACTS)
    except OSError as exc:
        if not rundir.no_space(exc):
            raise
        unwritten.append(rundir.LOGS)
        full_log = None
    if full_log is not None:
        notify(f"{run_id}: logs.txt kept to {LOG_CAP} bytes; the whole log is {full_log}")
    reason = disk_reason(unwritten, disk_was_full, status)
    if reason is not None and status == "succeeded":
        status, exit_code = "failed", 1
    reason = reason if reason is not None or status != "failed" else failure
    system = run.system
    system.update(
        status=status,
        exit_code=outcome.exit_code,
        ended=rundir.timestamp(dt.datetime.now(dt.UTC)),
        duration_s=duration,
        peak_memory_bytes=outcome.peak_memory_bytes,
    )
    if reason is not None:
        system["reason"] = reason
        notify(f"{run_id} {status}: {reason}")
    try:
        rundir.write_json(run_dir / rundir.SYSTEM, system)
    except OSError as exc:
        if not rundir.no_space(exc):
            raise
        raise StrataError(
            f"no space left on device while writing {rundir.RUNS}/{run_id}/{rundir.SYSTEM}: "
            "the run stays `running` and doctor reports it abandoned (RUN006)"
        ) from exc
    try:
        if before_seal is not None:  # e.g. the reproduction verdict, sealed with the record
            before_seal(run_id, run_dir)
        stamp_directory(run_dir)  # CHECKSUMS.txt last: its presence means the record is complete
    except OSError as exc:
        if not rundir.no_space(exc):
            raise
        raise StrataError(
            f"no space left on device while sealing {rundir.RUNS}/{run_id}/: it is recorded "
            f"{status} but has no CHECKSUMS.txt, which doctor reports (RUN005)"
        ) from exc
    shutil.rmtree(run.scratch, ignore_errors=True)  # a concurrent run's sweep may be there first
    return RunResult(run_id, run_dir, status, exit_code, duration)


def _sweep_scratch(root: Path, scratches: Path) -> None:
    """Remove the scratch of runs that are sealed or gone: a killed runner leaves its own behind.
    The scratch of an unsealed run stays (it may be running, and its metrics may be salvaged)."""
    try:
        entries = list(os.scandir(scratches))
    except OSError:
        return
    for entry in entries:
        if not is_run_id(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        run_dir = root / rundir.RUNS / entry.name
        if (run_dir / CHECKSUMS).is_file() or not os.path.lexists(run_dir):
            shutil.rmtree(entry.path, ignore_errors=True)


def _system_record(planned: PlannedRun, started: dt.datetime) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "status": "running",
        "exit_code": None,
        "pid": os.getpid(),  # the runner's: if it dies, the run is abandoned (TFC-0002 R9)
        "started": rundir.timestamp(started),
        "ended": None,
        "duration_s": None,
        "host": host_facts(),
        "python": python_facts(),
        "packages": installed_packages(),
        "git": {
            "commit": planned.code.commit,
            "branch": planned.code.branch,
            "dirty": planned.code.dirty,
        },
        "strataml_version": tool_version(),
        "peak_memory_bytes": None,
    } | ({"executor": planned.placement.document()} if planned.placement else {})
