"""Sweeps and pipelines on Ray (TFC-0002 R26-R28), the driver's side: each point or stage one Ray
task with the spec's resources, given the files it needs through the object store (no shared
file system); its sealed run comes back, is verified and placed; a task that dies, is cancelled
or outlives resources.time is recorded `failed` with Ray's words, never left `running`."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from strataml import raycluster
from strataml.atomic import place_directory
from strataml.integrity.hashing import hash_bytes
from strataml.liveness import parse_moment
from strataml.registry.pipelines import Pipeline
from strataml.runner import rundir
from strataml.runner.execute import Interrupts
from strataml.runner.experiment import Experiment
from strataml.runner.pipeline import StageResult, run_pipeline, stage_experiment
from strataml.runner.rayship import (
    RefusedError,
    code_paths,
    input_paths,
    pack,
    place_returned,
    staging_directory,
    sweep_staging,
)
from strataml.runner.raytask import placement, run_shipped
from strataml.runner.record import Notify, PlannedRun, RunResult, begin_run
from strataml.runner.seal import seal_abandoned
from strataml.runner.session import run_all
from strataml.runner.slurmsweep import exit_of

POLL_S = 0.2
MAX_AT_ONCE = 256  # driver threads, one per task in flight; Ray queues the rest by resources


@dataclass
class RayExecutor:
    """Runs one planned run as a Ray task and places its sealed run under runs/ (R26, R27)."""

    root: Path
    interrupts: Interrupts
    notify: Notify
    # Object refs and digests of what was packed: the code once, each set of inputs once.
    _packed: dict[tuple[str, ...] | None, tuple[Any, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def shipped(self, paths: tuple[str, ...] | None) -> tuple[Any, str]:
        """`paths` packed into the object store, once; None: the code."""
        with self._lock:
            if paths not in self._packed:
                packed = pack(self.root, code_paths(self.root) if paths is None else list(paths))
                self._packed[paths] = (raycluster.put(packed), hash_bytes(packed))
            return self._packed[paths]

    def __call__(self, planned: PlannedRun) -> RunResult | None:
        if self.interrupts.received:
            return None  # Ctrl-C stops the sweep: nothing new starts
        code, code_digest = self.shipped(None)
        files, files_digest = self.shipped(tuple(input_paths(planned)))
        wants = planned.experiment.resources
        task = raycluster.start(
            run_shipped, code, files, (code_digest, files_digest), planned,
            cpus=wants.cpus, gpus=wants.gpus, memory=raycluster.memory_bytes(wants.memory),
        )  # fmt: skip
        report: dict[str, Any] | None = None
        deadline: float | None = None
        stopped: str | None = None  # why the driver cancelled the task
        while True:
            if stopped is None and self.interrupts.received:
                stopped = "cancelled: the driver was interrupted"
                raycluster.cancel(task)
            elif stopped is None and deadline is not None and time.monotonic() > deadline:
                stopped = f"cancelled: over its resources.time of {wants.time_s} s"
                raycluster.cancel(task)
            try:
                got, item = raycluster.next_item(task, POLL_S)
            except raycluster.TaskLostError as exc:
                if report is None:
                    self.notify(f"ray task not run: {exc}")
                    return None
                why = f"ray task {report['task_id']} {stopped or 'failed'}: {exc}"
                lost = self.lost(planned, report, why)
                if self.interrupts.received:  # exits as an interrupted local run does (R8)
                    return replace(lost, exit_code=128 + self.interrupts.received)
                return lost
            if not got:
                continue
            if report is None:
                if not _is_report(item):  # not what run_shipped yields: nothing is trusted
                    raycluster.cancel(task)
                    self.notify("ray task not run: its first message is not a task's report")
                    return None
                report = item
                if wants.time_s is not None:
                    deadline = time.monotonic() + wants.time_s
                continue
            archive = item.get("archive") if isinstance(item, dict) else None
            return self.place(planned, report, archive if isinstance(archive, bytes) else b"")

    def place(self, planned: PlannedRun, report: dict[str, Any], archive: bytes) -> RunResult:
        try:
            run_id = place_returned(
                self.root, archive, task_id=report["task_id"], fingerprint=planned.fingerprint
            )
        except RefusedError as exc:
            self.notify(str(exc))
            why = f"ray task {report['task_id']} returned a run the driver refused: {exc}"
            return self.lost(planned, report, why)
        return _result(self.root, run_id)

    def lost(self, planned: PlannedRun, report: dict[str, Any], reason: str) -> RunResult:
        """A run for a task that ended without one (R27): claimed and sealed `failed` beside
        runs/, then placed whole, with where the task ran as the task reported it."""
        staging = staging_directory(self.root, "lost")
        try:
            (staging / rundir.RUNS).mkdir()
            where = raycluster.Where(report["job_id"], report["task_id"], report["node_id"])
            run = begin_run(staging, replace(planned, placement=placement(where)))
            system = json.loads((run.run_dir / rundir.SYSTEM).read_text(encoding="utf-8"))
            system.update(host=report["host"], pid=report["pid"], started=report["started"])
            rundir.write_json(run.run_dir / rundir.SYSTEM, system)
            seal_abandoned(staging, run.run_id, reason)
            place_directory(run.run_dir, self.root / rundir.RUNS / run.run_id)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.notify(f"{run.run_id} failed: {reason}")
        return _result(self.root, run.run_id)


def _result(root: Path, run_id: str) -> RunResult:
    run_dir = root / rundir.RUNS / run_id
    system = json.loads((run_dir / rundir.SYSTEM).read_text(encoding="utf-8"))
    return RunResult(run_id, run_dir, system["status"], exit_of(system), system["duration_s"])


def run_sweep(
    root: Path, planned: list[PlannedRun], *, address: str | None, jobs: int | None,
    interrupts: Interrupts, notify: Notify,
) -> list[RunResult]:  # fmt: skip
    """Every point a Ray task, at most `jobs` in flight (all of them without --jobs) (R26)."""
    raycluster.connect(address)
    sweep_staging(root)
    _refuse_unplaceable([point.experiment for point in planned[:1]])
    executor = RayExecutor(root, interrupts, notify)
    return run_all(
        root, planned, jobs=jobs or min(len(planned), MAX_AT_ONCE), interrupts=interrupts,
        echo=None, notify=notify, elsewhere=executor,
    )  # fmt: skip


def run_pipeline_on_ray(
    root: Path, pipeline: Pipeline, *, address: str | None, jobs: int, force: tuple[str, ...],
    interrupts: Interrupts, notify: Notify,
) -> list[StageResult]:  # fmt: skip
    """Stages in dependency order, each not reused a Ray task, reused exactly as locally (R28)."""
    raycluster.connect(address)
    sweep_staging(root)
    _refuse_unplaceable([stage_experiment(pipeline, s) for s in pipeline.stages.values()])
    return run_pipeline(
        root, pipeline, jobs=jobs, force=force, interrupts=interrupts, echo=None, notify=notify,
        elsewhere=RayExecutor(root, interrupts, notify),
    )  # fmt: skip


def _refuse_unplaceable(experiments: list[Experiment]) -> None:
    for experiment in experiments:
        wants = experiment.resources
        raycluster.refuse_unplaceable(
            experiment.name,
            cpus=wants.cpus, gpus=wants.gpus, memory=raycluster.memory_bytes(wants.memory),
        )  # fmt: skip


_HEX = re.compile(r"[0-9a-f]{1,128}")


def _is_report(item: object) -> bool:
    """Where the task says it runs, in the shape system.json records (R26)."""
    if not isinstance(item, dict):
        return False
    ids = [item.get(key) for key in ("task_id", "node_id", "job_id")]
    return (
        all(isinstance(i, str) and _HEX.fullmatch(i) for i in ids)
        and isinstance(item.get("pid"), int) and item["pid"] > 0
        and isinstance(item.get("host"), dict)
        and parse_moment(item.get("started")) is not None
    )  # fmt: skip
