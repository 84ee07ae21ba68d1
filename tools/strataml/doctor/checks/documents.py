"""YAML documents: parse, duplicate keys, schema, unsafe paths (TFC-0006 R3-R6, TFC-0001 R10);
experiment inputs that resolve (TFC-0002 R4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strataml.doctor.context import Context, within
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import LAY013, LIN006, SCH001, SCH002, SCH003, SCH004, SCH005
from strataml.errors import StrataError
from strataml.registry.pipelines import find_pipelines
from strataml.registry.resolve import ResolveError, resolve
from strataml.schemas import Schemas, SchemaViolation
from strataml.workspace import Artifact
from strataml.yamlio import ProblemKind

# Which schema governs which file of an artifact version.
ARTIFACT_DOCUMENTS: dict[str, dict[str, str]] = {
    "dataset": {"metadata.yaml": "dataset-metadata"},
    "model": {"metadata.yaml": "model-metadata", "metrics.yaml": "model-metrics"},
    "run": {
        "config.yaml": "run-config",
        "system.json": "run-system",
        "metrics.json": "run-metrics",
        "reproduction.json": "run-reproduction",  # only in a reproduction (TFC-0002 R12)
    },
}

_PROBLEM_RULES = {
    ProblemKind.SYNTAX: (SCH001, "fix the YAML syntax; quote strings holding ': ' or '#'"),
    ProblemKind.DUPLICATE_KEY: (SCH002, "remove one of the two; YAML keeps only the last silently"),
    ProblemKind.ENCODING: (SCH004, "save the file as UTF-8"),
    ProblemKind.TOO_COMPLEX: (
        SCH005,
        "metadata is small, flat data; drop anchors and deep nesting",
    ),
}


def check_document(ctx: Context, path: str, schema: str) -> Iterator[Diagnostic]:
    document = ctx.document(path)
    if document is None:
        return
    for problem in document.problems:
        rule, hint = _PROBLEM_RULES[problem.kind]
        yield rule.at(path, problem.message, line=problem.line, hint=hint)
    if not document.ok:
        return
    if document.data is None:
        yield SCH003.at(
            path,
            "document is empty; expected a mapping",
            line=1,
            hint=f"see schemas/{schema}.schema.json",
        )
        return
    violations = [
        (v, v.path, v.message, schema) for v in ctx.schemas.validate(schema, document.data)
    ]
    if schema == "run-config" and not violations:
        violations = list(_recorded_spec(ctx.schemas, document.data))
    for violation, where, message, governing in violations:
        line = document.line_of(where)
        if violation.unsafe_path:
            yield LAY013.at(
                path,
                message,
                line=line,
                hint="write a relative path with '/' that stays inside the artifact (no '..', no leading '/')",
            )
        else:
            yield SCH003.at(path, message, line=line, hint=f"see schemas/{governing}.schema.json")


def _recorded_spec(
    schemas: Schemas, config: dict[str, Any]
) -> Iterator[tuple[SchemaViolation, tuple[str | int, ...], str, str]]:
    """A run records the experiment spec it ran: it must be a valid spec (TFC-0003 R10)."""
    spec = config["experiment"].get("spec")
    if spec is None:
        return
    for v in schemas.validate("experiment", spec):
        prefix = "experiment.spec." if v.path else "experiment.spec: "
        yield v, ("experiment", "spec", *v.path), prefix + v.message, "experiment"


def check_artifact_documents(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    for name, schema in ARTIFACT_DOCUMENTS[artifact.kind].items():
        yield from check_document(ctx, f"{artifact.path}/{name}", schema)


def shared_documents(ctx: Context) -> Iterator[tuple[str, str]]:
    """Documents outside version directories: stage files, experiment and pipeline specs."""
    for name in sorted({a.name for a in ctx.layout.artifacts if a.kind == "model"}):
        yield f"models/{name}/stages.yaml", "stages"
    experiments = ctx.root / "experiments"
    if experiments.is_dir():
        for spec in sorted(experiments.iterdir()):
            if spec.suffix in {".yaml", ".yml"}:
                yield f"experiments/{spec.name}", "experiment"
    for path in find_pipelines(ctx.root):
        yield path, "pipeline"


def check_shared_documents(ctx: Context) -> Iterator[Diagnostic]:
    for path, schema in shared_documents(ctx):
        if within(path, ctx.target):
            yield from check_document(ctx, path, schema)


def check_experiment_inputs(ctx: Context) -> Iterator[Diagnostic]:
    """Each input of each experiment spec resolves now, as the next run would resolve it: a
    version that was removed, or a stage or alias left empty by a promotion, is found here
    rather than when someone runs the experiment (TFC-0002 R4)."""
    for path, schema in shared_documents(ctx):
        document = (
            ctx.document(path)
            if schema in {"experiment", "pipeline"} and within(path, ctx.target)
            else None
        )
        if document is None or not document.ok or not isinstance(document.data, dict):
            continue  # not a spec, or SCH says why
        for where, name, text in _spec_inputs(document.data, schema):
            try:
                resolve(text, root=ctx.root)
            except ResolveError as exc:
                if exc.problem == "malformed":
                    continue  # SCH003 says so
                why = exc.detail
                yield LIN006.at(
                    path, f"input {name}: {why}", line=document.line_of(where),
                    hint="name a version the registry holds, or restore the stage or alias it "
                    "names; runs already made keep what they pinned",
                )  # fmt: skip
            except StrataError:
                continue  # e.g. a stages.yaml that does not parse: its own checks say so


def _spec_inputs(data: dict[str, Any], schema: str) -> Iterator[tuple[tuple[str, ...], str, str]]:
    """(where, name, reference) of each artifact input an experiment or pipeline spec names; a
    pipeline stage's input is named `<stage>.<input>` (TFC-0002 R18)."""
    holders: list[tuple[tuple[str, ...], str, dict[str, Any]]] = [((), "", data)]
    if schema == "pipeline" and isinstance(stages := data.get("stages"), dict):
        holders = [
            (("stages", n), f"{n}.", s)
            for n, s in sorted(stages.items(), key=lambda item: str(item[0]))
            if isinstance(n, str) and isinstance(s, dict)
        ]
    for at, prefix, holder in holders:
        inputs = holder.get("inputs")
        listed = (
            sorted(inputs.items(), key=lambda item: str(item[0]))
            if isinstance(inputs, dict)
            else []
        )
        for name, text in listed:
            if isinstance(name, str) and isinstance(
                text, str
            ):  # else SCH003, or another stage's output or a file
                yield (*at, "inputs", name), prefix + name, text
