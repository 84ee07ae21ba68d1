"""Doctor's cost does not grow with the registry: it starts the same processes for 10 artifacts
as for 500 (TFC-0006 R20). Real Git and git-lfs, nothing mocked: every process doctor starts
through `subprocess` is counted, by program (git by subcommand), while doctor runs."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import commit_all, fork_template, git, require_tool, settle
from registrykit import add_copies
from strataml.doctor.engine import Report, run_doctor
from strataml.integrity import cache


def _program(argv: Any) -> str:
    words = [str(word) for word in ([argv] if isinstance(argv, str | Path) else argv)]
    name = Path(words[0]).name
    if name != "git":
        return name
    rest = iter(words[1:])
    for word in rest:  # the subcommand: the first word that is not a global option
        if word == "-c":
            next(rest, None)
        elif not word.startswith("-"):
            return f"git {word}"
    return "git"


def started(
    monkeypatch: pytest.MonkeyPatch, repo: Path, **options: Any
) -> tuple[Counter[str], Report]:
    """The programs `doctor --strict` starts, counted only while it runs; and its report."""
    seen: Counter[str] = Counter()
    real = subprocess.Popen.__init__

    def counting(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        seen[_program(args)] += 1
        real(self, args, *rest, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(subprocess.Popen, "__init__", counting)
        report = run_doctor(repo, strict=True, **options)
    return seen, report


def registry(where: Path, artifacts: int) -> Path:
    """The template (a dataset, a model, the example's run and the example pipeline's three
    stage runs) grown to `artifacts` artifacts, every added run holding a file in Git LFS,
    committed and settled (the hash cache may remember it)."""
    repo = fork_template(where)
    git(repo, "lfs", "install", "--local")
    extra = artifacts - 6
    added = add_copies(repo, runs=extra - 2 * (extra // 10), datasets=extra // 10,
                       models=extra // 10, lfs_bytes=3000)  # fmt: skip
    assert len(added) == extra
    commit_all(repo, f"{extra} artifacts")
    return settle(repo)


def scenarios(monkeypatch: pytest.MonkeyPatch, repo: Path, size: int) -> dict[str, Counter[str]]:
    runs: dict[str, Counter[str]] = {}
    for name in ("first", "warm"):  # no .strata/ yet, then its hash cache and notes
        runs[name], report = started(monkeypatch, repo)
        assert (report.exit_code, report.diagnostics, report.artifacts) == (0, (), size)
    # One run more, committed: what `doctor --since HEAD~1` checks in CI after a push.
    # Settled, so that what the cache may remember does not hang on how fast this machine is.
    add_copies(repo, runs=1, start=size, lfs_bytes=3000)
    commit_all(repo, "one run more")
    settle(repo)
    runs["since"], report = started(monkeypatch, repo, since="HEAD~1")
    assert (report.exit_code, report.diagnostics, report.artifacts) == (0, (), 1)
    # The whole repository again: the commit voided what the cache noted against the index.
    runs["after a commit"], report = started(monkeypatch, repo)
    assert (report.exit_code, report.diagnostics, report.artifacts) == (0, (), size + 1)
    # A fresh checkout with an empty cache, every file written this instant: none may be taken
    # on its blob id, and doctor still asks Git the same questions.
    shutil.rmtree(repo / ".strata")
    with monkeypatch.context() as clock:
        clock.setattr(cache, "RACY_NS", 10**18)
        runs["all fresh"], report = started(monkeypatch, repo)
    assert (report.exit_code, report.diagnostics, report.artifacts) == (0, (), size + 1)
    assert runs["all fresh"] == runs["first"]  # the clock changes what is read, not what is asked
    # Every dataset version damaged, read with no cache: a finding each, and a hint that names
    # the commit each version came in (from the run's one `git log`).
    versions = sorted((repo / "datasets" / "iris").iterdir())
    for version in versions:
        with (version / "train" / "iris.csv").open("ab") as data:
            data.write(b"5.0,3.0,1.5,0.2,setosa\n")
    runs["damaged, --no-cache"], report = started(monkeypatch, repo, use_cache=False)
    damaged = [d for d in report.diagnostics if d.code == "CHK005"]
    assert len(damaged) == len(versions), report.diagnostics
    assert all("was committed in" in (d.hint or "") for d in damaged), damaged
    return runs


def test_doctor_starts_as_many_processes_for_500_artifacts_as_for_10(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool("git-lfs")
    small, large = (scenarios(monkeypatch, registry(tmp_path / str(n), n), n) for n in (10, 500))
    for name, counted in small.items():
        assert counted["git ls-files"] > 0, counted  # doctor asked Git: the count means something
        assert (name, large[name].total(), large[name]) == (name, counted.total(), counted)


def test_doctor_on_one_version_asks_git_about_that_version_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`status`, `ls-files -s` and `diff-files` name the version doctor was pointed at, not the
    artifact trees (a registry's runs are not walked to check one dataset, as the runner does for
    each input); and what they say about it is what a whole run says."""
    require_tool("git-lfs")
    repo = registry(tmp_path / "r", 20)
    version = "datasets/iris/v1"
    data = repo / version / "train" / "iris.csv"
    data.write_bytes(data.read_bytes().replace(b"5.1", b"5.2", 1))  # modified, committed version
    (repo / version / "train" / "extra.csv").write_text("x\n")  # untracked in it
    asked: list[list[str]] = []
    real = subprocess.Popen.__init__

    def recording(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        if isinstance(args, list) and args[:1] == ["git"]:
            asked.append([str(word) for word in args])
        real(self, args, *rest, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(subprocess.Popen, "__init__", recording)
        one = run_doctor(repo / version, strict=True)
    scoped = {a[1]: a[a.index("--") + 1 :] for a in asked if a[1] in ("status", "diff-files")}
    scoped["ls-files -s"] = next(
        a[a.index("--") + 1 :] for a in asked if a[1:3] == ["ls-files", "-s"]
    )
    named = [f":(literal){version}"]
    assert scoped == {"status": named, "diff-files": named, "ls-files -s": named}
    whole = run_doctor(repo, strict=True)
    mine = [d for d in whole.diagnostics if d.path.startswith(version + "/")]
    assert {d.code for d in one.diagnostics} == {"IMM002", "CHK004", "CHK005", "DAT004"}
    assert one.diagnostics == tuple(mine)
