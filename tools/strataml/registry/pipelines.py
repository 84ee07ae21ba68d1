"""Pipeline specs (TFC-0002 R18, R19): named stages whose inputs may be other stages' outputs.
Parsed once into values; every way a spec can be wrong is a problem with a stable code, read by
the runner (which refuses) and by doctor (which reports)."""

from __future__ import annotations

import graphlib
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml import schemas
from strataml.confine import symlink_on_the_way
from strataml.errors import UsageError
from strataml.integrity.checksums import format_checksums
from strataml.integrity.digest import Digest
from strataml.refs import Reference
from strataml.safeopen import read_regular
from strataml.suggest import did_you_mean
from strataml.workspace import relative
from strataml.yamlio import MAX_BYTES, ProblemKind, YamlDocument, parse_yaml

PIPELINES = "pipelines"
ARTIFACT_TREES = ("datasets/", "models/", "runs/")
_YAML_CODES = {
    ProblemKind.SYNTAX: ("SCH001", "fix the YAML syntax; quote strings holding ': ' or '#'"),
    ProblemKind.DUPLICATE_KEY: ("SCH002", "remove one of the two; YAML keeps only the last"),
    ProblemKind.ENCODING: ("SCH004", "save the file as UTF-8"),
    ProblemKind.TOO_COMPLEX: ("SCH005", "a pipeline is small, flat data; drop anchors"),
}


@dataclass(frozen=True, slots=True)
class StageOutput:
    """An input that is an output another stage declares."""

    stage: str
    output: str


@dataclass(frozen=True, slots=True)
class FileInput:
    """An input that is a file under experiments/."""

    file: str


StageInput = Reference | StageOutput | FileInput


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    command: tuple[str, ...]
    params: dict[str, Any]
    inputs: dict[str, StageInput]
    outputs: tuple[str, ...]
    code: tuple[str, ...]  # as declared; empty: the command's arguments that are files
    timeout: int | str | None
    tags: tuple[str, ...]
    resources: dict[str, Any] = field(default_factory=dict)  # as written (TFC-0002 R22)

    @property
    def upstream(self) -> tuple[str, ...]:
        found = (i.stage for i in self.inputs.values() if isinstance(i, StageOutput))
        return tuple(sorted(set(found)))

    def code_paths(self, root: Path) -> tuple[str, ...]:
        """Its `code`, or else each word of its command, the program included, that names a
        code file of the repository (TFC-0002 R20)."""
        if self.code:
            return self.code
        return tuple(sorted({_normal(arg) for arg in self.command if is_code_file(root, arg)}))


@dataclass(frozen=True, slots=True)
class Pipeline:
    name: str
    path: str  # repository-relative
    stages: dict[str, Stage]
    order: tuple[str, ...]  # dependency order; ties by name


@dataclass(frozen=True, slots=True)
class PipelineProblem:
    code: str
    message: str
    line: int | None
    hint: str


class PipelineError(UsageError):
    """A pipeline spec that cannot run: its first problem, with code, path, line and hint."""

    def __init__(self, path: str, problem: PipelineProblem, more: int) -> None:
        self.problem = problem
        at = f"{path}:{problem.line}" if problem.line else path
        tail = f" (and {more} more; `strata doctor {path}`)" if more else ""
        super().__init__(f"{at}: {problem.code} {problem.message}{tail}\n  hint: {problem.hint}")


def load_pipeline(root: Path, path: Path) -> Pipeline:
    """The pipeline at `path`, or PipelineError naming its first problem; nothing is created."""
    absolute = Path(posixpath.normpath(path.absolute()))
    way = symlink_on_the_way(root, absolute)
    if way is not None:
        raise UsageError(f"{path}: {way} is a symlink or leaves the repository; a pipeline is a "
                         "file under pipelines/")  # fmt: skip
    where = relative(root, absolute)
    try:
        raw = read_regular(path, MAX_BYTES + 1)
    except OSError as exc:
        names = find_pipelines(root) if isinstance(exc, FileNotFoundError) else []
        close = did_you_mean(path.name, [Path(n).name for n in names])
        raise UsageError(
            f"{where}: cannot read the pipeline: {exc.strerror or exc}{close}"
        ) from None
    pipeline, problems = read_pipeline(root, where, parse_yaml(raw))
    if problems or pipeline is None:
        raise PipelineError(where, problems[0], len(problems) - 1)
    return pipeline


def read_pipeline(
    root: Path, where: str, document: YamlDocument
) -> tuple[Pipeline | None, list[PipelineProblem]]:
    """The pipeline and every problem of its document: YAML, schema, then graph."""
    problems = [
        PipelineProblem(_YAML_CODES[p.kind][0], p.message, p.line, _YAML_CODES[p.kind][1])
        for p in document.problems
    ]
    if problems:
        return None, problems
    if not isinstance(document.data, dict):
        hint = "see schemas/pipeline.schema.json"
        return None, [PipelineProblem("SCH003", "expected a mapping", 1, hint)]
    for v in schemas.validate("pipeline", document.data):
        code = "LAY013" if v.unsafe_path else "SCH003"
        hint = (
            "write a relative path with '/' that stays inside (no '..', no leading '/')"
            if v.unsafe_path
            else "see schemas/pipeline.schema.json"
        )
        problems.append(PipelineProblem(code, v.message, document.line_of(v.path), hint))
    if problems:
        return None, problems
    return check_graph(root, where, document)


