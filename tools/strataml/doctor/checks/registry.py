"""Stages, cards and promotion policy (TFC-0004 R7, TFC-0005 R6-R10); lineage is in lineage.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from strataml.doctor.checks.artifacts import metadata
from strataml.doctor.checks.stagehistory import Committed, StageHistory, committed_stages
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import (
    MOD005,
    MOD009,
    POL001,
    POL002,
    STG001,
    STG002,
    STG003,
    STG004,
    STG005,
    STG006,
    STG007,
)
from strataml.jsonio import as_list, as_mapping
from strataml.registry.cards import parse_card
from strataml.registry.policy import evaluate, model_policy
from strataml.registry.stagestate import TRANSITIONS, Stages, is_reserved_alias
from strataml.safeopen import read_regular
from strataml.workspace import Artifact
from strataml.yamlio import MAX_BYTES, YamlDocument

# --- model cards --------------------------------------------------------------------------------


def check_card(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    """The card's front matter agrees with metadata.yaml (TFC-0005 R6)."""
    if artifact.kind != "model" or "card.md" not in ctx.scan(artifact).files:
        return
    loaded = metadata(ctx, artifact)
    if loaded is None:
        return
    path = f"{artifact.path}/card.md"
    try:
        text = read_regular(ctx.root / path, 16 * MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return
    card = parse_card(text)
    if card.problem is not None:
        yield MOD005.at(
            path,
            f"card front matter does not parse: {card.problem[1]}",
            line=card.problem[0],
            hint="fix the YAML between the --- lines",
        )
        return
    if card.front_matter is None:
        yield MOD005.at(
            path,
            "card has no YAML front matter",
            line=1,
            hint="start it with ---, the Hugging Face metadata, ---",
        )
        return
    data = loaded[1]
    expected_license = str(data.get("license", "")).lower()
    actual = card.front_matter.get("license")
    if expected_license and str(actual).lower() != expected_license:
        yield MOD005.at(
            path,
            f"front matter license is {actual!r} but metadata.yaml says {data.get('license')!r}",
            line=_front_line(text, "license"),
            hint="make them agree",
        )
    training = as_mapping(data.get("training"))
    wanted = sorted(str(r).split("#", 1)[0] for r in as_list(training.get("datasets")))
    listed = card.front_matter.get("datasets") or []
    if isinstance(listed, list) and sorted(str(x) for x in listed) != wanted:
        yield MOD005.at(
            path,
            f"front matter datasets {sorted(str(x) for x in listed)} differ from the training datasets {wanted}",
            line=_front_line(text, "datasets"),
            hint="list the training datasets, unpinned",
        )


def _front_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines()[:200], start=1):
        if line.startswith(f"{key}:"):
            return number
    return None


# --- stages -------------------------------------------------------------------------------------


def _stage_documents(ctx: Context) -> Iterator[tuple[str, str, YamlDocument, dict[str, Any]]]:
    for name in sorted(
        {a.name for a in ctx.layout.artifacts if a.kind == "model"} | _stage_files(ctx)
    ):
        path = f"models/{name}/stages.yaml"
        if not ctx.selected(path):
            continue
        document = ctx.document(path)
        if document is not None and document.ok and isinstance(document.data, dict):
            yield name, path, document, document.data


def _stage_files(ctx: Context) -> set[str]:
    models = ctx.root / "models"
    if not models.is_dir():
        return set()
    return {p.parent.name for p in models.glob("*/stages.yaml")}


def check_stages_kept(ctx: Context) -> Iterator[Diagnostic]:
    """A committed stages.yaml that is gone took its whole history with it (TFC-0005 R8)."""
    committed: dict[str, Committed] | None = None
    for name in sorted({a.name for a in ctx.layout.artifacts if a.kind == "model"}):
        path = f"models/{name}/stages.yaml"
        if not ctx.selected(path) or os.path.lexists(ctx.root / path):
            continue
        committed = committed_stages(ctx) if committed is None else committed
        known = committed.get(path)
        if known is None:
            continue  # never committed: no history to lose (promote writes it)
        if known.head is not None:
            where, restore = "the working tree", f"git checkout -- {path}"
        elif known.deleted is not None:
            where = f"commit {known.deleted[:12]}"
            restore = f"git checkout {known.deleted[:12]}~1 -- {path}"
        else:
            continue
        yield STG006.at(
            path,
            f"deleted in {where}: the stage history of {name} committed before is gone",
            hint=f"history is append-only; restore it ({restore}) and record changes with "
            "`strata model promote`",
        )


# Violation kind -> (rule, hint when not "meet the policy"); metric thresholds are POL002.
_POLICY_RULES = {
    "card-section": (POL001, None),
    "unwritten": (MOD009, "write each section, or say why it does not apply, in the next version"),
}


