"""The verdict cache is only a cache (TFC-0008 R13): it may speed a verdict up, never change it.

Each case stores the verdict of a settled tree, proves the next run answers from it, makes one
change the key must see, and compares the cached run with a fresh one (--no-cache).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from conftest import commit_all, example_run, fork_template, git
from strataml.doctor.engine import Report, run_doctor
from strataml.integrity.cache import CACHE_DIR, CACHE_FILE, RACY_NS

DATASET = "datasets/iris/v1"
DATA = f"{DATASET}/train/iris.csv"

Finding = tuple[str, str, int | None, str]
BATCH = 9  # forks settled together: one wait of the racy window serves them all


class Forks:
    """Forks of the template made a batch at a time, their files and Git's index settled (the
    index refreshed by `git status`, then the racy window waited out once for the batch)."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory, self.ready = factory, list[Path]()

    def take(self) -> Path:
        if not self.ready:
            with pytest.MonkeyPatch.context() as env:
                home = self.factory.mktemp("home")
                env.setenv("HOME", str(home))
                env.setenv("GIT_CONFIG_NOSYSTEM", "1")
                for var in ("AUTHOR", "COMMITTER"):
                    env.setenv(f"GIT_{var}_NAME", "Strata Test")
                    env.setenv(f"GIT_{var}_EMAIL", "test@strataml.invalid")
                forks = [
                    fork_template(self.factory.mktemp("fork") / "template") for _ in range(BATCH)
                ]
                wait_out(forks)
                for fork in forks:
                    git(fork, "status", "--porcelain")  # refreshes a racily clean index
                wait_out(forks)
            self.ready = forks
        return self.ready.pop()


@pytest.fixture(scope="module")
def forks(tmp_path_factory: pytest.TempPathFactory) -> Forks:
    return Forks(tmp_path_factory)


@pytest.fixture
def template(forks: Forks, tmp_path: Path) -> Path:
    """A fork of the template, settled; `tmp_path` stays the test's own scratch space."""
    return forks.take()


def wait_out(repos: list[Path]) -> None:
    newest = max(p.lstat().st_ctime_ns for repo in repos for p in [repo, *repo.rglob("*")])
    wait = newest + RACY_NS - time.time_ns()
    if wait > 0:
        time.sleep(wait / 1e9 + 0.01)


@contextmanager
def database(repo: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(repo / CACHE_DIR / CACHE_FILE)) as db, db:
        yield db


def verdict(report: Report) -> list[Finding]:
    return [(d.code, d.path, d.line, d.message) for d in report.diagnostics]


def forget_files(repo: Path) -> None:
    """Empty the caches but the verdict's: a run that checks the artifacts then reads every
    listed file again, one that answers from the stored verdict reads none."""
    with database(repo) as db:
        for table in ("stat", "blob", "parsed"):
            db.execute(f"DELETE FROM {table}")
        db.execute("DELETE FROM meta WHERE key LIKE 'note:%'")  # e.g. that a listing verified


def verdicts_stored(repo: Path) -> list[tuple[str, bytes]]:
    with database(repo) as db:
        return db.execute("SELECT key, value FROM verdict").fetchall()


def codes(report: Report) -> set[str]:
    return {d.code for d in report.diagnostics}


def settle_all(repo: Path) -> Path:
    """conftest's settle() for Git's directory and the user's files too: a verdict is stored
    only when nothing in its key changed within the racy window."""
    places = [*repo.rglob("*"), *Path(os.environ["HOME"]).rglob("*")]
    # Not .git itself: a `git status` that takes and drops the index lock changes it, and the
    # key holds what lies inside (doctor/verdicts.py), not the directory.
    newest = max(
        p.lstat().st_ctime_ns for p in places if ".strata" not in p.parts and p != repo / ".git"
    )
    wait = newest + RACY_NS - time.time_ns()
    if wait > 0:
        time.sleep(wait / 1e9 + 0.01)
    return repo


