"""Run a pipeline (TFC-0002 R20, R21): each stage an ordinary sealed run, in dependency order,
independent stages side by side, a stage whose fingerprint matches a sealed success reused."""

from __future__ import annotations

import graphlib
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from strataml.errors import StrataError, UsageError
from strataml.integrity.checksums import CHECKSUMS, parse_checksums
from strataml.integrity.digest import shown
from strataml.integrity.hashing import hash_files
from strataml.registry.pipelines import (
    FileInput,
    Pipeline,
    Stage,
    StageOutput,
    listed_output_hash,
)
from strataml.registry.runrecord import RunRecord
from strataml.registry.runs import load_runs
from strataml.runner import rundir
from strataml.runner.execute import Interrupts, Outcome
from strataml.runner.experiment import Experiment, experiment_from_spec
from strataml.runner.fingerprint import CodeState, code_state
from strataml.runner.inputs import ResolvedInput, resolve_inputs
from strataml.runner.record import Notify, Placement, PlannedRun, planned_run, refuse_secrets
from strataml.runner.session import Executor, execute_run, reuse
from strataml.runner.stagelink import PinnedFile, StageLink, Upstream
from strataml.suggest import did_you_mean

NOT_RUN = "not run"


@dataclass(frozen=True, slots=True)
class PreparedStage:
    """A stage with everything known before any stage runs: its spec and pinned own inputs."""

    stage: Stage
    experiment: Experiment
    inputs: dict[str, ResolvedInput]
    code: dict[str, str]  # code file -> blake3
    files: dict[str, PinnedFile]


@dataclass(frozen=True, slots=True)
class StageResult:
    stage: str
    status: str  # succeeded, failed, interrupted, reused, or NOT_RUN
    run_id: str | None
    exit_code: int
    why: str | None = None  # for NOT_RUN: which upstream stopped it


def stage_experiment(pipeline: Pipeline, stage: Stage) -> Experiment:
    """The experiment spec a stage's run records (TFC-0003 R2): artifact inputs only; the
    others are in the record's pipeline section."""
    spec: dict[str, Any] = {
        "schema_version": 1,
        "name": f"{pipeline.name}.{stage.name}",
        "command": list(stage.command),
    }
    if stage.params:
        spec["params"] = stage.params
    refs = {
        n: str(i) for n, i in stage.inputs.items() if not isinstance(i, (StageOutput, FileInput))
    }
    if refs:
        spec["inputs"] = refs
    if stage.outputs:
        spec["outputs"] = list(stage.outputs)
    if stage.timeout is not None:
        spec["timeout"] = stage.timeout
    if stage.tags:
        spec["tags"] = list(stage.tags)
    if stage.resources:
        spec["resources"] = dict(stage.resources)
    return experiment_from_spec(pipeline.path, spec)


def hash_paths(root: Path, paths: list[str] | tuple[str, ...]) -> dict[str, str]:
    digests: dict[str, str] = {}
    for path, digest in zip(paths, hash_files([root / p for p in paths]), strict=True):
        if isinstance(digest, OSError):
            raise StrataError(f"{path}: cannot read: {digest.strerror or digest}")
        digests[path] = f"blake3:{digest}"
    return digests


def prepare(root: Path, pipeline: Pipeline) -> dict[str, PreparedStage]:
    """Resolve, pin and verify every stage's own inputs, or raise; nothing is created."""
    prepared = {}
    for name in pipeline.order:
        stage = pipeline.stages[name]
        experiment = stage_experiment(pipeline, stage)
        files = {
            n: i.file for n, i in stage.inputs.items() if isinstance(i, FileInput)
        }  # fmt: skip
        hashed = hash_paths(root, sorted(files.values()))
        prepared[name] = PreparedStage(
            stage,
            experiment,
            resolve_inputs(root, experiment.inputs),
            hash_paths(root, stage.code_paths(root)),
            {n: PinnedFile(p, hashed[p]) for n, p in files.items()},
        )
    return prepared


def output_hash(root: Path, run_id: str, output: str) -> str | None:
    """An output's hash as its run's CHECKSUMS.txt lists it: a file's BLAKE3, or the BLAKE3 of
    a directory's listing; None when the sealed run does not hold it."""
    try:
        listing = parse_checksums((root / rundir.RUNS / run_id / CHECKSUMS).read_bytes())
    except OSError:
        return None
    return listed_output_hash(listing.digests(), output)


def plan_stage(
    pipeline: Pipeline, prepared: PreparedStage, upstream: dict[str, Upstream], code: CodeState
) -> PlannedRun:
    link = StageLink(pipeline.path, prepared.stage.name, prepared.code, upstream, prepared.files)
    experiment = prepared.experiment
    return planned_run(
        experiment, dict(experiment.params), prepared.inputs, code, None, experiment.tags,
        stage=link,
    )  # fmt: skip


def upstream_of(root: Path, stage: Stage, runs: dict[str, str]) -> dict[str, Upstream]:
    """Each stage-output input pinned to the bytes the producing run sealed."""
    found = {}
    for name, value in stage.inputs.items():
        if not isinstance(value, StageOutput):
            continue
        run_id = runs[value.stage]
        digest = output_hash(root, run_id, value.output)
        if digest is None:
            raise StrataError(
                f"stage {stage.name} input {name}: {rundir.RUNS}/{run_id} (stage {value.stage}) "
                f"sealed no output {value.output}"
            )
        found[name] = Upstream(value.stage, value.output, run_id, digest)
    return found


