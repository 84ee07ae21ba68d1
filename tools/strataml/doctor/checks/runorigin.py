"""A run started from Python names its script or notebook three times; they agree (TFC-0003 R17)."""

from __future__ import annotations

from collections.abc import Iterator

from strataml.doctor.checks.runinputs import mapping
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import RUN031
from strataml.workspace import Artifact

# How tools/run.py --reproduce runs each kind of file again.
_RERUN = {"script": ("python",), "notebook": ("jupyter", "execute")}
_HINT = "config.yaml is written by start_run only; restore it from Git"


def check_run_origin(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    at = f"{artifact.path}/config.yaml"
    loaded = mapping(ctx, at) if artifact.kind == "run" else None
    if loaded is None:
        return
    document, config = loaded
    origin, experiment = config.get("started_from"), config.get("experiment")
    if not isinstance(origin, dict) or not isinstance(experiment, dict):
        return
    path, kind = origin.get("path"), origin.get("kind")
    if kind not in _RERUN or not isinstance(path, str):
        return  # the schema check reports it
    if (kind == "notebook") != path.endswith(".ipynb"):
        shape = "not a notebook" if kind == "notebook" else "a notebook"
        yield RUN031.at(at, f"started_from.kind is {kind} but {path} is {shape} (.ipynb)",
                        line=document.line_of(("started_from", "kind")), hint=_HINT)  # fmt: skip
    if experiment.get("path") != path:
        yield RUN031.at(at, f"experiment.path is {experiment.get('path')!r} but the run started "
                        f"from {path}", line=document.line_of(("experiment", "path")),
                        hint=_HINT)  # fmt: skip
    spec = experiment.get("spec")
    command = spec.get("command") if isinstance(spec, dict) else None
    if command != [*_RERUN[kind], path]:
        yield RUN031.at(at, f"experiment.spec.command is {command!r}, not how a {kind} is run "
                        f"again: {[*_RERUN[kind], path]!r}",
                        line=document.line_of(("experiment", "spec", "command")),
                        hint=_HINT)  # fmt: skip