def stored(repo: Path) -> Report:
    """Store the verdict of the settled tree, prove the next run answers from it, and leave every
    cache warm (the other caches' own shortcuts must not hide a change either)."""
    run_doctor(settle_all(repo))  # its `git status` may rewrite a racily clean index
    cold = run_doctor(settle_all(repo))
    forget_files(repo)
    hit = run_doctor(repo)
    assert (hit.files_hashed, hit.files_read, verdict(hit)) == (cold.files_hashed, 0, verdict(cold))
    row = verdicts_stored(repo)
    with database(repo) as db:
        db.execute("DELETE FROM verdict")
    assert run_doctor(repo).files_read == cold.files_hashed  # a miss checks afresh...
    assert verdicts_stored(repo) == row  # ...and stores the same verdict under the same key
    return cold


def never_stored(repo: Path) -> Report:
    """No verdict answers for this tree, however settled: the artifacts are checked afresh."""
    run_doctor(settle_all(repo))
    run_doctor(settle_all(repo))
    forget_files(repo)
    report = run_doctor(repo)
    assert report.files_read == report.files_hashed > 0
    return report


def assert_honest(repo: Path, *expected: str) -> Report:
    """The cached run says what a fresh one says, and the change shows. The change need not be
    settled first: a key that misses it answers from the stored verdict either way (the first
    case shows both, settled and not)."""
    cached = run_doctor(repo)
    fresh = run_doctor(repo, use_cache=False)
    if verdict(cached) != verdict(fresh):  # which cache: a run without the stored verdict tells
        with database(repo) as db:
            db.execute("DELETE FROM verdict")
        honest = verdict(run_doctor(repo)) == verdict(fresh)
        culprit = "the stored verdict (verdicts.py)" if honest else "a check's own cached note"
        assert verdict(cached) == verdict(fresh), f"the cache changed the verdict: {culprit}"
    assert set(expected) <= codes(fresh), verdict(fresh)
    again = run_doctor(repo)  # whatever the runs above stored answers honestly too
    assert verdict(again) == verdict(fresh)
    return fresh


def run_dir(repo: Path) -> Path:
    return repo / "runs" / example_run()


# --- 1. the bytes change, size and mtime do not -------------------------------------------------


@pytest.mark.parametrize("wait", [False, True], ids=["racy", "settled"])
def test_a_same_size_edit_with_mtime_restored(template: Path, wait: bool) -> None:
    stored(template)
    path = template / DATA
    stat = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"5.1", b"5.2", 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    if wait:
        settle_all(template)
    assert_honest(template, "CHK005")


# --- 2. a file added to a committed version -----------------------------------------------------


@pytest.mark.parametrize("where", [DATASET, "run"])
def test_a_file_added_to_a_committed_version(template: Path, where: str) -> None:
    stored(template)
    directory = run_dir(template) if where == "run" else template / where
    (directory / "extra.txt").write_text("not listed\n")
    assert_honest(template, "CHK004", "IMM002")


# --- 3. a version another artifact names disappears ---------------------------------------------


def test_deleting_a_dataset_version_others_name(template: Path) -> None:
    stored(template)
    shutil.rmtree(template / DATASET)
    assert_honest(template, "LIN001", "RUN010")  # the model's and the run's own files unchanged


# --- 4. the configuration changes, no artifact does ---------------------------------------------


@pytest.mark.parametrize(
    ("table", "code"),
    [
        ("\n[tool.strataml.lfs]\nmax-plain-bytes = 1000\n", "LFS001"),
        ('\n[[tool.strataml.signing.require]]\npath = "datasets/*/*"\nsigners = 1\n', "SIG001"),
    ],
    ids=["lfs-limit", "signing-require"],
)
def test_a_configuration_change(template: Path, table: str, code: str) -> None:
    stored(template)
    with (template / "pyproject.toml").open("a") as handle:
        handle.write(table)
    assert_honest(template, code)


# --- 5-7. Git's own state changes, the working tree does not ------------------------------------


def test_a_file_removed_from_the_index_only(template: Path) -> None:
    stored(template)
    git(template, "rm", "-q", "--cached", "--", DATA)
    assert_honest(template, "IMM002")


