"""Stage history is append-only through every commit and every merge (TFC-0005 R8)."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import STG006
from strataml.githistory import Change, ParentDiff, blob_id, parent_diffs, read_objects
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES, parse_yaml

STAGES_PATHSPEC = ":(glob)models/*/stages.yaml"
History = list[Any]


def lost_entry(history: History, parents: Sequence[History]) -> int | None:
    """Where `history` fails to keep its parents' histories (the index of the first entry it
    lost, in that parent's list), or None when it keeps them all.

    Kept means: the entries every parent shares (their longest common prefix) come first,
    unchanged; then every further entry of each parent, in that parent's order (the parents'
    entries may interleave; an entry next on two sides at once counts for both); then any new
    entries. With one parent this is plain appending."""
    base = len(parents[0]) if parents else 0
    for one, other in itertools.pairwise(parents):
        base = min(base, _shared(one, other))
    shared = _shared(history, parents[0][:base]) if parents else 0
    if shared < base:
        return shared
    tails = [parent[base:] for parent in parents]
    kept = [0] * len(tails)
    for entry in history[base:]:
        moved = False
        for side, tail in enumerate(tails):
            if kept[side] < len(tail) and tail[kept[side]] == entry:
                kept[side] += 1
                moved = True
        if not moved:
            break  # a new entry: every parent's entries must already be in place
    lost = [base + at for at, tail in zip(kept, tails, strict=True) if at < len(tail)]
    return min(lost) if lost else None


def _shared(one: History, other: History) -> int:
    """The length of the longest common prefix."""
    return next(
        (i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b),
        min(len(one), len(other)),
    )


@dataclass(frozen=True, slots=True)
class Committed:
    """What Git history says about one models/<name>/stages.yaml."""

    head: str | None  # its blob at HEAD; None where HEAD has none
    rewrite: tuple[str, int, bool] | None  # (commit, lost entry, is a merge): the first rewrite
    deleted: str | None  # the newest commit that removed it


def committed_stages(ctx: Context) -> dict[str, Committed]:
    """Every stages.yaml Git history holds, judged once per HEAD and kept in the cache (two git
    processes: one `log` over them all, one `cat-file --batch` for every version of them)."""
    head = ctx.head
    if head is None:
        return {}
    note = f"stage-history:{head}"
    cached = ctx.cache.get_note(note) if ctx.cache is not None and ctx.use_cache else None
    if cached is not None:
        with contextlib.suppress(ValueError, TypeError):
            return {
                path: Committed(
                    blob, (rewrite[0], rewrite[1], rewrite[2]) if rewrite else None, gone
                )
                for path, (blob, rewrite, gone) in json.loads(cached).items()
            }
    found = _judge(ctx, parent_diffs(ctx.root, [STAGES_PATHSPEC]) or [])
    if ctx.cache is not None:
        document = {p: [c.head, c.rewrite, c.deleted] for p, c in found.items()}
        ctx.cache.set_note(note, json.dumps(document, sort_keys=True))
    return found


def _judge(ctx: Context, diffs: list[ParentDiff]) -> dict[str, Committed]:
    changes = [c for d in diffs for c in d.changes if not c.is_tree and _is_stages(c.path)]
    paths = sorted({c.path for c in changes})
    blobs = sorted({b for c in changes for b in (c.old_blob, c.new_blob) if b.strip("0")})
    read = read_objects(ctx.root, [*blobs, *(f"HEAD:{p}" for p in paths)])
    histories = {
        b: _history_of(got[1]) if got else None
        for b, got in zip(blobs, read[: len(blobs)], strict=True)
    }
    heads = {p: got[0] if got else None for p, got in zip(paths, read[len(blobs) :], strict=True)}
    rewrites: dict[str, tuple[str, int, bool]] = {}
    deleted: dict[str, str] = {}
    for commit, group in itertools.groupby(diffs, key=lambda d: d.commit):
        blocks = list(group)
        touched: dict[str, list[Change]] = {}
        for change in (c for block in blocks for c in block.changes):
            if not change.is_tree and _is_stages(change.path):
                touched.setdefault(change.path, []).append(change)
        parents = blocks[0].parents
        for path, against in touched.items():
            new = against[0].new_blob
            if not new.strip("0"):
                deleted[path] = commit
            # A parent the diffs leave out held exactly this commit's version.
            befores = [c.old_blob for c in against] + [new] * max(0, parents - len(against))
            known = [h for b in befores if (h := _effective(b, histories)) is not None]
            own = _effective(new, histories)
            if own is None and known:
                # An unreadable version stands for the one before it: the next readable
                # version is still held to what came before.
                histories[new] = known[0]
            if own is None or len(known) < len(befores):
                continue
            lost = lost_entry(own, known)
            if lost is not None and path not in rewrites:
                rewrites[path] = (commit, lost, parents > 1)
    return {p: Committed(heads[p], rewrites.get(p), deleted.get(p)) for p in paths}


def _is_stages(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 3 and parts[0] == "models" and parts[2] == "stages.yaml"


def _history_of(raw: bytes) -> History | None:
    """The history list of one version of stages.yaml; None where it does not parse."""
    document = parse_yaml(raw[: MAX_BYTES + 1])
    if not document.ok or not isinstance(document.data, dict):
        return None
    history = document.data.get("history")
    return history if isinstance(history, list) else []


def _effective(blob: str, histories: dict[str, History | None]) -> History | None:
    if not blob.strip("0"):
        return []  # no file: no history
    return histories.get(blob)


class StageHistory:
    """The append-only check for every stages.yaml of one doctor run: committed history from
    `committed_stages`, the working copy against HEAD's version (read only when they differ)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._committed: dict[str, Committed] | None = None
        self._head_histories: dict[str, History | None] | None = None

    @property
    def committed(self) -> dict[str, Committed]:
        if self._committed is None:
            self._committed = committed_stages(self.ctx)
        return self._committed

    def check(self, path: str, data: dict[str, Any]) -> Iterator[Diagnostic]:
        known = self.committed.get(path)
        if known is None:
            return  # never committed: nothing to keep yet
        if known.rewrite is not None:
            commit, lost, merge = known.rewrite
            where = f"{'merge commit' if merge else 'commit'} {commit[:12]}"
            yield _rewritten(path, where, lost)
            return
        before = self._head_history(path)
        if before is None:
            return  # the same bytes as HEAD's, or HEAD has none
        current = data.get("history")
        dropped = lost_entry(current if isinstance(current, list) else [], [before])
        if dropped is not None:
            yield _rewritten(path, "the working tree", dropped)

    def _head_history(self, path: str) -> History | None:
        """HEAD's history where the working copy differs from HEAD's version: one `git cat-file`
        for all such files, the first time one is asked for (an unchanged file needs none)."""
        if self._head_histories is None:
            changed = {
                p: c.head
                for p, c in self.committed.items()
                if c.head is not None and _working_blob(self.ctx, p, like=c.head) != c.head
            }
            read = read_objects(self.ctx.root, list(changed.values()))
            self._head_histories = {
                p: _history_of(got[1]) if got else None
                for p, got in zip(changed, read, strict=True)
            }
        return self._head_histories.get(path)


def _working_blob(ctx: Context, path: str, *, like: str) -> str | None:
    try:
        return blob_id(read_regular(ctx.root / path, MAX_BYTES + 1), like=like)
    except OSError:
        return None


def _rewritten(path: str, where: str, lost: int) -> Diagnostic:
    return STG006.at(
        path,
        f"history rewritten in {where}: entry {lost + 1} of the earlier history was changed or removed",
        hint="history is append-only; restore the earlier entries and add new ones at the end",
    )
