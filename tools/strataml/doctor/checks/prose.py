"""Unwritten card and datasheet sections (TFC-0004 R6, TFC-0005 R6).

The writers leave `_To be written._` where only a person can answer. Uncommitted, that is a
draft; committed, a warning here. On the version in production it is an error that the stage
evaluation promote shares reports (MOD009, registry.policy), so promote refuses it first."""

from __future__ import annotations

from collections.abc import Iterator

from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import DAT006, MOD008
from strataml.registry.cards import PLACEHOLDER, unwritten_sections
from strataml.safeopen import read_regular
from strataml.workspace import Artifact
from strataml.yamlio import MAX_BYTES

_PROSE = {"dataset": "datasheet.md", "model": "card.md"}
# A committed version is immutable (TFC-0005 R11): the answer goes into the next one.
_HINT = "write each section, or say why it does not apply, in the next version"


def check_unwritten(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    name = _PROSE.get(artifact.kind)
    if name is None or name not in ctx.scan(artifact).files:
        return
    if artifact.kind == "model" and _in_production(ctx, artifact):
        return  # the production policy's evaluation reports it, as an error (MOD009)
    path = f"{artifact.path}/{name}"
    try:
        text = read_regular(ctx.root / path, 16 * MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return
    unwritten = unwritten_sections(text)
    index = ctx.index
    if not unwritten or index is None or path not in index.blobs:
        return
    rule, what = (MOD008, "card") if artifact.kind == "model" else (DAT006, "datasheet")
    yield rule.at(
        path,
        f"{what} {_listed(unwritten)} still {PLACEHOLDER}",
        line=unwritten[0][1],
        hint=_HINT,
    )


def _listed(sections: list[tuple[str, int]]) -> str:
    names = ", ".join(repr(section) for section, _ in sections)
    return f"section {names} is" if len(sections) == 1 else f"sections {names} are"


def _in_production(ctx: Context, artifact: Artifact) -> bool:
    document = ctx.document(f"models/{artifact.name}/stages.yaml")
    data = document.data if document is not None and document.ok else None
    return isinstance(data, dict) and data.get("production") == artifact.version