@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_an_index_flag_hides_an_edit_from_git(template: Path, flag: str) -> None:
    path = template / DATA
    path.write_bytes(path.read_bytes().replace(b"5.1", b"5.2", 1))
    assert "IMM002" in codes(stored(template))
    git(template, "update-index", flag, "--", DATA)  # the index's flags move, its stat data not
    assert_honest(template)


def test_the_run_after_a_first_run_is_answered(template: Path) -> None:
    """A first run (no cache) holds more references to what its key is made of than a warm run
    does; the key must not show it (doctor/verdicts.py `_canonical`)."""
    shutil.rmtree(template / ".strata", ignore_errors=True)
    first = run_doctor(template)
    assert first.files_read == first.files_hashed > 0 and len(verdicts_stored(template)) == 1
    forget_files(template)
    second = run_doctor(template)
    assert (second.files_read, verdict(second)) == (0, verdict(first))


def test_a_refreshed_index_answers_from_the_stored_verdict(template: Path) -> None:
    """`git status` rewrites an index whose stat data is out of date (after a commit of files
    just written, say) and changes nothing Git reports: the run after that one is answered."""
    cold = stored(template)
    index = template / ".git" / "index"
    before = index.read_bytes()
    git(template, "read-tree", "HEAD")  # every entry's stat data zeroed: the next status fills it
    forget_files(template)
    hit = run_doctor(template)
    assert index.read_bytes() != before
    assert (hit.files_read, verdict(hit)) == (0, verdict(cold))


def test_a_commit_of_an_edit_already_on_disk(template: Path) -> None:
    path = template / DATA
    path.write_bytes(path.read_bytes().replace(b"5.1", b"5.2", 1))
    assert "IMM002" in codes(stored(template))  # uncommitted edit of a committed version
    commit_all(template, "rewrite history's data")  # HEAD and the index move, no file does
    assert "IMM001" in codes(assert_honest(template, "IMM001"))


def test_a_branch_moved_to_a_commit_git_already_holds(template: Path) -> None:
    path = template / DATA
    path.write_bytes(path.read_bytes().replace(b"5.1", b"5.2", 1))
    commit_all(template, "rewrite history's data")
    git(template, "branch", "side")
    git(template, "reset", "-q", "--hard", "HEAD~1")
    stored(template)
    # Only refs/heads/main moves: no file, no index entry, no object, not even .git/HEAD.
    git(template, "update-ref", "refs/heads/main", "side")
    assert_honest(template, "IMM001")


@pytest.mark.parametrize(
    "attributes",
    [".gitattributes", ".git/info/attributes", "datasets/iris/.gitattributes", "home"],
    ids=["top-level", "info-attributes", "between", "users"],
)
def test_attributes_mark_a_file_lfs(template: Path, attributes: str) -> None:
    stored(template)
    if attributes == "home":  # the user's own, $XDG_CONFIG_HOME/git/attributes
        attributes = f"{os.environ['HOME']}/.config/git/attributes"
    path = template / attributes
    path.parent.mkdir(parents=True, exist_ok=True)
    rule = f"/{DATA} filter=lfs diff=lfs merge=lfs -text\n"
    if attributes.startswith("datasets/"):
        rule = rule.replace("/datasets/iris", "", 1)
    with path.open("a") as handle:
        handle.write(rule)
    assert_honest(template, "LFS006")


@pytest.mark.parametrize("inside", [True, False], ids=["deep-in-the-repository", "outside"])
def test_a_symlinks_target_appears(template: Path, tmp_path: Path, inside: bool) -> None:
    """What a symlink in an artifact is (dangling, escaping, in the repository) is decided by its
    target, which may lie where no stat key reaches: no verdict is kept for such a tree."""
    target = template / ".github" / "workflows" / "new.yml" if inside else tmp_path / "away.txt"
    (template / DATASET / "link").symlink_to(os.path.relpath(target, template / DATASET))
    assert "LAY010" in codes(never_stored(template))  # dangles
    target.write_text("here now\n")
    assert_honest(template, "LAY011" if inside else "LAY010")


