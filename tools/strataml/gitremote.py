"""Git for the other repositories of a federation (TFC-0001 R16): their HEAD, mirrors of them, a
throwaway checkout; every process through gitrepo.run_git."""

from __future__ import annotations

import shutil
from pathlib import Path

from strataml.gitrepo import git_ok, run_git

# What `git rev-parse --local-env-vars` names: set by a hook, `rebase --exec` or a linked
# worktree, they would point a command at this repository's objects instead of the other's.
_LOCAL_ENV = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_PREFIX",
    "GIT_SHALLOW_FILE", "GIT_COMMON_DIR",
)  # fmt: skip
# Git's environment for another repository: none of this one's variables, and no object
# fetched on demand from a promisor remote (a partial clone would reach the network).
FOREIGN_ENV: dict[str, str | None] = {**dict.fromkeys(_LOCAL_ENV), "GIT_NO_LAZY_FETCH": "1"}


def _exactly(path: Path) -> dict[str, str | None]:
    """Git's environment for the repository at `path` itself: never one found above it."""
    return {**FOREIGN_ENV, "GIT_CEILING_DIRECTORIES": str(path.parent), "GIT_OPTIONAL_LOCKS": "0"}


def repository_commit(path: Path) -> str | None:
    """HEAD's commit of the Git repository (work tree or bare) at `path`; None when `path` is
    not one, or has no commit yet."""
    if shutil.which("git") is None or not path.is_dir():
        return None
    return git_ok(path, "rev-parse", "--verify", "-q", "HEAD^{commit}", env=_exactly(path)) or None


def origin_url(path: Path) -> str | None:
    """remote.origin.url of the repository at `path` (what a mirror was cloned from)."""
    if shutil.which("git") is None or not path.is_dir():
        return None
    return git_ok(path, "config", "--get", "remote.origin.url", env=_exactly(path)) or None


# Transports that run commands (ext::) are never allowed, whatever the user's configuration.
_SAFE_TRANSPORT = ("-c", "protocol.ext.allow=never")


def mirror(url: str, destination: Path) -> None:
    """A bare mirror of `url` at `destination`: cloned the first time, fetched after."""
    if destination.exists():
        run_git(destination, *_SAFE_TRANSPORT, "fetch", "-q", "--prune", "origin",
                env=_exactly(destination))  # fmt: skip
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    run_git(destination.parent, *_SAFE_TRANSPORT, "clone", "-q", "--mirror", "--", url,
            str(destination), env={**FOREIGN_ENV, "GIT_LFS_SKIP_SMUDGE": "1"})  # fmt: skip


def checkout_copy(source: str, destination: Path) -> None:
    """A throwaway work tree of `source`'s HEAD at `destination` (a local repository's objects
    shared, a URL's cloned); LFS content is not fetched."""
    run_git(destination.parent, *_SAFE_TRANSPORT, "clone", "-q", "--shared", "--", source,
            str(destination), env={**FOREIGN_ENV, "GIT_LFS_SKIP_SMUDGE": "1"})  # fmt: skip