def check_stages(ctx: Context) -> Iterator[Diagnostic]:
    kept = StageHistory(ctx)
    versions: dict[str, set[str | None]] = {}  # one pass over the layout, not one per model
    for artifact in ctx.layout.artifacts:
        if artifact.kind == "model":
            versions.setdefault(artifact.name, set()).add(artifact.version)
    for name, path, document, data in _stage_documents(ctx):
        present = versions.get(name, set())
        holders: dict[str, list[str]] = {}
        for stage in ("production", "staging"):
            value = data.get(stage)
            if isinstance(value, list):
                yield STG001.at(
                    path,
                    f"{stage} names {len(value)} versions ({', '.join(map(str, value))}); a model has at most one",
                    line=document.line_of((stage,)),
                    hint=f"keep one; `strata model promote NAME VERSION --to {stage}` archives the other",
                )
                values = value
            else:
                values = [value] if value is not None else []
            for version in values:
                if isinstance(version, str):
                    holders.setdefault(version, []).append(stage)
        archived = data.get("archived")
        for version in archived if isinstance(archived, list) else []:
            if isinstance(version, str):
                holders.setdefault(version, []).append("archived")
        aliases = as_mapping(data.get("aliases"))
        named: list[tuple[str, tuple[str, ...]]] = [
            (v, (s,)) for v, ss in holders.items() for s in ss
        ] + [(v, ("aliases", a)) for a, v in aliases.items() if isinstance(v, str)]
        for version, key in named:
            if version not in present:
                yield STG002.at(
                    path,
                    f"{key[-1]} names {version}, which does not exist in models/{name}/",
                    line=document.line_of(key),
                    hint="restore the version, or remove it from stages.yaml",
                )
        for version, stages in sorted(holders.items()):
            if len(stages) > 1:
                yield STG003.at(
                    path,
                    f"{version} is in {' and '.join(stages)} at once",
                    line=document.line_of((stages[1],)),
                    hint="a version holds one stage; use `strata model promote`",
                )
        for alias in sorted(a for a in aliases if is_reserved_alias(a)):
            yield STG007.at(
                path,
                f"alias {alias!r} is a reserved name",
                line=document.line_of(("aliases", alias)),
                hint="choose another alias name",
            )
        yield from _check_history(path, document, data)
        yield from kept.check(path, data)
        for stage, policy in model_policy(ctx.config.promotion_policy, name).items():
            version = data.get(stage)
            if isinstance(version, str) and version in present:
                for violation in evaluate(ctx.root, name, version, policy):
                    rule, hint = _POLICY_RULES.get(violation.kind, (POL002, None))
                    yield rule.at(
                        violation.path,
                        f"{stage} version: {violation.message}",
                        hint=hint or f"meet {policy.source}, or move {version} out of {stage}",
                    )


def _check_history(path: str, document: YamlDocument, data: dict[str, Any]) -> Iterator[Diagnostic]:
    history = data.get("history")
    if not isinstance(history, list):
        return
    replay = Stages()
    for index, entry in enumerate(history):
        if not isinstance(entry, dict):
            return
        version, frm, to = entry.get("version"), entry.get("from"), entry.get("to")
        if not all(isinstance(x, str) for x in (version, frm, to)):
            return
        assert isinstance(version, str) and isinstance(to, str)
        actual = replay.stage_of(version)
        if frm != actual:
            yield STG005.at(
                path,
                f"history entry {index + 1}: {version} moves from {frm}, but it was {actual} then",
                line=document.line_of(("history", index)),
                hint="history is written by `strata model promote`; restore it from Git",
            )
        elif (frm, to) not in TRANSITIONS:
            yield STG005.at(
                path,
                f"history entry {index + 1}: {frm} -> {to} is not an allowed transition (TFC-0005 R9)",
                line=document.line_of(("history", index)),
                hint="restore stages.yaml from Git",
            )
        replay.move(version, to)
    for stage in ("production", "staging", "archived"):
        have, want = data.get(stage), getattr(replay, stage)
        if stage == "archived":
            if not isinstance(have, list):
                continue
            have, want = sorted(str(v) for v in have), sorted(want)
        elif isinstance(have, list):
            continue  # STG001 reports it
        if want != have:
            yield STG004.at(
                path,
                f"{stage} is {_shown(have)} but the history replays to {_shown(want)}",
                line=document.line_of((stage,)),
                hint="change stages only with `strata model promote`, which writes both",
            )


def _shown(value: object) -> str:
    """A stage value as YAML writes it: null, v1, [v1, v2]."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)
