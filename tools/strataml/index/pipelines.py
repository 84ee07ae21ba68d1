"""index.json's pipelines (TFC-0007 R2): each spec's stages as `strata status` judges them
(runner/status.py, TFC-0002 R21), laid out in layers, and the edges between them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strataml.errors import StrataError
from strataml.registry.pipelines import (
    FileInput,
    Pipeline,
    StageOutput,
    find_pipelines,
    load_pipeline,
)
from strataml.runner.status import PipelineStatus, pipeline_status, stage_runs


def catalogue_pipelines(
    root: Path, problems: list[dict[str, str]], entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every pipelines/*.yaml that loads; one that does not is a problem. The stage runs are
    read once, through the run cache, for all of them: among the catalogue's sealed runs of an
    experiment named like a stage's (`<pipeline>.<stage>`), so no second pass over every run."""
    paths = find_pipelines(root)
    among = [e["id"] for e in entries if e["sealed"] and "." in (e["experiment"] or "")]
    runs = stage_runs(root, among) if paths else {}
    found = []
    for path in paths:
        try:
            pipeline = load_pipeline(root, root / path)
            status = pipeline_status(root, pipeline, runs)
        except StrataError as exc:
            problems.append({"path": path, "message": str(exc)})
            continue
        found.append(_entry(pipeline, status))
    return found


def _entry(pipeline: Pipeline, status: PipelineStatus) -> dict[str, Any]:
    layer: dict[str, int] = {}
    for name in pipeline.order:  # dependency order: a stage's upstream is placed before it
        upstream = pipeline.stages[name].upstream
        layer[name] = 1 + max((layer[u] for u in upstream), default=-1)
    stages, edges = [], []
    for judged in status.stages:
        stage = pipeline.stages[judged.stage]
        inputs = []
        for name, value in sorted(stage.inputs.items()):
            if isinstance(value, StageOutput):
                inputs.append(
                    {"name": name, "kind": "stage", "source": f"{value.stage}:{value.output}"}
                )
                edges.append({"source": value.stage, "target": stage.name, "input": name,
                              "output": value.output})  # fmt: skip
            elif isinstance(value, FileInput):
                inputs.append({"name": name, "kind": "file", "source": value.file})
            else:
                inputs.append({"name": name, "kind": "reference", "source": str(value)})
        document = judged.document()  # what `strata status --format json` says of it
        stages.append({
            "name": stage.name, "state": document["state"], "run": document["run"],
            "reasons": document["reasons"], "layer": layer[stage.name], "inputs": inputs,
            "outputs": list(stage.outputs),
        })  # fmt: skip
    edges.sort(key=lambda e: (e["source"], e["target"], e["input"]))
    return {"name": pipeline.name, "path": pipeline.path, "stages": stages, "edges": edges}
