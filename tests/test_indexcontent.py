"""The index's identity without its stat data (indexcontent.py): the same after Git refreshes the
stat data, different for every change to what Git would report, on every index format Git writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import git
from strataml.doctor.indexcontent import index_identity

FILES = {"a.txt": b"alpha\n", "dir/b.txt": b"beta\n", "dir/sub/c.bin": b"\0\1\2" * 50}


def repository(tmp_path: Path, object_format: str = "sha1") -> Path:
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", f"--object-format={object_format}", str(repo))
    for name, data in FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "files")
    return repo


def identity(repo: Path, oid_size: int = 20) -> str | None:
    return index_identity((repo / ".git" / "index").read_bytes(), oid_size)


def stat_only_rewrite(repo: Path) -> None:
    """Rewrite the index with other stat data and nothing else: reset it from HEAD (every
    entry's stat data zero), then let `git status` fill the stat data in again."""
    before = (repo / ".git" / "index").read_bytes()
    for name in FILES:  # other mtimes, same bytes
        os.utime(repo / name, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    git(repo, "read-tree", "HEAD")
    git(repo, "status", "--porcelain")
    assert (repo / ".git" / "index").read_bytes() != before


@pytest.mark.parametrize("version", [2, 3, 4])
def test_a_stat_refresh_keeps_the_identity(tmp_path: Path, version: int) -> None:
    repo = repository(tmp_path)
    git(repo, "config", "index.version", str(version))  # what a rewrite keeps to (--index-version
    git(repo, "update-index", "--index-version", str(version))  # does not outlive read-tree)
    if version == 3:  # version 3 is written only where an entry has extended flags
        git(repo, "update-index", "--skip-worktree", "dir/b.txt")
    assert (repo / ".git" / "index").read_bytes()[4:8] == version.to_bytes(4, "big")
    before = identity(repo)
    assert before is not None
    if version == 3:
        git(repo, "update-index", "--no-skip-worktree", "dir/b.txt")
        assert identity(repo) != before
        git(repo, "update-index", "--skip-worktree", "dir/b.txt")
        assert identity(repo) == before
    stat_only_rewrite(repo)
    if version == 3:
        git(repo, "update-index", "--skip-worktree", "dir/b.txt")  # read-tree drops the flag
    assert identity(repo) == before


def test_sha256_repositories(tmp_path: Path) -> None:
    repo = repository(tmp_path, "sha256")
    before = identity(repo, 32)
    assert before is not None
    assert identity(repo, 20) is None  # read with the wrong object size, the walk does not fit
    stat_only_rewrite(repo)
    assert identity(repo, 32) == before


def test_a_split_index(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    git(repo, "update-index", "--split-index")
    before = identity(repo)
    assert before is not None
    (repo / "a.txt").write_bytes(b"changed\n")
    git(repo, "add", "a.txt")
    assert identity(repo) not in (before, None)


@pytest.mark.parametrize(
    "change",
    [
        ["update-index", "--assume-unchanged", "a.txt"],
        ["update-index", "--chmod=+x", "a.txt"],
        ["rm", "-q", "--cached", "dir/b.txt"],
        ["update-index", "--add", "--cacheinfo", f"100644,{'0' * 39}1,new.txt"],
        ["update-index", "--index-version", "4"],
    ],
    ids=["assume-unchanged", "mode", "removed", "added", "format"],
)
def test_every_change_git_reports_moves_the_identity(tmp_path: Path, change: list[str]) -> None:
    repo = repository(tmp_path)
    before = identity(repo)
    git(repo, *change)
    assert identity(repo) not in (before, None)


def test_a_blob_staged_over_another(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    before = identity(repo)
    (repo / "dir" / "b.txt").write_bytes(b"BETA\n")  # same size
    git(repo, "add", "dir/b.txt")
    assert identity(repo) not in (before, None)


def test_the_untracked_cache_is_left_out(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    before = identity(repo)
    git(repo, "-c", "core.untrackedCache=true", "update-index", "--untracked-cache")
    git(repo, "-c", "core.untrackedCache=true", "status", "--porcelain")
    index = (repo / ".git" / "index").read_bytes()
    assert b"UNTR" in index
    assert identity(repo) == before


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"DIRC",
        b"DIRC\0\0\0\x05\0\0\0\0" + b"\0" * 20,  # version 5
        b"DIRC\0\0\0\x02\0\0\0\x01" + b"\0" * 20,  # one entry promised, none there
        b"DIRC\0\0\0\x02\0\0\0\0TREE\0\0\x01\0" + b"\0" * 20,  # an extension longer than the file
        b"\x89PNG\r\n\x1a\n" * 10,
    ],
    ids=["empty", "header-only", "version-5", "entry-missing", "extension-overrun", "binary"],
)
def test_what_is_not_an_index_gives_none(data: bytes) -> None:
    assert index_identity(data, 20) is None


def test_a_cut_index_gives_none(tmp_path: Path) -> None:
    data = (repository(tmp_path) / ".git" / "index").read_bytes()
    assert index_identity(data, 20) is not None
    for cut in range(1, len(data), 7):
        assert index_identity(data[:cut], 20) is None, cut
