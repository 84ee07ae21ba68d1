"""--from-stage PIPELINE:STAGE: the run that holds a pipeline stage's current outputs, as
`strata status` judges it (TFC-0004 R12, TFC-0005 R17)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from strataml.registry.pipelines import load_pipeline
from strataml.registry.store import RegistryError
from strataml.runner.status import NEVER_RUN, UP_TO_DATE, pipeline_status, stage_runs
from strataml.suggest import did_you_mean


class StageNotCurrentError(RegistryError):
    """The stage was never run, or its latest run is not what it computes now."""


@dataclass(frozen=True, slots=True)
class StageRun:
    pipeline: str  # repository-relative path of the spec
    stage: str
    run_id: str
    state: str  # up to date; stale only when allowed


def stage_run(root: Path, text: str, *, allow_stale: bool = False) -> StageRun:
    """The sealed succeeded run of `text`'s stage that is up to date; with `allow_stale`, the
    latest one of a stale stage. A stage never run, or stale, is refused with the reasons."""
    spec, _, stage = text.rpartition(":")
    if not spec or not stage:
        raise RegistryError(
            f"--from-stage {text!r}: expected PIPELINE:STAGE, e.g. pipelines/iris.yaml:prepare"
        )
    pipeline = load_pipeline(root, Path(spec))
    if stage not in pipeline.stages:
        close = did_you_mean(stage, pipeline.stages)
        raise RegistryError(f"--from-stage {text!r}: {pipeline.path} has no stage {stage!r}{close}")
    status = pipeline_status(root, pipeline, stage_runs(root))
    found = next(s for s in status.stages if s.stage == stage)
    where = f"--from-stage {pipeline.path}:{stage}"
    why = "; ".join(r.text() for r in found.reasons)
    if found.state == UP_TO_DATE and found.run_id is not None:
        return StageRun(pipeline.path, stage, found.run_id, found.state)
    rerun = f"python tools/run.py --pipeline {pipeline.path}"
    if found.state == NEVER_RUN or found.run_id is None:
        raise StageNotCurrentError(
            f"{where}: never run{f' ({why})' if why else ''}; run it first: {rerun}"
        )
    if not allow_stale:
        raise StageNotCurrentError(
            f"{where}: stale ({why}); its latest run {found.run_id} is not what the stage "
            f"computes now: rerun it ({rerun}), or take that run anyway with --allow-stale"
        )
    return StageRun(pipeline.path, stage, found.run_id, found.state)


def producing_run(
    root: Path, from_run: str | None, from_stage: str | None, *, allow_stale: bool = False
) -> str | None:
    """The run --from-run names, or the one --from-stage picks; never both."""
    if from_run is not None and from_stage is not None:
        raise RegistryError("give --from-run RUN or --from-stage PIPELINE:STAGE, not both")
    if allow_stale and from_stage is None:
        raise RegistryError("--allow-stale goes with --from-stage")
    if from_stage is None:
        return from_run
    return stage_run(root, from_stage, allow_stale=allow_stale).run_id
