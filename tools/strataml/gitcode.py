"""The code a run records (TFC-0002 R10): HEAD, the branch, the changes and the files, in a fixed
number of git processes per run (TFC-0002 R30)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from strataml.errors import StrataError
from strataml.gitrepo import ARTIFACT_TREES, git_ok, in_work_tree, run_git, zpaths

_CODE_PATHSPEC = (".", *(f":(exclude){tree}" for tree in ARTIFACT_TREES))
_NOT_CODE = frozenset({*ARTIFACT_TREES, ".git"})


@dataclass(frozen=True, slots=True)
class CodeSnapshot:
    commit: str | None  # None before the first commit
    branch: str | None  # None on a detached HEAD
    dirty: bool
    diff: bytes  # `git diff --binary HEAD` of the code paths; b"" when clean
    untracked: tuple[str, ...]  # untracked, not ignored code files
    files: tuple[str, ...]  # tracked and untracked, not ignored code files that exist
    local_state_tracked: bool = False  # a commit ships files under .strata/ (TFC-0001 R13)


def code_snapshot(root: Path) -> CodeSnapshot | None:
    """What Git knows about the code under `root`; None outside a Git work tree. The git binary
    only, no GitPython: every run asks this, and the import alone cost a run 50 ms."""
    if not in_work_tree(root):
        return None
    if shutil.which("git") is None:
        raise StrataError("git is not installed; install it or work outside a Git work tree")
    if git_ok(root, "rev-parse", "--is-inside-work-tree") != "true":
        return None  # inside a .git directory, or a bare repository
    # Three processes whatever the tree, a fourth when it is dirty (TFC-0002 R30). Paths and
    # pathspecs relative to root, not to the top level. `status` leaves untracked files out:
    # looking for them under an excluded tree still walks it (10,000 runs' directories).
    status = run_git(
        root, "status", "--porcelain=v2", "--branch", "-z", "-uno", "--", *_CODE_PATHSPEC
    )
    commit, branch, dirty = _branch_and_dirty(status)
    # What is on disk at the top but the artifact trees: untracked files are among them, and
    # only they are walked. A tracked file deleted from the disk is `status`'s to see.
    present = sorted(f":(literal){p.name}" for p in root.iterdir() if p.name not in _NOT_CODE)
    listed = (
        run_git(root, "ls-files", "-t", "-co", "--exclude-standard", "-z", "--", *present)
        if present
        else b""
    )
    tagged = [(p[:1], p[2:]) for p in zpaths(listed)]
    untracked = {path for tag, path in tagged if tag == "?"}
    dirty = dirty or bool(untracked)
    diff = (
        run_git(root, "diff", "--binary", "HEAD", "--", *_CODE_PATHSPEC)
        if commit and dirty
        else b""
    )
    every = {path for _, path in tagged}
    files = tuple(p for p in sorted(every) if (root / p).is_file() or (root / p).is_symlink())
    shipped = any(tag != "?" and path.startswith(".strata/") for tag, path in tagged)
    return CodeSnapshot(commit, branch, dirty, diff, tuple(sorted(untracked)), files, shipped)


def _branch_and_dirty(status: bytes) -> tuple[str | None, str | None, bool]:
    """HEAD's commit (None before the first), its branch (None when detached) and whether any
    change is listed, from `git status --porcelain=v2 --branch -z`."""
    commit = branch = None
    dirty = False
    for entry in zpaths(status):
        if entry.startswith("# branch.oid "):
            oid = entry.removeprefix("# branch.oid ")
            commit = oid if oid != "(initial)" else None
        elif entry.startswith("# branch.head "):
            head = entry.removeprefix("# branch.head ")
            branch = head if head != "(detached)" else None
        elif not entry.startswith("# "):
            dirty = True
    return commit, branch, dirty
