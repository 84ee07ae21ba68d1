"""Immutability proven from Git history: committed versions never change (TFC-0004 R8, TFC-0005 R11)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import IMM001, IMM002
from strataml.gitrepo import artifact_changes, head_commit

TREES = ("datasets", "models", "runs")
# May be added or extended after the version is committed (TFC-0008 R7).
_MAY_CHANGE = frozenset({"SIGNATURE.asc"})
_STATUS = {"A": "added", "M": "modified", "D": "deleted", "T": "changed type of", "?": "added"}


def _owner(path: str) -> str | None:
    """The version (or run) directory a file path lies in, by the layout's shape (TFC-0001)."""
    parts = path.split("/")
    if parts[0] == "runs" and len(parts) > 2:
        return "/".join(parts[:2])
    if parts[0] in ("datasets", "models") and len(parts) > 3:
        return "/".join(parts[:3])
    return None


def _history(ctx: Context) -> dict[str, list[Any]] | None:
    """Version directory -> [commit that introduced it, first later change or None].

    Computed from `git log` once per HEAD and kept in the cache: history below HEAD never changes.
    """
    head = head_commit(ctx.root)
    if head is None:
        return None
    note = f"history:{head}"
    cached = ctx.cache.get_note(note) if ctx.cache is not None and ctx.use_cache else None
    if cached is not None:
        with contextlib.suppress(ValueError):
            value = json.loads(cached)
            if isinstance(value, dict):
                return value
    changes = artifact_changes(ctx.root, TREES)
    if changes is None:
        return None
    found: dict[str, list[Any]] = {}
    for change in changes:
        owner = _owner(change.path)
        if owner is None:
            continue
        entry = found.setdefault(owner, [change.commit, None])
        name = change.path[len(owner) + 1 :]
        if change.commit != entry[0] and name not in _MAY_CHANGE and entry[1] is None:
            entry[1] = [change.commit, change.status, change.path]
    if ctx.cache is not None:
        ctx.cache.set_note(note, json.dumps(found, sort_keys=True))
    return found


def check_immutability(ctx: Context) -> Iterator[Diagnostic]:
    if not ctx.artifacts:
        return
    history = _history(ctx)
    if history is None:  # not a Git work tree, or no commit yet: nothing to prove it with
        return
    present = {a.path for a in ctx.artifacts}
    for owner, (first, later) in sorted(history.items()):
        if owner not in present or later is None:
            continue
        commit, status, path = later
        yield IMM001.at(
            path,
            f"{_STATUS.get(status, 'changed')} by commit {commit[:12]}, after "
            f"{owner} was committed in {first[:12]}",
            hint="a committed version never changes: revert that commit's change to it and "
            "publish the new content as a new version",
        )
    for status, path in ctx.uncommitted() or []:
        version = _owner(path)
        if version is None or version not in history or version not in present:
            continue
        if path[len(version) + 1 :] in _MAY_CHANGE:
            continue
        kind = _STATUS.get(status[:1] or "M", "changed")
        yield IMM002.at(
            path,
            f"{kind} in the working tree, but {version} was committed in {history[version][0][:12]}",
            hint=f"undo it (git checkout -- {path}, or remove the new file); changes belong in a new version",
        )
