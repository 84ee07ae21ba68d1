"""The only module that imports git (GitPython)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

# Without a git binary GitPython refuses to import; we degrade instead (no Git facts).
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import git


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
