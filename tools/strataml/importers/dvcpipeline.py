"""`strata import dvc PATH --pipeline NAME` (TFC-0003 R19): a DVC pipeline as
`pipelines/<NAME>.yaml`, its code and data files under `experiments/<NAME>/`, and one sealed
stage run for each stage whose dvc.lock entry still describes the workspace."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from strataml.atomic import fsync_path
from strataml.confine import confined
from strataml.importers.dvc import PIPELINE, TOOL, leaves, lock_entry
from strataml.importers.dvcstages import (
    DvcImportError,
    DvcStage,
    lock_mismatch,
    param_values,
    read_lock,
    read_stages,
)
from strataml.importers.record import (
    Outcome,
    SourceError,
    SourceRun,
    copy_file,
    metric_names,
    read_mapping,
    write_run,
)
from strataml.integrity.digest import Digest
from strataml.integrity.tree import scan_tree
from strataml.jsonio import as_mapping
from strataml.registry import store
from strataml.registry.pipelines import (
    PIPELINES,
    Pipeline,
    find_pipelines,
    load_pipeline,
    read_pipeline,
)
from strataml.registry.runrecord import RunRecord
from strataml.registry.runs import load_runs
from strataml.runner.fingerprint import CodeState, canonical_json
from strataml.runner.pipeline import plan_stage, prepare, upstream_of
from strataml.runner.record import PlannedRun
from strataml.runner.reuse import find_reusable
from strataml.safeopen import read_regular
from strataml.wording import counted
from strataml.yamlio import MAX_BYTES, parse_yaml
from strataml.yamltext import dump_yaml

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,30}$")
_STAGE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MODELINE = "../schemas/pipeline.schema.json"
_IMPORTED = "Imported from the DVC project"
_NO_CODE = CodeState(None, None, False, None, "")  # an import records no code state (R14)


def import_pipeline(root: Path, project: Path, name: str) -> list[Outcome]:
    """Write the spec and the copied files, then import each stage DVC has up to date; a
    DvcImportError before anything is written when the pipeline cannot be mapped."""
    if not _NAME.match(name):
        raise DvcImportError("dvc-name", name, "not a pipeline name", "use 1 to 31 of a-z, 0-9, "
                             "'.', '_' and '-', starting with a letter or digit")  # fmt: skip
    stages, _ = read_stages(project)
    lock = read_lock(project)
    target = root / PIPELINES / f"{name}.yaml"
    if target.is_file() and _IMPORTED not in target.read_text("utf-8", "replace"):
        raise DvcImportError("dvc-name", f"{PIPELINES}/{name}.yaml", "exists and was not "
                             "imported from DVC", "choose another --pipeline NAME")  # fmt: skip
    for other in find_pipelines(root):  # their stages' runs would be one another's (PIP005)
        try:
            data = parse_yaml(read_regular(root / other, MAX_BYTES + 1)).data
        except OSError:
            continue  # doctor names what it cannot read
        if (
            other != f"{PIPELINES}/{name}.yaml"
            and isinstance(data, dict)
            and data.get("name") == name
        ):
            raise DvcImportError("PIP005", other, f"pipeline name {name!r} is taken", "choose "
                                 "another --pipeline NAME")  # fmt: skip
    if not target.is_file() and (root / "experiments" / name).exists():
        raise DvcImportError("dvc-name", f"experiments/{name}", "exists and holds no import of "
                             "a DVC pipeline", "choose another --pipeline NAME")  # fmt: skip
    params = {s: param_values(project, stage) for s, stage in stages.items()}
    spec, files = pipeline_spec(project, name, stages, params)
    for rel in (f"{PIPELINES}/{name}.yaml", *(f"experiments/{name}/{f}" for f in files)):
        confined(root, root / rel)  # never written through a symlink of the repository
        blocker = _in_the_way(root, rel)
        if blocker is not None:
            raise DvcImportError("dvc-name", blocker, f"is in the way of {rel}", "remove it, then "
                                 "import again")  # fmt: skip
    with store.locked(root, "import"), store.staging(root) as staging:
        for rel in files:
            copy_file(project, rel, staging / "experiments" / name / rel)
        text = dump_yaml(spec, modeline=_MODELINE)
        _, problems = read_pipeline(staging, f"{PIPELINES}/{name}.yaml", parse_yaml(text.encode()))
        if problems:
            first = problems[0]
            line = next((stages[w].line for w in re.findall(r"[\w-]+", first.message)
                         if w in stages), None)  # fmt: skip
            raise DvcImportError(first.code, project / PIPELINE, first.message, first.hint, line)
        (staging / PIPELINES).mkdir()
        (staging / PIPELINES / f"{name}.yaml").write_text(text, "utf-8")
        _publish(root, staging, [*(f"experiments/{name}/{f}" for f in files),
                                 f"{PIPELINES}/{name}.yaml"])  # fmt: skip
        pipeline = load_pipeline(root, target)
        wrote = Outcome(f"{PIPELINES}/{name}.yaml", "wrote", f"{counted(len(stages), 'stage')}, "
                        f"{counted(len(files), 'file')} copied under experiments/{name}/")  # fmt: skip
        return [wrote, *_import_runs(root, project, pipeline, stages, lock, params)]


def pipeline_spec(
    project: Path, name: str, stages: dict[str, DvcStage], params: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """The StrataML spec, and the project files it needs copied under experiments/<name>/."""
    producers: dict[str, str] = {}
    for stage in stages.values():
        if not _STAGE.match(stage.name):
            raise DvcImportError("dvc-name", project / PIPELINE, f"stage {stage.name}: not a "
                                 "StrataML stage name", "rename it: a-z, 0-9, '_' and '-', "
                                 "starting with a letter, at most 32", stage.line)  # fmt: skip
        for out in stage.outs:
            if out in producers:
                raise DvcImportError("dvc-yaml", project / PIPELINE, f"{out} is an output of "
                                     f"{producers[out]} and {stage.name}", "give each output one "
                                     "stage", stage.line)  # fmt: skip
            producers[out] = stage.name
    copied: set[str] = set()
    spec: dict[str, Any] = {}
    for stage in stages.values():
        inputs: dict[str, Any] = {}
        code: list[str] = []
        words = stage.words()
        for dep in stage.deps:
            made = next((o for o in producers if dep == o or dep.startswith(o + "/")), None)
            if made is not None:  # a dep inside a directory output reads the whole directory
                inputs[_input_name(dep, inputs)] = {"stage": producers[made], "output": made}
                continue
            found = project / dep
            if not found.exists():
                raise DvcImportError("dvc-path", project / PIPELINE, f"stage {stage.name} dep "
                                     f"{dep}: no such file and no stage's output", "create it, "
                                     "or run `dvc pull`", stage.line)  # fmt: skip
            if found.is_dir():
                scan = scan_tree(found)
                odd = scan.symlinks + scan.special + scan.unportable + scan.unreadable
                if odd:
                    raise DvcImportError("dvc-link", project / PIPELINE, f"stage {stage.name} "
                                         f"dep {dep}: {dep}/{odd[0]} is a symlink or not a "
                                         "regular file, which is never followed", "replace it "
                                         "with the file it names", stage.line)  # fmt: skip
                listed = sorted(f"{dep}/{f}" for f in scan.files)
                code += [f"experiments/{name}/{f}" for f in listed]
                copied.update(listed)
            elif not found.is_file() or found.is_symlink():
                raise DvcImportError("dvc-path", project / PIPELINE, f"stage {stage.name} dep "
                                     f"{dep}: not a regular file", "depend on files and "
                                     "directories only", stage.line)  # fmt: skip
            elif dep in words:
                code.append(f"experiments/{name}/{dep}")
                copied.add(dep)
            else:
                inputs[_input_name(dep, inputs)] = {"file": f"experiments/{name}/{dep}"}
                copied.add(dep)
        entry: dict[str, Any] = {"description": stage.desc} if stage.desc else {}
        entry["command"] = list(stage.argv())
        nested = _nested(project, stage, params[stage.name])
        if nested:
            entry["params"] = nested
        if inputs:
            entry["inputs"] = inputs
        if stage.outs:
            entry["outputs"] = list(stage.outs)
        if code:
            entry["code"] = sorted(set(code))
        spec[stage.name] = entry
    document = {
        "schema_version": 1,
        "name": name,
        "description": f"{_IMPORTED} {project.name} by `strata import dvc --pipeline` "
        "(TFC-0003 R19); re-import to update.",
        "stages": spec,
    }
    return document, sorted(copied)


def _input_name(path: str, taken: dict[str, Any]) -> str:
    stem = re.sub(r"[^a-z0-9_]+", "_", Path(path).name.lower()).strip("_") or "input"
    stem = stem if stem[0].isalpha() else f"in_{stem}"
    name, n = stem[:32], 2
    while name in taken:
        name, n = f"{stem[:29]}_{n}", n + 1
    return name


def _nested(project: Path, stage: DvcStage, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Dotted keys as nested params: train.lr -> {train: {lr: ...}}, as status names them."""
    nested: dict[str, Any] = {}
    for file, keys in values.items():
        for key, value in keys.items():
            *parents, last = key.split(".")
            if not _PARAM.match(parents[0] if parents else last):
                raise DvcImportError("dvc-params", project / PIPELINE, f"stage {stage.name}: "
                                     f"{file} param {key} is not a StrataML param name", "use letters, digits "
                                     "and '_' for top-level keys", stage.line)  # fmt: skip
            here = nested
            for part in parents:
                here = here.setdefault(part, {})
                if not isinstance(here, dict):
                    break
            if not isinstance(here, dict) or last in here:
                raise DvcImportError("dvc-params", project / PIPELINE, f"stage {stage.name}: "
                                     f"{file} param {key} is read twice", "read each key from one params "
                                     "file", stage.line)  # fmt: skip
            try:
                canonical_json(value)  # a fingerprint counts it: JSON, finite numbers
            except ValueError:
                raise DvcImportError("dvc-params", project / PIPELINE, f"stage {stage.name}: "
                                     f"{file} param {key} is not finite", "give it a number, or leave it "
                                     "out of the stage's params", stage.line) from None  # fmt: skip
            here[last] = value
    return nested


