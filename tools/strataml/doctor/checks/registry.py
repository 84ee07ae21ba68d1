"""Stages, lineage, cards and promotion policy (TFC-0004 R7, TFC-0005 R4-R10)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from strataml.digest import shown
from strataml.doctor.checks.artifacts import metadata
from strataml.doctor.checks.stagehistory import Committed, StageHistory, committed_stages
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import (
    LIN001,
    LIN002,
    LIN003,
    LIN004,
    LIN005,
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
from strataml.refs import ArtifactRef, is_run_id
from strataml.registry.cards import parse_card
from strataml.registry.policy import evaluate, load_policy
from strataml.registry.stagestate import RESERVED_ALIASES, TRANSITIONS, Stages
from strataml.safeopen import read_regular
from strataml.workspace import Artifact
from strataml.yamlio import MAX_BYTES, YamlDocument


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:  # a wrong type is the schema check's finding (SCH003)
    return value if isinstance(value, list) else []


# --- lineage ------------------------------------------------------------------------------------


def _references(
    data: dict[str, Any], kind: str
) -> Iterator[tuple[tuple[str | int, ...], object, str]]:
    """(key path, reference text, what it is) for every artifact reference in a metadata file."""
    if kind == "dataset":
        provenance = _dict(data.get("provenance"))
        for i, ref in enumerate(_list(provenance.get("derived_from"))):
            yield ("provenance", "derived_from", i), ref, "derived_from"
    else:
        training = _dict(data.get("training"))
        for i, ref in enumerate(_list(training.get("datasets"))):
            yield ("training", "datasets", i), ref, "training dataset"
        lineage = _dict(data.get("lineage"))
        for i, parent in enumerate(_list(lineage.get("parents"))):
            if isinstance(parent, dict):
                yield ("lineage", "parents", i, "ref"), parent.get("ref"), "parent"


def _runs_of(data: dict[str, Any], kind: str) -> Iterator[tuple[tuple[str, ...], object]]:
    if kind == "dataset":
        provenance = _dict(data.get("provenance"))
        yield ("provenance", "generated_by"), provenance.get("generated_by")
    else:
        training = _dict(data.get("training"))
        yield ("training", "run"), training.get("run")


def _current_hash(ctx: Context, ref: ArtifactRef) -> str | None:
    document = ctx.document(f"{ref.path}/metadata.yaml")
    data = document.data if document is not None and document.ok else None
    value = data.get("content_hash") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _resolve(ctx: Context, text: object) -> tuple[ArtifactRef | None, str | None]:
    """(reference, problem) for a reference text; (None, None) when the schema reports it."""
    if not isinstance(text, str):
        return None, None
    try:
        ref = ArtifactRef.parse(text)
    except ValueError:
        return None, None
    directory = ctx.root / ref.path
    if directory.is_symlink() or not directory.is_dir():
        return ref, f"{ref.kind}/{ref.name}@{ref.version} does not exist"
    return ref, None


def check_lineage(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    if artifact.kind not in ("dataset", "model"):
        return
    loaded = metadata(ctx, artifact)
    if loaded is None:
        return
    document, data = loaded
    at = f"{artifact.path}/metadata.yaml"
    for key, text, role in _references(data, artifact.kind):
        ref, missing = _resolve(ctx, text)
        if ref is None:
            continue
        if missing:
            yield LIN001.at(
                at,
                f"{role} {missing}",
                line=document.line_of(key),
                hint="restore that version, or fix the reference",
            )
            continue
        current = _current_hash(ctx, ref)
        if ref.pin is not None and current is not None and current != ref.pin:
            yield LIN002.at(
                at,
                f"{role} {ref.kind}/{ref.name}@{ref.version} is pinned to {shown(ref.pin)} but now holds {shown(current)}",
                line=document.line_of(key),
                hint=f"versions are immutable: restore {ref.path} from Git",
            )
    for key, run_id in _runs_of(data, artifact.kind):
        if not isinstance(run_id, str) or not is_run_id(run_id):
            continue
        run_dir = ctx.root / "runs" / run_id
        if not run_dir.is_dir() or run_dir.is_symlink():
            yield LIN001.at(
                at,
                f"run {run_id} does not exist",
                line=document.line_of(key),
                hint="restore runs/" + run_id,
            )
            continue
        system = ctx.document(f"runs/{run_id}/system.json")
        status = (
            system.data.get("status")
            if system and system.ok and isinstance(system.data, dict)
            else None
        )
        if status != "succeeded":
            yield LIN004.at(
                at,
                f"run {run_id} is {status or 'unreadable'}, not succeeded",
                line=document.line_of(key),
                hint="only a succeeded run can produce a dataset or model version",
            )
    if artifact.kind == "model":
        yield from _check_metrics_refs(ctx, artifact)


def _check_metrics_refs(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    path = f"{artifact.path}/metrics.yaml"
    document = ctx.document(path)
    if document is None or not document.ok or not isinstance(document.data, dict):
        return
    entries = document.data.get("metrics")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        ref, missing = _resolve(ctx, entry.get("dataset"))
        if ref is None:
            continue
        if missing:
            yield LIN001.at(
                path,
                f"metric {entry.get('name')!r}: dataset {missing}",
                line=document.line_of(("metrics", index, "dataset")),
                hint="fix the reference",
            )
            continue
        splits_doc = ctx.document(f"{ref.path}/metadata.yaml")
        splits = (
            splits_doc.data.get("splits")
            if splits_doc and splits_doc.ok and isinstance(splits_doc.data, dict)
            else None
        )
        split = entry.get("split")
        if isinstance(splits, dict) and isinstance(split, str) and split not in splits:
            yield LIN005.at(
                path,
                f"metric {entry.get('name')!r}: {ref.kind}/{ref.name}@{ref.version} has no split {split!r} (it has {', '.join(sorted(splits))})",
                line=document.line_of(("metrics", index, "split")),
                hint="name a split the dataset version declares",
            )


def check_lineage_cycles(ctx: Context) -> Iterator[Diagnostic]:
    """derived_from among datasets and parents among models must not loop (TFC-0004 R7, TFC-0005 R5)."""
    edges: dict[str, list[str]] = {}
    lines: dict[str, tuple[str, YamlDocument, tuple[str | int, ...]]] = {}
    for artifact in ctx.layout.artifacts:
        if artifact.kind not in ("dataset", "model"):
            continue
        loaded = metadata(ctx, artifact)
        if loaded is None:
            continue
        document, data = loaded
        key = f"{artifact.kind}s/{artifact.name}@{artifact.version}"
        for path, text, role in _references(data, artifact.kind):
            if role == "training dataset" or not isinstance(text, str):
                continue
            target = text.split("#", 1)[0]
            edges.setdefault(key, []).append(target)
            lines.setdefault(key, (f"{artifact.path}/metadata.yaml", document, path))
    for cycle in _cycles(edges):
        head = cycle[0]
        at, document, path = lines[head]
        if not ctx.selected(at):
            continue
        yield LIN003.at(
            at,
            "lineage cycle: " + _cycle_text(cycle),
            line=document.line_of(path),
            hint="a version cannot descend from itself; fix the parent references",
        )


def _cycle_text(cycle: list[str], shown: int = 6) -> str:
    """`a -> b -> a`; a long cycle keeps its ends and says how many it leaves out, so that the
    message stays one readable line whatever the chain's length."""
    nodes = [*cycle, cycle[0]]
    if len(nodes) > 2 * shown:
        nodes = [*nodes[:shown], f"({len(nodes) - 2 * shown + 1} more)", *nodes[-shown + 1 :]]
    return " -> ".join(nodes)


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that holds one, each from its smallest node,
    sorted: one linear pass (Tarjan's algorithm), with explicit stacks, so that a lineage chain
    of any length costs neither recursion nor a walk per node (EXAMPLES E7)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges.get(target, ()))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                head = min(component)
                if len(component) > 1 or head in edges.get(head, ()):
                    found.append(_cycle_within(head, edges, component))
    return sorted(found)


def _cycle_within(head: str, edges: dict[str, list[str]], members: set[str]) -> list[str]:
    """A path from `head` back to it inside its component (one exists), edges in order."""
    path, seen = [head], {head}
    work = [iter(edges.get(head, ()))]
    while work:
        target = next(work[-1], None)
        if target is None:
            work.pop()
            path.pop()
        elif target == head:
            return path
        elif target in members and target not in seen:
            seen.add(target)
            path.append(target)
            work.append(iter(edges.get(target, ())))
    raise AssertionError(f"{head} is in a strongly connected component but on no cycle")


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
    training = _dict(data.get("training"))
    wanted = sorted(str(r).split("#", 1)[0] for r in _list(training.get("datasets")))
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
        aliases = _dict(data.get("aliases"))
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
        for alias in sorted(a for a in aliases if a in RESERVED_ALIASES):
            yield STG007.at(
                path,
                f"alias {alias!r} is a reserved name",
                line=document.line_of(("aliases", alias)),
                hint="choose another alias name",
            )
        yield from _check_history(path, document, data)
        yield from kept.check(path, data)
        for stage, policy in load_policy(ctx.config.policy, name).items():
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
