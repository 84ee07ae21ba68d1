"""Dataset and model structure (TFC-0004 R1-R6, TFC-0005 R1-R3)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic, Rule
from strataml.doctor.rules import (
    DAT001,
    DAT002,
    DAT003,
    DAT004,
    DAT005,
    LFS004,
    MOD001,
    MOD002,
    MOD003,
    MOD004,
)
from strataml.lfs import Pointer
from strataml.schemas import is_safe_relative_path
from strataml.workspace import Artifact
from strataml.yamlio import YamlDocument

METADATA = "metadata.yaml"
# kind -> (metadata missing, name mismatch, version mismatch)
_IDENTITY_RULES: dict[str, tuple[Rule, Rule, Rule]] = {
    "dataset": (DAT001, DAT002, DAT003),
    "model": (MOD001, MOD002, MOD003),
}


def metadata(ctx: Context, artifact: Artifact) -> tuple[YamlDocument, dict[str, Any]] | None:
    """The artifact's metadata mapping, when it parsed."""
    document = ctx.document(f"{artifact.path}/{METADATA}")
    if document is None or not document.ok or not isinstance(document.data, dict):
        return None
    return document, document.data


def check_identity(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    if artifact.kind not in _IDENTITY_RULES:
        return
    missing, name_rule, version_rule = _IDENTITY_RULES[artifact.kind]
    path = f"{artifact.path}/{METADATA}"
    if not (ctx.root / path).is_file():
        yield missing.at(
            path,
            f"{artifact.kind} version has no {METADATA}",
            hint=f"write one (schemas/{artifact.kind}-metadata.schema.json)",
        )
        return
    loaded = metadata(ctx, artifact)
    if loaded is None:
        return
    document, data = loaded
    for key, rule, expected in (
        ("name", name_rule, artifact.name),
        ("version", version_rule, artifact.version),
    ):
        value = data.get(key)
        if isinstance(value, str) and value != expected:
            yield rule.at(
                path,
                f"{key} is {value!r} but the directory says {expected!r}",
                line=document.line_of((key,)),
                hint=f"set {key}: {expected}, or move the directory",
            )


def check_dataset(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    if artifact.kind != "dataset":
        return
    if not (ctx.root / artifact.path / "datasheet.md").is_file():
        yield DAT005.at(
            artifact.path,
            "no datasheet.md",
            hint="describe motivation, composition, collection, uses (Gebru et al.)",
        )
    loaded = metadata(ctx, artifact)
    splits = loaded[1].get("splits") if loaded else None
    if not loaded or not isinstance(splits, dict):
        return
    document = loaded[0]
    files = ctx.scan(artifact).files
    names = list(files)  # in path order: a directory's files are one run of them
    for split, spec in splits.items():
        if (
            not isinstance(spec, dict)
            or not isinstance(spec.get("path"), str)
            or not is_safe_relative_path(spec["path"])
        ):
            continue  # the schema check reports it
        where = spec["path"].rstrip("/")
        inside = names[bisect_left(names, where + "/") : bisect_left(names, where + "0")]
        members = {p: files[p] for p in ([where] if where in files else []) + inside}
        at = f"{artifact.path}/{METADATA}"
        if not members:
            yield DAT004.at(
                at,
                f"split {split!r}: {where} does not exist or holds no files",
                line=document.line_of(("splits", split)),
                hint="fix the path, or add the files",
            )
            continue
        pointers = ctx.pointers(artifact)
        if pointers:
            logical = sum(ctx.logical_size(artifact, p) for p in members)
            via_lfs = any(isinstance(pointers.get(p), Pointer) for p in members)
        else:  # no LFS pointer anywhere in the version: sizes are what the scan saw
            logical, via_lfs = sum(members.values()), False
        for key, actual in (("files", len(members)), ("bytes", logical)):
            declared = spec.get(key)
            if isinstance(declared, int) and not isinstance(declared, bool) and declared != actual:
                rule = LFS004 if key == "bytes" and via_lfs else DAT004
                yield rule.at(
                    at,
                    f"split {split!r}: {key} is {declared} but {where} has {actual}"
                    + (" by the sizes its LFS pointers state" if rule is LFS004 else ""),
                    line=document.line_of(("splits", split, key)),
                    hint="the pointers name other content than the metadata describes; restore them from Git"
                    if rule is LFS004
                    else "update the metadata (strata dataset add writes it)",
                )


def check_model(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    if artifact.kind != "model":
        return
    files = ctx.scan(artifact).files
    for name in ("card.md", "metrics.yaml"):
        if name not in files:
            yield MOD004.at(
                f"{artifact.path}/{name}",
                f"model version has no {name}",
                hint="every model version carries a card and its metrics",
            )
    loaded = metadata(ctx, artifact)
    entries = loaded[1].get("artifacts") if loaded else None
    if not loaded or not isinstance(entries, list):
        return
    for index, entry in enumerate(entries):
        path = entry.get("path") if isinstance(entry, dict) else None
        if isinstance(path, str) and is_safe_relative_path(path) and path not in files:
            yield MOD004.at(
                f"{artifact.path}/{METADATA}",
                f"declared artifact {path} does not exist",
                line=loaded[0].line_of(("artifacts", index, "path")),
                hint="add the file or fix the path",
            )
