"""Immutability proven from Git history: committed versions never change (TFC-0004 R8, TFC-0005 R11)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import IMM001, IMM002
from strataml.githistory import TREE_MODE, ParentDiff, parent_diffs

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
    """Version directory -> [commit that introduced it, first change to it or None].

    Computed from `git log` once per HEAD and kept in the cache: history below HEAD never changes.
    Kept for the run too: a hint asks for it once per artifact, and --no-cache reads no note.
    """
    if not ctx.versions_history:
        ctx.versions_history.append(_read_history(ctx))
    return ctx.versions_history[0]


def _read_history(ctx: Context) -> dict[str, list[Any]] | None:
    head = ctx.head
    if head is None:
        return None
    # Named anew when merges came to be judged: a note written before them may have missed one.
    note = f"history-merges:{head}"
    cached = ctx.cache.get_note(note) if ctx.cache is not None and ctx.use_cache else None
    if cached is not None:
        with contextlib.suppress(ValueError):
            value = json.loads(cached)
            if isinstance(value, dict):
                return value
    diffs = parent_diffs(ctx.root, TREES)
    if diffs is None:
        return None
    found = _first_changes(diffs)
    if ctx.cache is not None:
        ctx.cache.set_note(note, json.dumps(found, sort_keys=True))
    return found


def committed_versions(ctx: Context) -> dict[str, str]:
    """Version (or run) directory -> the commit that introduced it; empty outside Git."""
    return {owner: entry[0] for owner, entry in (_history(ctx) or {}).items()}


def _first_changes(diffs: list[ParentDiff]) -> dict[str, list[Any]]:
    """A version's files, once committed, never differ in a descendant (TFC-0004 R8): so every
    commit is judged against each parent, and a change to a version that parent already held
    breaks the rule. A merge that brings in a version from its other side is new against the
    first parent (the version did not exist there) and unchanged against the other."""
    found: dict[str, list[Any]] = {}
    for diff in diffs:
        held = {c.path for c in diff.changes if c.old_mode == TREE_MODE}  # the parent's dirs
        for change in diff.changes:
            owner = _owner(change.path)
            if owner is None or change.is_tree:
                continue
            entry = found.setdefault(owner, [diff.commit, None])
            name = change.path[len(owner) + 1 :]
            if owner in held and name not in _MAY_CHANGE and entry[1] is None:
                entry[1] = [diff.commit, change.status, change.path, diff.parents > 1]
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
        commit, status, path, merge = later
        by = "merge commit" if merge else "commit"
        yield IMM001.at(
            path,
            f"{_STATUS.get(status, 'changed')} by {by} {commit[:12]}, after "
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
