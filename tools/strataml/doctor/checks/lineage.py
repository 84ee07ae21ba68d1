"""Lineage: references resolve and match their pins, and no version descends from itself
(TFC-0005 R4, R5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strataml.doctor.checks.artifacts import metadata
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import (
    LIN001,
    LIN002,
    LIN003,
    LIN004,
    LIN005,
    LIN008,
)
from strataml.integrity.digest import shown
from strataml.jsonio import as_list, as_mapping
from strataml.refs import ArtifactRef, is_run_id
from strataml.workspace import Artifact
from strataml.yamlio import YamlDocument


def _references(
    data: dict[str, Any], kind: str
) -> Iterator[tuple[tuple[str | int, ...], object, str]]:
    """(key path, reference text, what it is) for every artifact reference in a metadata file."""
    if kind == "dataset":
        provenance = as_mapping(data.get("provenance"))
        for i, ref in enumerate(as_list(provenance.get("derived_from"))):
            yield ("provenance", "derived_from", i), ref, "derived_from"
    else:
        training = as_mapping(data.get("training"))
        for i, ref in enumerate(as_list(training.get("datasets"))):
            yield ("training", "datasets", i), ref, "training dataset"
        lineage = as_mapping(data.get("lineage"))
        for i, parent in enumerate(as_list(lineage.get("parents"))):
            if isinstance(parent, dict):
                yield ("lineage", "parents", i, "ref"), parent.get("ref"), "parent"


def _runs_of(data: dict[str, Any], kind: str) -> Iterator[tuple[tuple[str, ...], object]]:
    if kind == "dataset":
        provenance = as_mapping(data.get("provenance"))
        yield ("provenance", "generated_by"), provenance.get("generated_by")
    else:
        training = as_mapping(data.get("training"))
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
        yield from _check_stage_claim(ctx, at, document, data, key, run_id)
    if artifact.kind == "model":
        yield from _check_metrics_refs(ctx, artifact)


def _check_stage_claim(
    ctx: Context, path: str, document: YamlDocument, data: dict[str, Any],
    key: tuple[str, ...], run_id: str,
) -> Iterator[Diagnostic]:  # fmt: skip
    """A `stage` next to the producing run (TFC-0004 R12, TFC-0005 R17) is what that run's
    config.yaml says it executed."""
    at = (*key[:-1], "stage")
    claim = as_mapping(data.get(at[0])).get("stage")
    if not isinstance(claim, dict):
        return  # absent; a wrong shape is the schema's finding
    config = ctx.document(f"runs/{run_id}/config.yaml")
    recorded = config.data if config is not None and config.ok else None
    link = as_mapping(as_mapping(recorded).get("pipeline"))
    did = (link.get("path"), link.get("stage"))
    said = (claim.get("pipeline"), claim.get("stage"))
    if did != said:
        executed = f"executed {did[0]}:{did[1]}" if link else "executed no pipeline stage"
        yield LIN008.at(
            path,
            f"names stage {said[0]}:{said[1]}, but run {run_id} {executed}",
            line=document.line_of(at),
            hint="take the version from that stage's run (`--from-stage PIPELINE:STAGE`), "
            "or drop the stage claim",
        )


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