def check_force(pipeline: Pipeline, force: tuple[str, ...]) -> None:
    for name in force:
        if name not in pipeline.stages:
            close = did_you_mean(name, pipeline.stages)
            raise UsageError(f"--force {name}: {pipeline.path} has no stage {name!r}{close}")


def run_stage(
    root: Path, pipeline: Pipeline, prepared: PreparedStage, produced: dict[str, str], *,
    force: tuple[str, ...], code: CodeState, succeeded: list[RunRecord], interrupts: Interrupts,
    echo: tuple[BinaryIO, BinaryIO] | None, notify: Notify,
    claimed: Callable[[str], None] = lambda _: None,
    ended_by: Callable[[Outcome], str | None] = lambda _: None,
    placement: Placement | None = None, elsewhere: Executor | None = None,
) -> StageResult:  # fmt: skip
    """One stage, its upstream stages' runs in `produced`: reused, or run and sealed (R21)."""
    name = prepared.stage.name
    try:
        upstream = upstream_of(root, prepared.stage, produced)
    except StrataError as exc:  # the producing run sealed no such output
        notify(f"{name}: not run: {exc}")
        return StageResult(name, NOT_RUN, None, 1, str(exc))
    planned = replace(plan_stage(pipeline, prepared, upstream, code), placement=placement)
    if name not in force and (earlier := reuse(root, planned, succeeded)) is not None:
        notify(f"{name}: {earlier.run_id} reused (same fingerprint {shown(planned.fingerprint)})")
        return StageResult(name, "reused", earlier.run_id, 0)
    if elsewhere is not None:
        placed = elsewhere(planned)
        if placed is None:
            notify(f"{name}: not run: its task never started")
            return StageResult(name, NOT_RUN, None, 1, "its task never started")
        run = placed
    else:
        run = execute_run(
            root, planned, interrupts=interrupts, echo=echo, notify=notify, claimed=claimed,
            ended_by=ended_by,
        )  # fmt: skip
    notify(f"{name}: {run.run_id} {run.status}")
    return StageResult(name, run.status, run.run_id, run.exit_code)


def run_pipeline(
    root: Path, pipeline: Pipeline, *, jobs: int = 1, force: tuple[str, ...] = (),
    interrupts: Interrupts, echo: tuple[BinaryIO, BinaryIO] | None, notify: Notify,
    elsewhere: Executor | None = None,
) -> list[StageResult]:  # fmt: skip
    """Every stage in dependency order; a failed stage stops its dependants; `elsewhere` runs
    each stage that is not reused (Ray, TFC-0002 R28)."""
    check_force(pipeline, force)
    prepared = prepare(root, pipeline)
    code = code_state(root)
    for stage in prepared.values():  # a secret in any stage refuses the whole pipeline
        refuse_secrets(plan_stage(pipeline, stage, {}, code))
    results: dict[str, StageResult] = {}
    produced: dict[str, str] = {}  # stage -> the run that holds its outputs
    succeeded = load_runs(root, status="succeeded")  # read once, not once per stage
    lock = threading.Lock()

    def one(name: str) -> StageResult:
        if interrupts.received:  # queued before the Ctrl-C: no stage starts after it (R21)
            notify(f"{name}: not run: interrupted before it started")
            return StageResult(name, NOT_RUN, None, 0, "interrupted before it started")
        with lock:
            made = dict(produced)
        return run_stage(
            root, pipeline, prepared[name], made, force=force, code=code, succeeded=succeeded,
            interrupts=interrupts, echo=echo if jobs == 1 else None, notify=notify,
            elsewhere=elsewhere,
        )  # fmt: skip

    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(
        {name: pipeline.stages[name].upstream for name in pipeline.order}
    )
    sorter.prepare()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending: dict[Future[StageResult], str] = {}
        while sorter.is_active():
            for name in sorted(sorter.get_ready()):
                why = _blocked(pipeline.stages[name], results, interrupts)
                if why is None:
                    pending[pool.submit(one, name)] = name
                    continue
                results[name] = StageResult(name, NOT_RUN, None, 0, why)
                notify(f"{name}: not run: {why}")
                sorter.done(name)
            if not pending:
                continue
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                name = pending.pop(future)
                result = future.result()
                with lock:
                    results[name] = result
                    if result.run_id is not None and result.status in {"succeeded", "reused"}:
                        produced[name] = result.run_id
                sorter.done(name)
    return [results[name] for name in pipeline.order]


def _blocked(stage: Stage, results: dict[str, StageResult], interrupts: Interrupts) -> str | None:
    for name in stage.upstream:
        if results[name].status not in {"succeeded", "reused"}:
            return f"upstream {name} {results[name].status}"
    return "interrupted before it started" if interrupts.received else None


def exit_code(results: list[StageResult], interrupts: Interrupts) -> int:
    if interrupts.received:
        return 128 + interrupts.received
    return next((r.exit_code for r in results if r.exit_code != 0), 0)


def format_summary(pipeline: Pipeline, results: list[StageResult]) -> str:
    lines = [f"pipeline {pipeline.path}: {len(results)} stages"]
    width = max(len(r.stage) for r in results)
    for r in results:
        what = f"{NOT_RUN}: {r.why}" if r.status == NOT_RUN else f"{r.status:<11}  {r.run_id}"
        lines.append(f"  {r.stage:<{width}}  {what}")
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    order = ("succeeded", "reused", "failed", "interrupted", NOT_RUN)
    lines.append("  " + ", ".join(f"{counts[s]} {s}" for s in order if s in counts))
    return "\n".join(lines) + "\n"