def _in_the_way(root: Path, rel: str) -> str | None:
    """A directory where a file goes, or a file where a directory goes."""
    if (root / rel).is_dir():
        return rel
    for parent in PurePosixPath(rel).parents:
        here = root / parent
        if parent.parts and here.exists() and not here.is_dir():
            return parent.as_posix()
    return None


def _publish(root: Path, staging: Path, paths: list[str]) -> None:
    """Each staged file renamed into place, the spec last: it is what names the others."""
    for rel in paths:
        final = root / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).replace(final)
    for parent in dict.fromkeys((root / rel).parent for rel in paths):
        fsync_path(parent)


def _import_runs(
    root: Path, project: Path, pipeline: Pipeline, stages: dict[str, DvcStage],
    lock: dict[str, Any], params: dict[str, dict[str, Any]],
) -> list[Outcome]:  # fmt: skip
    prepared = prepare(root, pipeline)
    succeeded = load_runs(root, status="succeeded")
    when = (project / "dvc.lock").stat().st_mtime_ns // 1_000_000
    produced: dict[str, str] = {}
    outcomes = []
    for name in pipeline.order:
        stage = pipeline.stages[name]
        shown = f"{TOOL} stage {name}"
        try:
            why = next((f"upstream {u} has no run DVC holds up to date" for u in stage.upstream
                        if u not in produced), None) or lock_mismatch(
                project, stages[name], lock.get(name), params[name])  # fmt: skip
        except SourceError as exc:
            outcomes.append(Outcome(shown, "refused", str(exc)))
            continue
        if why is not None:
            outcomes.append(Outcome(shown, "skipped", f"no run imported: {why}"))
            continue
        planned = plan_stage(pipeline, prepared[name], upstream_of(root, stage, produced), _NO_CODE)
        try:
            source = _stage_run(project, pipeline, planned, stages[name],
                                {name: lock_entry(lock[name])}, when)  # fmt: skip
        except SourceError as exc:
            outcomes.append(Outcome(shown, "refused", str(exc)))
            continue
        # Skipped only for a run of this very lock entry: `dvc repro` of a stage whose outputs
        # differ from run to run leaves its fingerprint alone and its outs' md5s changed.
        same_lock = [r for r in succeeded if _imported_id(r) == source.source_id]
        earlier = find_reusable(root, planned.experiment.name, planned.fingerprint, same_lock)
        if earlier is not None:
            produced[name] = earlier
            outcomes.append(Outcome(shown, "skipped", f"up to date in runs/{earlier}/", earlier))
            continue
        try:
            produced[name] = write_run(root, source)
        except SourceError as exc:
            outcomes.append(Outcome(shown, "refused", str(exc)))
            continue
        outcomes.append(Outcome(shown, "imported", f"succeeded -> runs/{produced[name]}/",
                                produced[name]))  # fmt: skip
    return outcomes


def _imported_id(record: RunRecord) -> object:
    return as_mapping(record.config.get("imported_from")).get("run_id")


def _stage_run(
    project: Path, pipeline: Pipeline, planned: PlannedRun, stage: DvcStage,
    lock: dict[str, Any], when: int,
) -> SourceRun:  # fmt: skip
    """The stage's run as DVC left it: its outs as artifacts, its metrics files' numbers."""
    final: dict[str, float] = {}
    for path in stage.metrics:
        if Path(path).suffix in (".json", ".yaml", ".yml"):
            final |= leaves(read_mapping(project, path).data)
    names, notes = metric_names(final, str(project))
    return SourceRun(
        tool=TOOL,
        source_id=str(Digest.of(canonical_json([pipeline.name, stage.name, lock]))),
        path=project.as_posix(),
        experiment=planned.experiment.name,
        status="succeeded",
        started_ms=when,
        ended_ms=when,
        params=planned.params,
        final={names[k]: v for k, v in final.items()},
        details={"experiment": None, "lock": lock},
        notes=(*notes, "DVC keeps no times: dvc.lock's modification time is used"),
        outputs=stage.outs,
        planned=planned,
    )