def test_a_version_named_through_a_symlink_appears(template: Path, tmp_path: Path) -> None:
    away = tmp_path / "away"  # datasets/iris is a link to it: the model's reference follows it
    shutil.move(template / DATASET, tmp_path / "v1")
    (template / "datasets" / "iris").rmdir()
    (template / "datasets" / "iris").symlink_to(away)
    assert "LIN001" in codes(never_stored(template))
    away.mkdir()
    shutil.move(tmp_path / "v1", away / "v1")
    assert "LIN001" not in codes(assert_honest(template, "LAY010"))


def test_git_configuration_named_by_the_environment_changes(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIT_CONFIG_GLOBAL names the file Git reads instead of ~/.gitconfig: its contents count."""
    config, excludes = tmp_path / "global.gitconfig", tmp_path / "excludes"
    config.write_text("")
    excludes.write_text("extra.txt\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    (template / DATASET / "extra.txt").write_text("not listed\n")
    assert "IMM002" in codes(stored(template))
    config.write_text(f"[core]\n\texcludesFile = {excludes}\n")  # git status no longer lists it
    assert "IMM002" not in codes(assert_honest(template, "CHK004"))


# --- 8. a damaged stored verdict ----------------------------------------------------------------


def _flip(value: bytes) -> bytes:
    at = value.index(b"CHK005") + 1  # a bit of a stored finding's code: still a string
    return value[:at] + bytes([value[at] ^ 1]) + value[at + 1 :]


@pytest.mark.parametrize(
    "damage",
    [_flip, lambda value: value[:80], lambda value: value.decode("latin-1"), lambda _: 42],
    ids=["bit-flip", "truncated", "text", "integer"],
)
def test_a_damaged_verdict_is_a_miss(template: Path, damage: Callable[[bytes], object]) -> None:
    (template / DATA).write_bytes((template / DATA).read_bytes() + b"5.0,3.0,1.0,0.2,setosa\n")
    cold = stored(template)  # a verdict with findings in it, for a flip to land in
    assert "CHK005" in codes(cold)
    with database(template) as db:
        [(key, value)] = db.execute("SELECT key, value FROM verdict").fetchall()
        db.execute("UPDATE verdict SET value = ? WHERE key = ?", (damage(value), key))
    forget_files(template)
    report = run_doctor(template)
    assert report.files_read > 0
    assert verdict(report) == verdict(cold)
    forget_files(template)
    again = run_doctor(template)  # stored anew, and trusted
    assert (again.files_read, verdict(again)) == (0, verdict(cold))


# --- 9. a run whose runner may live -------------------------------------------------------------


def test_a_running_run_is_never_stored(template: Path) -> None:
    stored(template)
    run = run_dir(template)
    system = json.loads((run / "system.json").read_text())
    abandoned = run.with_name(run.name[:-6] + "zzzzzz")
    shutil.copytree(run, abandoned)
    (abandoned / "CHECKSUMS.txt").unlink()
    system.update(status="running", ended=None, exit_code=None, duration_s=None, pid=2**22 - 1)
    system["host"]["hostname"] = os.uname().nodename
    (abandoned / "system.json").write_text(json.dumps(system, indent=2) + "\n")
    before = verdicts_stored(template)
    first = run_doctor(template)
    forget_files(template)
    second = run_doctor(template)
    assert (second.files_read > 0, verdicts_stored(template)) == (True, before)
    assert "RUN006" in codes(first) and "RUN006" in codes(second)
    assert verdict(first) == verdict(second) == verdict(run_doctor(template, use_cache=False))


# --- 10. narrowed runs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "narrowed",
    [
        lambda repo: run_doctor(repo / DATASET),
        lambda repo: run_doctor(repo, since="HEAD~1"),
        lambda repo: run_doctor(repo, changed=[Path(DATA)]),
    ],
    ids=["subdirectory", "since", "files"],
)
def test_a_narrowed_run_never_uses_the_verdict(
    template: Path, narrowed: Callable[[Path], Report]
) -> None:
    (template / DATA).write_bytes((template / DATA).read_bytes() + b"5.0,3.0,1.0,0.2,setosa\n")
    commit_all(template, "a changed version")
    stored(template)
    forget_files(template)
    report = narrowed(template)
    assert report.files_read > 0
    assert "CHK005" in codes(report)
