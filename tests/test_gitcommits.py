"""CommitLookup: which code commits a repository holds, asked of one `git cat-file` kept for the run,
with the same answers as asking them all at once (gitrepo.commits_present)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import git
from strataml.gitcommits import CommitLookup
from strataml.gitrepo import GitError, commits_present


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    for n in range(3):
        (repo / "f.txt").write_text(f"{n}\n")
        git(repo, "add", "f.txt")
        git(repo, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", f"c{n}")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "tag", "-a", "-m", "t", "v1")
    return repo


def names(repo: Path) -> dict[str, str]:
    head = git(repo, "rev-parse", "HEAD").strip()
    return {
        "head": head,
        "first": git(repo, "rev-list", "--max-parents=0", "HEAD").strip(),
        "tag object": git(repo, "rev-parse", "v1").strip(),  # peels to HEAD, is not a commit
        "tree": git(repo, "rev-parse", "HEAD^{tree}").strip(),
        "blob": git(repo, "rev-parse", "HEAD:f.txt").strip(),
        "absent": "0123456789abcdef" * 2 + "01234567",
        "abbreviated": head[:12],
        "upper case": head.upper(),
        "spaced": f"{head} x",
        "sha-256 sized": "ab" * 32,
        "empty": "",
    }


def test_the_same_answers_as_asking_all_at_once(repo: Path) -> None:
    asked = names(repo)
    lookup = CommitLookup.open(repo)
    assert lookup is not None
    try:
        answers = {label: lookup.present(sha) for label, sha in asked.items()}
        again = {label: lookup.present(sha) for label, sha in asked.items()}  # kept answers
    finally:
        lookup.close()
    at_once = commits_present(repo, asked.values())
    assert at_once is not None
    assert answers == again == {label: sha in at_once.present for label, sha in asked.items()}
    assert answers == {
        "head": True, "first": True, "tag object": False, "tree": False, "blob": False,
        "absent": False, "abbreviated": False, "upper case": False, "spaced": False,
        "sha-256 sized": False, "empty": False,
    }  # fmt: skip
    assert lookup.shallow() is False


def test_one_git_process_for_every_question(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []
    real = subprocess.Popen.__init__

    def counting(
        self: subprocess.Popen[bytes], args: list[str], *rest: object, **kw: object
    ) -> None:
        started.append(list(args))
        real(self, args, *rest, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(subprocess.Popen, "__init__", counting)
    lookup = CommitLookup.open(repo)
    assert lookup is not None
    for _ in range(3):
        for sha in names(repo).values():
            lookup.present(sha)
    lookup.close()
    asked_git = [a for a in started if a[:2] == ["git", "cat-file"]]
    assert len(asked_git) == 1


def test_a_lost_process_is_replaced_by_a_one_off_question(repo: Path) -> None:
    head = names(repo)["head"]
    lookup = CommitLookup.open(repo)
    assert lookup is not None
    assert lookup.present(names(repo)["first"]) is True
    process = lookup._process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert lookup.present(head) is True
    assert lookup.present("f" * 40) is False
    lookup.close()


def test_a_lookup_that_keeps_losing_its_process_stops_asking(repo: Path) -> None:
    """Two lost `cat-file`s are Git failing: the lookup raises rather than start a process per
    question, so what a run starts stays bounded (TFC-0006 R20)."""
    asked = names(repo)
    lookup = CommitLookup.open(repo)
    assert lookup is not None
    for n, label in enumerate(("head", "tree")):
        lookup.present(asked[label])
        process = lookup._process
        assert process is not None and lookup._started == n + 1
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert lookup.present(asked["first" if n == 0 else "blob"]) is (n == 0)  # one-offs
        assert lookup._process is None
    assert lookup.present(asked["head"]) is True  # kept: no question to ask
    with pytest.raises(GitError, match=r"^git cat-file failed: git cat-file stopped answering$"):
        lookup.present("d" * 40)  # this would need a third cat-file
    lookup.close()


def test_a_shallow_clone_says_so(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    lookup = CommitLookup.open(clone)
    assert lookup is not None
    assert lookup.shallow() is True
    assert lookup.present(names(repo)["first"]) is False  # outside the clone's history
    assert lookup.present(names(repo)["head"]) is True
    lookup.close()


def test_outside_git_there_is_nothing_to_ask(tmp_path: Path) -> None:
    assert CommitLookup.open(tmp_path) is None
