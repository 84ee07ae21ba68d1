"""Path history from Git, each commit judged against every one of its parents (merges included)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from strataml.gitrepo import head_commit, in_work_tree, quiet_git, run_git

TREE_MODE = "040000"
ABSENT = "000000"


@dataclass(frozen=True, slots=True)
class Change:
    """One path that differs between a commit and one of its parents (`git diff --raw`)."""

    status: str  # A, M, D, T against that parent
    path: str
    old_mode: str  # ABSENT where the parent had no such path
    new_mode: str  # ABSENT where the commit has no such path
    old_blob: str
    new_blob: str

    @property
    def is_tree(self) -> bool:
        return TREE_MODE in (self.old_mode, self.new_mode)


@dataclass(frozen=True, slots=True)
class ParentDiff:
    """What a commit changed against one parent; a merge has one per parent it differs from."""

    commit: str
    parents: int  # 0 for a root commit, whose diff is against the empty tree
    changes: tuple[Change, ...]


def parent_diffs(root: Path, pathspecs: Sequence[str]) -> list[ParentDiff] | None:
    """Every commit reachable from HEAD that changed a path in `pathspecs`, once per parent it
    differs from there, parents before children; None outside Git, [] before the first commit.

    One `git log`: --full-history walks every side of every merge (the default would drop a
    side the merge is TREESAME to), -m diffs a merge against each parent, -t lists directories
    too, so a diff says whether a directory existed in that parent."""
    if not in_work_tree(root) or shutil.which("git") is None:
        return None
    if head_commit(root) is None:
        return []
    return _parse_log(run_git(
        root, "-c", "log.showRoot=true", "log", "--full-history", "-m", "--raw", "-t", "-z",
        "--no-abbrev", "--no-renames", "--no-color", "--no-show-signature", "--no-ext-diff",
        "--reverse", "--topo-order", "--format=%x01%H %P", "--", *pathspecs,
    ))  # fmt: skip


def _parse_log(raw: bytes) -> list[ParentDiff]:
    """`\\x01<commit> <parents>\\0` then `:<modes> <blobs> <status>\\0<path>\\0` per change. Read
    in order, so a path may hold any byte: it is always the token after a change's header."""
    diffs: list[ParentDiff] = []
    tokens = raw.split(b"\0")
    commit, parents, index = "", 0, 0
    changes: list[Change] = []
    while index < len(tokens):
        token = tokens[index].lstrip(b"\n")
        if token.startswith(b"\x01"):
            if commit:
                diffs.append(ParentDiff(commit, parents, tuple(changes)))
            commit, *parent_ids = token[1:].decode().split()
            parents, changes = len(parent_ids), []
        elif token.startswith(b":"):
            old_mode, new_mode, old_blob, new_blob, status = token[1:].decode().split()
            path = tokens[index + 1].decode("utf-8", "surrogateescape")
            changes.append(Change(status[0], path, old_mode, new_mode, old_blob, new_blob))
            index += 1
        index += 1
    if commit:
        diffs.append(ParentDiff(commit, parents, tuple(changes)))
    return diffs


def read_objects(root: Path, names: Sequence[str]) -> list[tuple[str, bytes] | None]:
    """(object id, bytes) of each blob named (an id, or `REV:PATH`), in order; None where there
    is no such blob. One `git cat-file --batch` for all of them."""
    asked = [name for name in names if "\n" not in name]
    found: dict[str, tuple[str, bytes] | None] = {}
    if asked:
        stdin = "".join(f"{name}\n" for name in asked).encode("utf-8", "surrogateescape")
        out = run_git(
            root, "cat-file", "--batch=%(objectname) %(objecttype) %(objectsize)", stdin=stdin
        )
        at = 0
        for name in asked:
            header_end = out.index(b"\n", at)
            fields = out[at:header_end].decode("utf-8", "surrogateescape").rsplit(" ", 2)
            at = header_end + 1
            if fields[-1] in ("missing", "ambiguous") or len(fields) != 3:
                found[name] = None
                continue
            oid, kind, size = fields
            content = out[at : at + int(size)]
            at += int(size) + 1
            found[name] = (oid, content) if kind == "blob" else None
    return [found.get(name) for name in names]


def blob_id(data: bytes, *, like: str) -> str:
    """The id Git gives these bytes as a blob, in the object format of `like` (SHA-1 or SHA-256)."""
    algorithm = hashlib.sha256 if len(like) == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(data) + data).hexdigest()


def last_changes(root: Path, since: str, paths: Iterable[str]) -> dict[str, str]:
    """path -> the newest commit after `since` (reachable from HEAD) that changed it; a path
    changed only in the working tree or the index maps to "uncommitted"."""
    found: dict[str, str] = {}
    pathspec = list(paths)
    dirty = quiet_git(
        root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--",
        *pathspec,
    )  # fmt: skip
    for entry in (dirty or b"").split(b"\0"):
        if len(entry) > 3:
            found[entry[3:].decode("utf-8", "surrogateescape")] = "uncommitted"
    log = quiet_git(
        root, "log", "-m", "--no-renames", "--format=%x01%H", "--name-only", "-z",
        f"{since}..HEAD", "--", *pathspec,
    )  # fmt: skip
    for chunk in (log or b"").split(b"\x01")[1:]:
        sha, _, names = chunk.partition(b"\0")
        for name in names.strip(b"\n").split(b"\0"):
            path = name.strip(b"\n").decode("utf-8", "surrogateescape")
            if path:
                found.setdefault(path, sha.decode().strip())
    return found
