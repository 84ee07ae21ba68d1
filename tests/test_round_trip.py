"""Every writer's output survives `git add -A && git commit`, `git clone` and `doctor --strict` in
the clone (Git stores no empty directory, no mode but +x, no mtime): TFC-0003 R1, TFC-0005 R8."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import RunCli, doctor_script, git, require_tool
from gpgkeys import make_key, user_home_dir
from runkit import RUN_PY, SLEEPER, run_py, runs, write_experiment
from stores import RUN, dvc_project, mlflow_store

MODEL = "models/iris-classifier"
STRICT_OK = re.compile(r"OK \(strict\): 0 errors, 0 warnings, 0 info; \d+ artifacts checked, \d+ files hashed\n")  # fmt: skip


def commit_everything(repo: Path, message: str = "round trip") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


def assert_survives(repo: Path, *, commit: bool = True) -> None:
    """What a teammate gets (everything committed as `git add -A` sees it, unless the writer
    committed itself), cloned, passes doctor --strict."""
    if commit:
        commit_everything(repo)
    clone = repo.parent / f"{repo.name}-clone"
    git(repo.parent, "clone", "-q", str(repo), str(clone))
    report = doctor_script(clone, "--strict")
    assert (report.returncode, report.stderr) == (0, ""), report.stdout
    assert STRICT_OK.fullmatch(report.stdout), report.stdout


@pytest.fixture
def repo(template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fork, with Git LFS set up as the README asks (for this test's HOME: clones too)."""
    require_tool("git-lfs")
    git(template, "lfs", "install")
    monkeypatch.chdir(template)
    return template


def write_prose(strata: RunCli, version: str, document: str) -> None:
    """What people do before committing a new version: write every section, then re-seal."""
    path = Path(version) / document
    path.write_text(path.read_text().replace("_To be written._", "Written for the test."))
    assert strata("checksum", version)[0] == 0


def new_run(repo: Path, *args: str, code: int = 0) -> str:
    before = set(runs(repo))
    result = run_py(repo, *args)
    assert result.returncode == code, result.stderr
    [run_id] = set(runs(repo)) - before
    return run_id


# --- tools/run.py --------------------------------------------------------------------------------


def test_a_run_that_succeeded(repo: Path) -> None:
    run_id = new_run(repo, "--experiment", "experiments/my_experiment.yaml")
    assert (repo / "runs" / run_id / "artifacts" / "model.json").is_file()
    assert_survives(repo)


def test_a_run_that_failed_leaves_no_empty_artifacts(repo: Path) -> None:
    spec = write_experiment(repo, "fails", "command: [sh, -c, 'exit 1']\n")
    run_id = new_run(repo, "--experiment", spec, code=1)
    assert not (repo / "runs" / run_id / "artifacts").exists()  # TFC-0003 R1
    assert_survives(repo)


def test_empty_directories_the_command_made_are_not_part_of_the_record(repo: Path) -> None:
    spec = write_experiment(
        repo, "dirs", 'command: [sh, -c, "mkdir -p $STRATA_OUTPUT_DIR/a/b && touch $STRATA_OUTPUT_DIR/x"]\n'
    )  # fmt: skip
    run_id = new_run(repo, "--experiment", spec)
    assert [p.name for p in (repo / "runs" / run_id / "artifacts").iterdir()] == ["x"]
    assert_survives(repo)


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_run_that_was_interrupted(repo: Path, sent: signal.Signals, code: int) -> None:
    spec = write_experiment(
        repo, "slow", "command: [python, experiments/sleeper.py]\n",
        {"experiments/sleeper.py": SLEEPER},
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, RUN_PY, "--experiment", spec], cwd=repo, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(sent)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    [run_id] = runs(repo)
    assert '"status": "interrupted"' in (repo / "runs" / run_id / "system.json").read_text()
    assert not (repo / "runs" / run_id / "artifacts").exists()
    assert_survives(repo)


def test_a_reused_run(repo: Path) -> None:
    spec = "experiments/my_experiment.yaml"
    run_id = new_run(repo, "--experiment", spec)
    reused = run_py(repo, "--experiment", spec, "--reuse")
    assert reused.returncode == 0 and reused.stderr.startswith(f"[strata] {run_id} reused: ")
    assert runs(repo) == [run_id]
    assert_survives(repo)


def test_a_reproduction(repo: Path) -> None:
    run_id = new_run(repo, "--experiment", "experiments/my_experiment.yaml")
    commit_everything(repo, "the run to reproduce")
    made = new_run(repo, "--reproduce", run_id)
    assert (repo / "runs" / made / "reproduction.json").is_file()
    assert_survives(repo)


# --- importers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("outputs", [True, False], ids=["with-artifacts", "without"])
def test_an_mlflow_import(repo: Path, strata: RunCli, tmp_path: Path, outputs: bool) -> None:
    store = mlflow_store(tmp_path)
    if not outputs:
        shutil.rmtree(store / "7" / RUN / "artifacts")
    code, out, _ = strata("import", "mlflow", str(store))
    assert (code, out.splitlines()[-1]) == (0, "1 imported, 0 skipped, 0 refused")
    [run_id] = runs(repo)
    assert (repo / "runs" / run_id / "artifacts").exists() is outputs
    assert_survives(repo)


