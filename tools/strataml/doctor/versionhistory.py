"""Which commit introduced each version, and the first later change to it (TFC-0004 R8).

Computed from `git log` once per HEAD and kept as a note in the cache: history below HEAD never
changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from strataml.githistory import TREE_MODE, ParentDiff, parent_diffs
from strataml.gitrepo import ARTIFACT_TREES
from strataml.integrity.cache import HashCache

# May be added or extended after the version is committed (TFC-0008 R7).
MAY_CHANGE = frozenset({"SIGNATURE.asc"})


@dataclass(frozen=True, slots=True)
class LaterChange:
    commit: str
    status: str  # A, M, D, T against the parent that already held the version
    path: str
    merge: bool  # made by a merge commit


@dataclass(frozen=True, slots=True)
class VersionHistory:
    introduced: str  # the commit that added the version
    changed: LaterChange | None  # the first change to it in a descendant, which R8 forbids


def owner_of(path: str) -> str | None:
    """The version (or run) directory a file path lies in, by the layout's shape (TFC-0001)."""
    parts = path.split("/")
    if parts[0] == "runs" and len(parts) > 2:
        return "/".join(parts[:2])
    if parts[0] in ("datasets", "models") and len(parts) > 3:
        return "/".join(parts[:3])
    return None


def read_version_history(
    root: Path, head: str | None, cache: HashCache | None, *, use_cache: bool
) -> Mapping[str, VersionHistory] | None:
    """Version (or run) directory -> its history; None outside Git or before a commit."""
    if head is None:
        return None
    # Named anew when merges came to be judged: a note written before them may have missed one.
    note = f"history-merges:{head}"
    cached = cache.get_note(note) if cache is not None and use_cache else None
    known = _loads(cached) if cached is not None else None
    if known is not None:
        return known
    diffs = parent_diffs(root, ARTIFACT_TREES)
    if diffs is None:
        return None
    found = _first_changes(diffs)
    if cache is not None:
        cache.set_note(note, _dumps(found))
    return found


def _first_changes(diffs: list[ParentDiff]) -> dict[str, VersionHistory]:
    """A version's files, once committed, never differ in a descendant (TFC-0004 R8): so every
    commit is judged against each parent, and a change to a version that parent already held
    breaks the rule. A merge that brings in a version from its other side is new against the
    first parent (the version did not exist there) and unchanged against the other."""
    found: dict[str, VersionHistory] = {}
    for diff in diffs:
        held = {c.path for c in diff.changes if c.old_mode == TREE_MODE}  # the parent's dirs
        for change in diff.changes:
            owner = owner_of(change.path)
            if owner is None or change.is_tree:
                continue
            entry = found.setdefault(owner, VersionHistory(diff.commit, None))
            name = change.path[len(owner) + 1 :]
            if owner in held and name not in MAY_CHANGE and entry.changed is None:
                later = LaterChange(diff.commit, change.status, change.path, diff.parents > 1)
                found[owner] = VersionHistory(entry.introduced, later)
    return found


def _dumps(history: Mapping[str, VersionHistory]) -> str:
    rows: dict[str, list[object]] = {}
    for owner, entry in history.items():
        c = entry.changed
        rows[owner] = [
            entry.introduced,
            None if c is None else [c.commit, c.status, c.path, c.merge],
        ]
    return json.dumps(rows, sort_keys=True)


def _loads(text: str) -> dict[str, VersionHistory] | None:
    """What `_dumps` wrote, or None for anything else (the history is read from Git again)."""
    try:
        rows = json.loads(text)
    except ValueError:
        return None
    if not isinstance(rows, dict):
        return None
    found: dict[str, VersionHistory] = {}
    for owner, row in rows.items():
        match row:
            case [str(introduced), None]:
                found[owner] = VersionHistory(introduced, None)
            case [str(introduced), [str(commit), str(status), str(path), bool(merge)]]:
                found[owner] = VersionHistory(introduced, LaterChange(commit, status, path, merge))
            case _:
                return None
    return found
