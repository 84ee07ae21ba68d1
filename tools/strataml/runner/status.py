"""`strata status`: is each stage of a pipeline up to date, stale or never run, and why
(TFC-0002 R21). Read-only: runs come through the run cache, and no Git process is started."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml.errors import StrataError
from strataml.jsonio import as_list, as_mapping
from strataml.registry.pipelines import FileInput, Pipeline, Stage, StageOutput
from strataml.registry.resolve import resolve
from strataml.registry.runcache import load_all, load_derived
from strataml.registry.runrecord import RunRecord, load_run
from strataml.registry.runs import run_ids
from strataml.runner.experiment import SpecError
from strataml.runner.fingerprint import CodeState
from strataml.runner.inputs import ResolvedInput
from strataml.runner.pipeline import (
    PreparedStage,
    hash_paths,
    output_hash,
    plan_stage,
    stage_experiment,
)
from strataml.runner.stagelink import PinnedFile, Upstream
from strataml.runner.staleness import (
    CommandChanged,
    FileChanged,
    InputChanged,
    Reason,
    Unresolved,
    UpstreamNotCurrent,
    UpstreamOutputChanged,
    code_changes,
    param_changes,
)

UP_TO_DATE, STALE, NEVER_RUN = "up to date", "stale", "never run"
_NO_CODE = CodeState(None, None, False, None, "")  # a stage's fingerprint counts its own code


@dataclass(frozen=True, slots=True)
class StageStatus:
    stage: str
    state: str
    run_id: str | None  # the matching run, else the latest succeeded one
    reasons: tuple[Reason, ...]

    def document(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "state": self.state,
            "run": self.run_id,
            "reasons": [{**r.document(), "text": r.text()} for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    path: str
    stages: tuple[StageStatus, ...]

    @property
    def current(self) -> bool:
        return all(s.state == UP_TO_DATE for s in self.stages)

    def text(self) -> str:
        width = max(len(s.stage) for s in self.stages)
        lines = [self.path]
        for s in self.stages:
            head = f"  {s.stage:<{width}}  {s.state:<10}"
            if s.state == UP_TO_DATE:
                lines.append(f"{head}  {s.run_id}")
            for index, reason in enumerate(s.reasons):
                lines.append(f"{head if index == 0 else ' ' * len(head)}  {reason.text()}")
            if s.state != UP_TO_DATE and not s.reasons:
                lines.append(head.rstrip())
        counts = [
            (n, sum(s.state == n for s in self.stages)) for n in (UP_TO_DATE, STALE, NEVER_RUN)
        ]
        lines.append("  " + ", ".join(f"{c} {n}" for n, c in counts if c))
        return "\n".join(lines) + "\n"

    def document(self) -> dict[str, object]:
        return {"path": self.path, "stages": [s.document() for s in self.stages]}


@dataclass(frozen=True, slots=True)
class StatusReport:
    pipelines: tuple[PipelineStatus, ...]

    @property
    def current(self) -> bool:
        return all(p.current for p in self.pipelines)

    def text(self) -> str:
        if not self.pipelines:
            return "no pipelines under pipelines/\n"
        return "\n".join(p.text() for p in self.pipelines)

    def document(self) -> dict[str, object]:
        return {"schema_version": 1, "pipelines": [p.document() for p in self.pipelines]}


def stage_runs(
    root: Path, among: Sequence[str] | None = None
) -> dict[tuple[str, str], list[RunRecord]]:
    """Sealed succeeded stage runs by (pipeline name, stage), oldest first: the experiment
    name a stage's run records (`<pipeline>.<stage>`), as reuse finds them, so renaming the
    pipeline's file keeps its runs. Which runs are stage runs is kept per run in the run cache
    (a two-word row), so a registry of 10,000 runs unpacks only its stage runs' records; a
    caller that has read every run already (the catalogue) names the `among` that may be,
    each then judged on its record as any other."""
    if among is None:
        ids = run_ids(root)
        rows = load_derived(root, ids, "stage", _stage_of)
        among = [i for i, kept in zip(ids, rows, strict=True) if kept]
    stages = list(among)
    found: dict[tuple[str, str], list[RunRecord]] = {}
    for record in load_all(root, stages, whole=False):
        if named := _stage_of(record):
            found.setdefault((named[0], named[1]), []).append(record)
    for records in found.values():
        records.sort(key=lambda r: (r.created, r.run_id))
    return found


def _stage_of(record: RunRecord) -> list[str]:
    """[pipeline name, stage] of a sealed, succeeded stage run; [] for any other run."""
    link = record.config.get("pipeline")
    if not isinstance(link, dict) or not record.sealed or record.state != "succeeded":
        return []
    pipeline, _, stage = (record.experiment or "").rpartition(".")
    return [pipeline, stage] if pipeline and stage == link.get("stage") else []


def pipeline_status(
    root: Path, pipeline: Pipeline, runs: dict[tuple[str, str], list[RunRecord]]
) -> PipelineStatus:
    done: dict[str, StageStatus] = {}
    for name in pipeline.order:
        done[name] = _stage_status(root, pipeline, pipeline.stages[name], done, runs)
    return PipelineStatus(pipeline.path, tuple(done[n] for n in pipeline.order))


def _stage_status(
    root: Path, pipeline: Pipeline, stage: Stage, done: dict[str, StageStatus],
    runs: dict[tuple[str, str], list[RunRecord]],
) -> StageStatus:  # fmt: skip
    records = runs.get((pipeline.name, stage.name), [])
    latest = records[-1] if records else None
    try:
        prepared = _prepare(root, pipeline, stage)
    except SpecError as exc:  # this stage cannot run as it stands; the others are still told
        state = STALE if latest else NEVER_RUN
        return StageStatus(stage.name, state, _id(latest), (Unresolved(str(exc)),))
    behind = [
        UpstreamNotCurrent(u, done[u].state) for u in stage.upstream if done[u].state != UP_TO_DATE
    ]
    if behind:
        own = _own_reasons(prepared, latest, {}) if latest is not None else []
        own += _spec_changes(root, prepared, latest) if latest is not None else []
        return StageStatus(stage.name, STALE if latest else NEVER_RUN, _id(latest), (*own, *behind))
    upstream = {}
    for name, value in stage.inputs.items():
        if isinstance(value, StageOutput):
            run_id = done[value.stage].run_id
            assert run_id is not None  # an up-to-date stage has its run
            digest = output_hash(root, run_id, value.output) or "missing"
            upstream[name] = Upstream(value.stage, value.output, run_id, digest)
    fingerprint = plan_stage(pipeline, prepared, upstream, _NO_CODE).fingerprint
    matching = [r for r in records if r.config.get("fingerprint") == fingerprint]
    if matching:
        return StageStatus(stage.name, UP_TO_DATE, matching[-1].run_id, ())
    if latest is None:
        return StageStatus(stage.name, NEVER_RUN, None, ())
    reasons = _own_reasons(prepared, latest, upstream) + _spec_changes(root, prepared, latest)
    return StageStatus(stage.name, STALE, latest.run_id, tuple(reasons or [CommandChanged()]))


def _id(record: RunRecord | None) -> str | None:
    return record.run_id if record is not None else None


def _prepare(root: Path, pipeline: Pipeline, stage: Stage) -> PreparedStage:
    """As the runner prepares a stage, but pinning without verifying the bytes (the runner
    verifies before it runs; status only compares)."""
    experiment = stage_experiment(pipeline, stage)
    inputs = {}
    for name, asked in sorted(experiment.inputs.items()):
        try:
            ref = resolve(asked, root=root).ref  # pinned to the content hash it holds now
        except StrataError as exc:
            raise SpecError(f"{pipeline.path}: stage {stage.name} input {name}: {exc}") from None
        assert ref.pin is not None
        inputs[name] = ResolvedInput(name, ref, ref.pin)
    files = {n: i.file for n, i in stage.inputs.items() if isinstance(i, FileInput)}
    hashed = hash_paths(root, sorted(set(files.values())))
    return PreparedStage(
        stage, experiment, inputs, hash_paths(root, stage.code_paths(root)),
        {n: PinnedFile(p, hashed[p]) for n, p in files.items()},
    )  # fmt: skip


def _spec_changes(root: Path, prepared: PreparedStage, latest: RunRecord) -> list[Reason]:
    """What else the fingerprint counts: the command, the shell and the outputs as the latest
    run's copied spec has them (the whole record is read, for a stage not up to date only), and
    the names its inputs go by. A recorded part of another shape than the schema's reads as
    absent (doctor reports the record)."""
    recorded = load_run(root, latest.run_id).config
    before = as_mapping(as_mapping(recorded.get("experiment")).get("spec"))
    now = prepared.experiment.spec
    found: list[Reason] = []
    if before.get("command") != now.get("command"):
        found.append(CommandChanged("command", before.get("command"), now.get("command")))
    if bool(before.get("shell")) != bool(now.get("shell")):
        found.append(CommandChanged("shell", bool(before.get("shell")), bool(now.get("shell"))))
    outputs = _texts(as_list(before.get("outputs"))), _texts(as_list(now.get("outputs")))
    if outputs[0] != outputs[1]:
        found.append(CommandChanged("outputs", *outputs))
    link = as_mapping(recorded.get("pipeline"))
    parts = (recorded.get("inputs"), link.get("upstream"), link.get("files"))
    names = _texts([n for part in parts for n in as_mapping(part)]), sorted(prepared.stage.inputs)
    if names[0] != names[1]:
        found.append(CommandChanged("input names", *names))
    return found


def _texts(values: list[Any]) -> list[str]:
    """Each value as its text, sorted, once: what a record lists, whatever it holds."""
    return sorted({v if isinstance(v, str) else json.dumps(v, default=str) for v in values})


def _own_reasons(
    prepared: PreparedStage, latest: RunRecord, upstream: dict[str, Upstream]
) -> list[Reason]:
    config = latest.config
    link = as_mapping(config.get("pipeline"))
    reasons: list[Reason] = []
    code = {str(k): v for k, v in as_mapping(link.get("code")).items()}
    reasons += code_changes(code, prepared.code)
    params = {str(k): v for k, v in as_mapping(config.get("params")).items()}
    reasons += param_changes(params, prepared.experiment.params)
    recorded_inputs = as_mapping(config.get("inputs"))
    for name, now in sorted(prepared.inputs.items()):
        old = as_mapping(recorded_inputs.get(name)).get("ref", "")
        if old != str(now.ref):
            reasons.append(InputChanged(name, old if isinstance(old, str) else "", str(now.ref)))
    recorded_files = as_mapping(link.get("files"))
    for name, pinned in sorted(prepared.files.items()):
        if as_mapping(recorded_files.get(name)).get("content_hash") != pinned.content_hash:
            reasons.append(FileChanged(name, pinned.path))
    recorded_upstream = as_mapping(link.get("upstream"))
    for name, now_up in sorted(upstream.items()):
        if as_mapping(recorded_upstream.get(name)).get("content_hash") != now_up.content_hash:
            reasons.append(UpstreamOutputChanged(name, now_up.stage, now_up.output))
    return reasons
