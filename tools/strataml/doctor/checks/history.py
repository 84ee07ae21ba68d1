"""Immutability proven from Git history: committed versions never change (TFC-0004 R8, TFC-0005 R11)."""

from __future__ import annotations

from collections.abc import Iterator

from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import IMM001, IMM002
from strataml.doctor.versionhistory import MAY_CHANGE, owner_of

_STATUS = {"A": "added", "M": "modified", "D": "deleted", "T": "changed type of", "?": "added"}


def committed_versions(ctx: Context) -> dict[str, str]:
    """Version (or run) directory -> the commit that introduced it; empty outside Git."""
    return {owner: entry.introduced for owner, entry in (ctx.version_history or {}).items()}


def check_immutability(ctx: Context) -> Iterator[Diagnostic]:
    if not ctx.artifacts:
        return
    history = ctx.version_history
    if history is None:  # not a Git work tree, or no commit yet: nothing to prove it with
        return
    present = {a.path for a in ctx.artifacts}
    for owner, entry in sorted(history.items()):
        later = entry.changed
        if owner not in present or later is None:
            continue
        by = "merge commit" if later.merge else "commit"
        yield IMM001.at(
            later.path,
            f"{_STATUS.get(later.status, 'changed')} by {by} {later.commit[:12]}, after "
            f"{owner} was committed in {entry.introduced[:12]}",
            hint="a committed version never changes: revert that commit's change to it and "
            "publish the new content as a new version",
        )
    for status, path in ctx.uncommitted() or []:
        version = owner_of(path)
        if version is None or version not in history or version not in present:
            continue
        if path[len(version) + 1 :] in MAY_CHANGE:
            continue
        kind = _STATUS.get(status[:1] or "M", "changed")
        yield IMM002.at(
            path,
            f"{kind} in the working tree, but {version} was committed in {history[version].introduced[:12]}",
            hint=f"undo it (git checkout -- {path}, or remove the new file); changes belong in a new version",
        )
