"""The only module that imports git (GitPython)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Without a git binary GitPython refuses to import; we degrade instead (no Git facts).
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import git

from strataml.errors import StrataError

_OBJECT_NAME = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def open_repository(root: Path) -> git.Repo | None:
    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def ignored(root: Path, names: Iterable[str]) -> set[str]:
    """Which of `names` (relative to `root`) Git ignores; none outside a Git work tree."""
    candidates = sorted(set(names))
    repo = open_repository(root)
    if repo is None or not candidates:
        return set()
    absolute = {str(root / name): name for name in candidates}
    try:
        out = repo.git.check_ignore(*absolute)
    except git.GitCommandError as exc:
        if exc.status == 1:  # exit 1: none of them is ignored
            return set()
        raise
    except git.GitCommandNotFound:
        return set()
    return {absolute[line] for line in str(out).splitlines() if line in absolute}


# Code is everything Git sees outside the artifact trees (TFC-0002 R10).
ARTIFACT_TREES = ("datasets", "models", "runs")
_CODE_PATHSPEC = (".", *(f":(exclude){tree}" for tree in ARTIFACT_TREES))


@dataclass(frozen=True, slots=True)
class CodeSnapshot:
    commit: str | None  # None before the first commit
    branch: str | None  # None on a detached HEAD
    dirty: bool
    diff: bytes  # `git diff --binary HEAD` of the code paths; b"" when clean
    untracked: tuple[str, ...]  # untracked, not ignored code files
    files: tuple[str, ...]  # tracked and untracked, not ignored code files that exist


def code_snapshot(root: Path) -> CodeSnapshot | None:
    """What Git knows about the code under `root`; None outside a Git work tree."""
    repo = open_repository(root)
    if repo is None or repo.bare:
        return None
    here = git.Git(str(root))  # paths and pathspecs relative to root, not to the top level
    try:
        commit = _run(here, "rev-parse", "--verify", "-q", "HEAD", ok=(0, 1)).decode().strip()
        branch = None if repo.head.is_detached else repo.head.reference.name
        status = _run(here, "status", "--porcelain=v1", "-z", "-uall", "--", *_CODE_PATHSPEC)
        diff = _run(here, "diff", "--binary", "HEAD", "--", *_CODE_PATHSPEC) if commit else b""
        untracked = _paths(
            _run(here, "ls-files", "-o", "--exclude-standard", "-z", "--", *_CODE_PATHSPEC)
        )
        listed = _paths(
            _run(here, "ls-files", "-co", "--exclude-standard", "-z", "--", *_CODE_PATHSPEC)
        )
    except git.GitCommandNotFound as exc:
        raise StrataError(
            "git is not installed; install it or work outside a Git work tree"
        ) from exc
    files = tuple(p for p in sorted(set(listed)) if (root / p).is_file() or (root / p).is_symlink())
    return CodeSnapshot(commit or None, branch, bool(status), diff, tuple(sorted(untracked)), files)


def _run(here: git.Git, *args: str, ok: tuple[int, ...] = (0,)) -> bytes:
    try:
        out = here.execute(["git", *args], stdout_as_string=False, strip_newline_in_stdout=False)
    except git.GitCommandError as exc:
        if exc.status in ok:
            return b""
        raise StrataError(f"git {args[0]} failed: {' '.join(str(exc.stderr).split())}") from exc
    return out if isinstance(out, bytes) else str(out).encode()


def _paths(raw: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in raw.split(b"\0") if p]


@dataclass(frozen=True, slots=True)
class CommitPresence:
    present: frozenset[str]  # the asked-for commits this repository holds
    shallow: bool  # a shallow clone lacks old history, so absence proves nothing


def commits_present(root: Path, shas: Iterable[str]) -> CommitPresence | None:
    """Which of `shas` (hex object names) are commits in this repository; None outside Git."""
    repo = open_repository(root)
    if repo is None or shutil.which("git") is None:
        return None
    asked = sorted({sha for sha in shas if _OBJECT_NAME.fullmatch(sha)})
    here = git.Git(str(root))
    shallow = _run(here, "rev-parse", "--is-shallow-repository").strip() == b"true"
    found: set[str] = set()
    if asked:
        done = subprocess.run(
            ["git", "cat-file", "--batch-check=%(objectname) %(objecttype)"],
            cwd=root,
            input="".join(f"{sha}^{{commit}}\n" for sha in asked),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StrataError(f"git cat-file failed: {' '.join(done.stderr.split())}")
        found = {line.split()[0] for line in done.stdout.splitlines() if line.endswith(" commit")}
    return CommitPresence(frozenset(sha for sha in asked if sha in found), shallow)