def test_a_dvc_import(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    code, out, _ = strata("import", "dvc", str(dvc_project(tmp_path)))
    assert (code, out.splitlines()[-1]) == (0, "1 imported, 0 skipped, 0 refused")
    [run_id] = runs(repo)
    assert not (repo / "runs" / run_id / "artifacts").exists()  # DVC outputs stay in its cache
    assert_survives(repo)


# --- registry ------------------------------------------------------------------------------------


def test_a_dataset_added(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    data = tmp_path / "points"
    (data / "train").mkdir(parents=True)
    (data / "test").mkdir()
    (data / "train" / "rows.csv").write_text("x,y\n1,2\n3,4\n")
    (data / "test" / "rows.csv").write_text("x,y\n5,6\n")
    code, _, err = strata("dataset", "add", "points", str(data), "--license", "CC0-1.0",
                          "--source", "made up")  # fmt: skip
    assert (code, err) == (0, "")
    write_prose(strata, "datasets/points/v1", "datasheet.md")
    assert_survives(repo)


def register(repo: Path, strata: RunCli, name: str) -> str:
    run_id = new_run(repo, "--experiment", "experiments/my_experiment.yaml")
    code, _, err = strata("model", "register", name, "--from-run", run_id,
                          "--task", "classification", "--license", "MIT")  # fmt: skip
    assert (code, err) == (0, "")
    write_prose(strata, f"models/{name}/v1", "card.md")
    return run_id


def test_a_model_registered(repo: Path, strata: RunCli) -> None:
    register(repo, strata, "iris-b")
    assert_survives(repo)


def test_a_model_promoted(repo: Path, strata: RunCli) -> None:
    register(repo, strata, "iris-b")
    code, out, err = strata("model", "promote", "iris-b", "v1", "--to", "staging")
    assert (code, out, err) == (0, "models/iris-b@v1: experimental -> staging\n", "")
    assert_survives(repo)


def test_promote_commit_refuses_a_version_a_clone_could_not_verify(
    repo: Path, strata: RunCli
) -> None:
    run_id = register(repo, strata, "iris-b")
    head = git(repo, "rev-parse", "HEAD")
    promote = ("model", "promote", "iris-b", "v1", "--to", "staging", "--commit")
    refused = (
        "is not committed or has uncommitted changes, so the commit would name a version no "
        "clone can verify; commit it first, or add --with-lineage to commit it with the promotion"
    )
    assert strata(*promote) == (2, "", f"strata: error: --commit: models/iris-b/v1 (and 1 more) {refused}\n")  # fmt: skip
    commit_everything(repo, "iris-b v1")
    (repo / "runs" / run_id / "README.md").write_text("a note, not yet committed\n")
    assert strata(*promote) == (2, "", f"strata: error: --commit: runs/{run_id} {refused}\n")
    assert not (repo / "models/iris-b/stages.yaml").exists()
    assert git(repo, "rev-parse", "HEAD^") == head
    (repo / "runs" / run_id / "README.md").unlink()
    code, out, err = strata(*promote)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "models/iris-b@v1: experimental -> staging"
    assert git(repo, "status", "--porcelain") == ""
    assert_survives(repo, commit=False)


def test_promote_with_lineage_commits_the_version_and_its_run_with_it(
    repo: Path, strata: RunCli
) -> None:
    run_id = register(repo, strata, "iris-b")
    promote = ("model", "promote", "iris-b", "v1", "--to", "staging", "--with-lineage")
    (repo / "runs" / run_id).rename(repo / "elsewhere")
    assert strata(*promote) == (
        2, "", f"strata: error: --with-lineage: runs/{run_id} does not exist; restore it first\n"
    )  # fmt: skip
    assert not (repo / "models/iris-b/stages.yaml").exists()
    (repo / "elsewhere").rename(repo / "runs" / run_id)
    code, out, err = strata(*promote)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "models/iris-b@v1: experimental -> staging"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").splitlines() == [
        "models/iris-b/stages.yaml",
        *sorted(f"models/iris-b/v1/{p.name}" for p in (repo / "models/iris-b/v1").iterdir()),
        *git(repo, "ls-files", f"runs/{run_id}").split(),
    ]
    assert git(repo, "status", "--porcelain") == ""
    assert_survives(repo, commit=False)


def test_a_model_aliased(repo: Path, strata: RunCli) -> None:
    assert strata("model", "alias", "iris-classifier", "champion", "v1") == (
        0, "models/iris-classifier: champion -> v1\n", "",
    )  # fmt: skip
    assert_survives(repo)


# --- keys and signatures -------------------------------------------------------------------------


def test_a_key_added(repo: Path, strata: RunCli) -> None:
    key = make_key(user_home_dir(), "Alice <alice@example.org>")
    code, _, err = strata("keys", "add", key.fingerprint)
    assert (code, err) == (0, "")
    assert_survives(repo)


def test_a_signature(repo: Path, strata: RunCli) -> None:
    key = make_key(user_home_dir(), "Alice <alice@example.org>")
    assert strata("keys", "add", key.fingerprint)[0] == 0
    code, out, err = strata("sign", f"{MODEL}/v1")
    assert (code, err) == (0, "")
    assert out.startswith(f"{MODEL}/v1: signed by {key.fingerprint} ")
    assert_survives(repo)


# --- bundles -------------------------------------------------------------------------------------


def test_a_bundle_imported(
    repo: Path, strata: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool("git-lfs")
    bundle = tmp_path / "work.bundle"
    assert strata("bundle", "create", "main", "-o", str(bundle))[0] == 0
    target = tmp_path / "b"
    target.mkdir()
    git(target, "init", "-q", "-b", "main")
    monkeypatch.chdir(target)
    code, out, err = strata("bundle", "import", str(bundle))
    assert (code, err) == (0, "") and "checked out main; doctor:" in out
    assert_survives(target)
