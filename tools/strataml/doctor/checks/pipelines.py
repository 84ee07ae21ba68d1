"""Pipeline specs and the runs of their stages (TFC-0002 R19, R20)."""

from __future__ import annotations

from collections.abc import Iterator

from strataml.doctor.checks.runinputs import mapping
from strataml.doctor.context import Context, within
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import LIN007, PIP001, PIP002, PIP003, PIP004, PIP005
from strataml.refs import is_run_id
from strataml.registry.pipelines import check_graph, find_pipelines, listed_output_hash
from strataml.workspace import Artifact

_GRAPH_RULES = {rule.code: rule for rule in (PIP001, PIP002, PIP003, PIP004)}
_RESTORE = "a sealed run never changes: restore both runs from Git, or run the pipeline again"


def check_pipelines(ctx: Context) -> Iterator[Diagnostic]:
    named: dict[str, str] = {}  # pipeline name -> the first file that took it
    for path in find_pipelines(ctx.root):
        document = ctx.document(path)
        if document is None or not document.ok or not isinstance(document.data, dict):
            continue  # SCH said why
        if ctx.schemas.validate("pipeline", document.data):
            continue  # SCH003 or LAY013 said why
        name = document.data["name"]
        first = named.setdefault(name, path)
        if not within(path, ctx.target):
            continue
        if first != path:  # their stages' runs would be one another's (<name>.<stage>)
            yield PIP005.at(path, f"pipeline name {name!r} is {first}'s too",
                            line=document.line_of(("name",)),
                            hint="give each pipeline its own name")  # fmt: skip
        _, problems = check_graph(ctx.root, path, document)
        for p in problems:
            yield _GRAPH_RULES[p.code].at(path, p.message, line=p.line, hint=p.hint)


def check_stage_upstream(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    """Run -> run lineage: each pinned upstream output is what the producing run sealed."""
    at = f"{artifact.path}/config.yaml"
    loaded = mapping(ctx, at) if artifact.kind == "run" else None
    if loaded is None:
        return
    document, config = loaded
    link = config.get("pipeline")
    upstream = link.get("upstream") if isinstance(link, dict) else None
    if not isinstance(upstream, dict):
        return
    for name, pin in sorted(upstream.items(), key=lambda item: str(item[0])):
        if (
            not isinstance(pin, dict)
            or not all(isinstance(pin.get(k), str) for k in ("run", "output", "content_hash"))
            or not is_run_id(pin["run"])
        ):
            continue  # SCH003 said why
        line = document.line_of(("pipeline", "upstream", name))
        listing = ctx.listing(f"runs/{pin['run']}")
        if isinstance(listing, OSError):
            yield LIN007.at(at, f"upstream {name}: run {pin['run']} is not a sealed run of this "
                            "repository", line=line, hint=_RESTORE)  # fmt: skip
            continue
        held = listed_output_hash(listing.digests(), pin["output"])
        if held != pin["content_hash"]:
            what = f"holds {held}" if held else "holds no such output"
            yield LIN007.at(at, f"upstream {name}: {pin['output']} of run {pin['run']} is pinned "
                            f"to {pin['content_hash']} but that run {what}", line=line,
                            hint=_RESTORE)  # fmt: skip
