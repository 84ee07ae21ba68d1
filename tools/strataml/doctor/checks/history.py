"""Immutability proven from Git history: committed versions never change (TFC-0004 R8, TFC-0005 R11)."""

from __future__ import annotations

from collections.abc import Iterator

from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import IMM001, IMM002
from strataml.gitrepo import artifact_changes

TREES = ("datasets", "models", "runs")
# May be added or extended after the version is committed (TFC-0008 R7).
_MAY_CHANGE = frozenset({"SIGNATURE.asc"})
_STATUS = {"A": "added", "M": "modified", "D": "deleted", "T": "changed type of", "?": "added"}


def _owner(ctx: Context, path: str) -> str | None:
    """The artifact directory (present now) that `path` lies in, if any."""
    for artifact in ctx.layout.artifacts:
        if artifact.contains(path) and path != artifact.path:
            return artifact.path
    return None


def check_immutability(ctx: Context) -> Iterator[Diagnostic]:
    if not ctx.artifacts:
        return
    changes = artifact_changes(ctx.root, TREES)
    if changes is None:  # not a Git work tree: nothing to prove it with
        return
    introduced: dict[str, str] = {}  # artifact -> commit that first brought it
    reported: set[str] = set()
    for change in changes:
        owner = _owner(ctx, change.path)
        if owner is None or not ctx.selected(owner):
            continue
        first = introduced.setdefault(owner, change.commit)
        name = change.path[len(owner) + 1 :]
        if change.commit == first or name in _MAY_CHANGE or owner in reported:
            continue
        reported.add(owner)
        yield IMM001.at(
            change.path,
            f"{_STATUS.get(change.status, 'changed')} by commit {change.commit[:12]}, after "
            f"{owner} was committed in {first[:12]}",
            hint="a committed version never changes: revert that commit's change to it and "
            "publish the new content as a new version",
        )
    for status, path in ctx.uncommitted() or []:
        owner = _owner(ctx, path)
        if owner is None or owner not in introduced or not ctx.selected(owner):
            continue
        if path[len(owner) + 1 :] in _MAY_CHANGE:
            continue
        kind = _STATUS.get(status[:1] or "M", "changed")
        yield IMM002.at(
            path,
            f"{kind} in the working tree, but {owner} was committed in {introduced[owner][:12]}",
            hint=f"undo it (git checkout -- {path}, or remove the new file); changes belong in a new version",
        )
