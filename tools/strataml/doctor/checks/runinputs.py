"""A run's recorded inputs still resolve, and what was asked fits what was pinned (TFC-0003 R11)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import RUN010, RUN011, RUN018
from strataml.integrity.digest import shown
from strataml.refs import ArtifactRef, Reference
from strataml.workspace import Artifact
from strataml.yamlio import YamlDocument

CONFIG = "config.yaml"


def mapping(ctx: Context, path: str) -> tuple[YamlDocument, dict[str, Any]] | None:
    document = ctx.document(path)
    if document is None or not document.ok or not isinstance(document.data, dict):
        return None
    return document, document.data


def check_inputs(
    ctx: Context, artifact: Artifact, loaded: tuple[YamlDocument, dict[str, Any]]
) -> Iterator[Diagnostic]:
    document, config = loaded
    inputs = config.get("inputs")
    if not isinstance(inputs, dict):
        return
    at = f"{artifact.path}/{CONFIG}"
    for name, entry in sorted(inputs.items(), key=lambda item: str(item[0])):
        text = entry.get("ref") if isinstance(entry, dict) else None
        try:
            ref = ArtifactRef.parse(text) if isinstance(text, str) else None
        except ValueError:
            ref = None
        if ref is None or ref.pin is None:
            continue  # the schema check reports it
        where = f"{ref.kind}/{ref.name}@{ref.version}"
        yield from _check_request(at, document, name, entry, ref)
        directory = ctx.root / ref.path
        if directory.is_symlink() or not directory.is_dir():
            yield RUN010.at(
                at,
                f"input {name}: {where} no longer exists (no directory {ref.path})",
                line=document.line_of(("inputs", name, "ref")),
                hint="restore that version; a run's inputs are kept as long as the run is",
            )
            continue
        recorded = entry.get("content_hash")
        if isinstance(recorded, str) and recorded != ref.pin:  # the same fact, recorded twice
            yield RUN011.at(
                at,
                f"input {name}: content_hash {shown(recorded)} differs from the pin of its ref "
                f"({shown(ref.pin)})",
                line=document.line_of(("inputs", name, "content_hash")),
                hint="a finished run never changes (TFC-0003 R7); restore config.yaml from Git",
            )
        metadata = mapping(ctx, f"{ref.path}/metadata.yaml")
        current = metadata[1].get("content_hash") if metadata else None
        if isinstance(current, str) and current != ref.pin:
            yield RUN011.at(
                at,
                f"input {name}: {where} was pinned to {shown(ref.pin)} but now holds "
                f"{shown(current)}",
                line=document.line_of(("inputs", name, "ref")),
                hint=f"versions are immutable: restore {ref.path} from Git, and publish "
                "changed data as a new version",
            )


def _check_request(
    at: str, document: YamlDocument, name: str, entry: dict[str, Any], ref: ArtifactRef
) -> Iterator[Diagnostic]:
    """A moving reference is recorded with what it resolved to; the two must fit (TFC-0003 R11)."""
    text = entry.get("requested")
    try:
        asked = Reference.parse(text) if isinstance(text, str) else None
    except ValueError:
        asked = None  # the schema check reports it
    if asked is None:
        return
    if not asked.can_name(ref):
        yield RUN018.at(
            at,
            f"input {name}: asked for {asked} but records {ref.kind}/{ref.name}@{ref.version} "
            f"({shown(ref.pin or '')}), which it cannot name",
            line=document.line_of(("inputs", name, "requested")),
            hint="a finished run never changes (TFC-0003 R7); restore config.yaml from Git",
        )