def check_graph(
    root: Path, where: str, document: YamlDocument
) -> tuple[Pipeline | None, list[PipelineProblem]]:
    """Problems a schema cannot see (PIP001 to PIP004), for a document that validates."""
    data: dict[str, Any] = document.data
    stages = {name: _stage(name, spec) for name, spec in data["stages"].items()}
    problems: list[PipelineProblem] = []
    for stage in stages.values():
        problems += _stage_problems(root, document, stage, stages)
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for stage in sorted(stages):
        sorter.add(stage, *(u for u in stages[stage].upstream if u in stages))
    order: list[str] = []
    try:
        sorter.prepare()
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order += ready
            sorter.done(*ready)
    except graphlib.CycleError as exc:
        cycle: list[str] = exc.args[1]
        problems.append(
            PipelineProblem(
                "PIP002",
                f"stages form a cycle: {' -> '.join(reversed(cycle))}",
                document.line_of(("stages", cycle[0])),
                "a stage cannot consume its own output, directly or through others",
            )
        )
    problems.sort(key=lambda p: (p.line or 0, p.code, p.message))
    if problems:
        return None, problems
    return Pipeline(data["name"], where, stages, tuple(order)), []


def _stage(name: str, spec: dict[str, Any]) -> Stage:
    inputs: dict[str, StageInput] = {}
    for key, value in spec.get("inputs", {}).items():
        if isinstance(value, str):
            inputs[key] = Reference.parse(value)
        elif "stage" in value:
            inputs[key] = StageOutput(value["stage"], value["output"])
        else:
            inputs[key] = FileInput(value["file"])
    return Stage(
        name=name,
        command=tuple(spec["command"]),
        params=dict(spec.get("params", {})),
        inputs=inputs,
        outputs=tuple(spec.get("outputs", ())),
        code=tuple(spec.get("code", ())),
        timeout=spec.get("timeout"),
        tags=tuple(spec.get("tags", ())),
        resources=dict(spec.get("resources", {})),
    )


def _stage_problems(
    root: Path, document: YamlDocument, stage: Stage, stages: dict[str, Stage]
) -> list[PipelineProblem]:
    found: list[PipelineProblem] = []
    at = ("stages", stage.name)
    for name, value in sorted(stage.inputs.items()):
        line = document.line_of((*at, "inputs", name))
        if isinstance(value, StageOutput):
            producer = stages.get(value.stage)
            if producer is None:
                close = did_you_mean(value.stage, stages)
                found.append(PipelineProblem("PIP003", f"stage {stage.name} input {name}: no "
                             f"stage {value.stage!r}{close}", line,
                             "name a stage of this pipeline"))  # fmt: skip
            elif _normal(value.output) not in {_normal(o) for o in producer.outputs}:
                found.append(PipelineProblem("PIP003", f"stage {stage.name} input {name}: stage "
                             f"{value.stage} declares no output {value.output}", line,
                             f"add it to {value.stage}'s outputs, or name one of "
                             f"{list(producer.outputs)}"))  # fmt: skip
        elif isinstance(value, FileInput) and not _regular(root, value.file):
            found.append(PipelineProblem("PIP001", f"stage {stage.name} input {name}: "
                         f"{value.file} is not a file of the repository", line,
                         "name a file under experiments/"))  # fmt: skip
    for index, path in enumerate(stage.code):
        if not is_code_file(root, path):
            found.append(PipelineProblem("PIP001", f"stage {stage.name} code: {path} is not a "
                         "code file of the repository", document.line_of((*at, "code", index)),
                         "list the files the stage runs, outside datasets/, models/ and runs/"))  # fmt: skip
    seen: dict[str, str] = {}
    for index, path in enumerate(stage.outputs):
        normal = _normal(path)
        clash = seen.get(normal) or next(
            (
                o
                for n, o in seen.items()
                if normal.startswith(n + "/") or n.startswith(normal + "/")
            ),
            None,
        )
        if clash is not None:
            found.append(PipelineProblem("PIP004", f"stage {stage.name} declares output {path} "
                         f"twice (as {clash})" if _normal(clash) == normal else
                         f"stage {stage.name} output {path} overlaps output {clash}",
                         document.line_of((*at, "outputs", index)),
                         "declare each output once; a directory output covers its files"))  # fmt: skip
        seen.setdefault(normal, path)
    return found


def _normal(path: str) -> str:
    return posixpath.normpath(path)


def _regular(root: Path, path: str) -> bool:
    """A regular file of the repository, reached through no symlink and no `..`."""
    if not schemas.is_safe_relative_path(path):
        return False
    target = root / _normal(path)
    return symlink_on_the_way(root, target) is None and target.is_file()


def is_code_file(root: Path, path: str) -> bool:
    """A regular file of the repository outside the artifact trees (`./runs/…` is in them)."""
    normal = _normal(path)
    return _regular(root, path) and not normal.startswith(ARTIFACT_TREES)


def find_pipelines(root: Path) -> list[str]:
    """Pipeline spec paths under pipelines/, sorted."""
    directory = root / PIPELINES
    if not directory.is_dir():
        return []
    return sorted(
        f"{PIPELINES}/{p.name}"
        for p in directory.iterdir()
        if p.suffix in {".yaml", ".yml"} and not p.is_symlink() and p.is_file()
    )


def listed_output_hash(digests: dict[str, str], output: str) -> str | None:
    """A stage output's hash from its run's CHECKSUMS.txt digests: a file's BLAKE3, or the BLAKE3
    of a directory output's listing (paths relative to it); None when the run holds no such
    output (TFC-0002 R20)."""
    path = f"artifacts/{_normal(output)}"
    if path in digests:
        return f"blake3:{digests[path]}"
    inside = {p.removeprefix(path + "/"): d for p, d in digests.items() if p.startswith(path + "/")}
    return str(Digest.of(format_checksums(inside).encode())) if inside else None
