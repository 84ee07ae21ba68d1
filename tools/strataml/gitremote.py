"""Git for the other repositories of a federation (TFC-0001 R16): their HEAD, mirrors of them, a
throwaway checkout; every process through gitrepo.run_git."""

from __future__ import annotations

import shutil
from pathlib import Path

from strataml.gitrepo import git_ok, run_git


def _exactly(path: Path) -> dict[str, str]:
    """Git's environment for the repository at `path` itself: never one found above it."""
    return {"GIT_CEILING_DIRECTORIES": str(path.parent), "GIT_OPTIONAL_LOCKS": "0"}


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
            str(destination), env={"GIT_LFS_SKIP_SMUDGE": "1"})  # fmt: skip


def checkout_copy(source: str, destination: Path) -> None:
    """A throwaway work tree of `source`'s HEAD at `destination` (a local repository's objects
    shared, a URL's cloned); LFS content is not fetched."""
    run_git(destination.parent, *_SAFE_TRANSPORT, "clone", "-q", "--shared", "--", source,
            str(destination), env={"GIT_LFS_SKIP_SMUDGE": "1"})  # fmt: skip
