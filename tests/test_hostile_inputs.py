"""Hostile inputs that once raised tracebacks or leaked files (issue 15, classes 8 and 9): symlinked
directories on the way into a source (TFC-0003 R14, TFC-0004 R11, TFC-0008 R14), and numbers and
depth past what Python's parsers take (TFC-0006: a diagnostic or one error line, never a traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, RunCli, commit_all, doctor_script, git, require_tool, shipped_runs
from stores import RUN, T0, mlflow_store
from strataml.importers import record
from strataml.integrity.hashing import hash_bytes
from strataml.safeopen import LinkOnPathError, read_beneath

SECRET = "hunter2-do-not-copy"
LINKED = pytest.mark.hostile_pr("symlinked-import")
NUMBERS = pytest.mark.hostile_pr("hostile-numbers")
HUGE = "7" * 5000


def _outside(tmp_path: Path) -> Path:
    """A directory outside every source, holding what a link would leak."""
    outside = tmp_path / "outside"
    (outside / "plots" / "metrics").mkdir(parents=True)
    (outside / "secret.yaml").write_text(f"password: {SECRET}\n")
    (outside / "m.json").write_text(f'{{"leak": 1, "password": "{SECRET}"}}')
    (outside / "plots" / "metrics" / "acc.tsv").write_text("step\tacc\n0\t0.5\n")
    return outside


def _leaked(repo: Path) -> list[Path]:
    return [p for p in repo.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]


def _new_runs(repo: Path) -> list[str]:
    runs = repo / "runs"
    return (
        sorted(p.name for p in runs.iterdir() if p.name.startswith("run-")) if runs.is_dir() else []
    )


def _unchanged(repo: Path) -> None:
    assert _new_runs(repo) == sorted(shipped_runs())
    assert _leaked(repo) == []
    scratch = repo / ".strata" / "tmp"
    assert not scratch.exists() or list(scratch.iterdir()) == []


# --- class 8: symlinked directories --------------------------------------------------------------


def _dvc(tmp_path: Path, dvc_yaml: str) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "params.yaml").write_text("lr: 0.1\n")
    (project / "dvc.yaml").write_text(dvc_yaml)
    return project


@LINKED
@pytest.mark.parametrize(
    ("dvc_yaml", "link", "refused"),
    [
        ("params:\n- ext/secret.yaml\n", "ext", "ext"),
        ("metrics:\n- ext/m.json\n", "ext", "ext"),
        ("stages: {}\n", "dvclive", "dvclive"),
        ("stages: {}\n", "dvclive/plots", "dvclive/plots"),
    ],
    ids=["params", "metrics", "plots-dvclive", "plots-deeper"],
)
def test_dvc_never_reads_through_a_symlinked_directory(
    dvc_yaml: str, link: str, refused: str, tmp_path: Path, template: Path, strata: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    outside = _outside(tmp_path)
    project = _dvc(tmp_path, dvc_yaml)
    (project / link).parent.mkdir(parents=True, exist_ok=True)
    (project / link).symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(template)
    assert strata("import", "dvc", str(project)) == (
        1,
        f"refused   dvc workspace: {project / refused}: a symlink, which is never followed; "
        "the run is not imported\n0 imported, 0 skipped, 1 refused\n",
        "",
    )
    _unchanged(template)


@LINKED
def test_dvc_refuses_a_link_that_stays_inside_the_project(
    tmp_path: Path, template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _dvc(tmp_path, "params:\n- alias/more.yaml\n")
    (project / "real").mkdir()
    (project / "real" / "more.yaml").write_text("b: 2\n")
    (project / "alias").symlink_to("real", target_is_directory=True)
    monkeypatch.chdir(template)
    code, out, _ = strata("import", "dvc", str(project))
    assert (code, out.splitlines()[0]) == (
        1,
        f"refused   dvc workspace: {project}/alias: a symlink, which is never followed; "
        "the run is not imported",
    )
    _unchanged(template)


def _store(base: Path) -> Path:
    """The hand-written MLflow store of tests/stores.py, with one loss point."""
    store = mlflow_store(base)
    (store / "7" / RUN / "metrics" / "loss").write_text(f"{T0 + 1} 0.5 0\n")
    return store


@LINKED
@pytest.mark.parametrize("part", ["params", "metrics", "artifacts"])
def test_mlflow_never_reads_through_a_symlinked_directory(
    part: str, tmp_path: Path, template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = _outside(tmp_path)
    store = _store(tmp_path)
    (store / "7" / RUN / part / "nested").symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(template)
    assert strata("import", "mlflow", str(store)) == (
        1,
        f"refused   mlflow {RUN[:12]}…: {store}/7/{RUN}/{part}/nested: a symlink, which is never "
        "followed; the run is not imported\n0 imported, 0 skipped, 1 refused\n",
        "",
    )
    _unchanged(template)


@LINKED
@pytest.mark.parametrize(
    "rel", ["7/RUN/params/lr", "7/RUN/metrics/loss", "7/RUN/artifacts/w.bin", "7/meta.yaml"]
)
def test_every_importer_read_walks_beneath_its_source(rel: str, tmp_path: Path) -> None:
    """What the importers' reads rest on: a directory swapped for a link after any check made
    before the read (here: the experiment directory) is refused at the read itself."""
    store = _store(tmp_path)
    moved = (store / "7").rename(tmp_path / "elsewhere")
    (store / "7").symlink_to(moved, target_is_directory=True)
    rel = rel.replace("RUN", RUN)
    with pytest.raises(record.SourceError) as caught:
        record.read_text(store, rel)
    assert str(caught.value) == (
        f"{store}/7: a symlink, which is never followed; the run is not imported"
    )
    with pytest.raises(
        LinkOnPathError, match=r"^\[Errno 40\] 7 is a symlink, which is never followed$"
    ):
        read_beneath(store, rel)
    for bad in ("../mlruns/7/meta.yaml", "/etc/hostname", ""):
        with pytest.raises(LinkOnPathError, match="is not a relative path inside its directory"):
            read_beneath(store, bad)


@LINKED
def test_dataset_add_never_copies_through_a_symlink(
    tmp_path: Path, template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = _outside(tmp_path)
    data = tmp_path / "data"
    (data / "test").mkdir(parents=True)
    (data / "test" / "a.csv").write_text("x\n1\n")
    (data / "train").symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(template)
    args = ("--license", "CC0-1.0", "--source", "x")
    assert strata("dataset", "add", "leak", str(data), *args) == (
        2,
        "",
        f"strata: error: {data}/train: not a regular file (symlinks, FIFOs and devices cannot "
        "be versioned)\n",
    )
    # A source inside the repository reached through a symlinked directory of a pull request.
    (template / "incoming").mkdir()
    (template / "incoming" / "ext").symlink_to(outside, target_is_directory=True)
    assert strata("dataset", "add", "leak", "incoming/ext/plots", *args) == (
        2,
        "",
        "strata: error: incoming/ext: is a symlink; give the real file or directory\n",
    )
    assert not (template / "datasets" / "leak").exists()
    _unchanged(template)


@LINKED
def test_bundle_import_never_writes_through_a_symlink_in_the_lfs_store(
    template: Path, tmp_path: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool("git-lfs")
    git(template, "lfs", "install", "--local")
    data = tmp_path / "arrays"
    (data / "train").mkdir(parents=True)
    (data / "train" / "x.npz").write_bytes(os.urandom(3000))
    monkeypatch.chdir(template)
    code, _, err = strata("dataset", "add", "arrays", str(data), "--license", "CC0-1.0",
                          "--source", "random bytes")  # fmt: skip
    assert (code, err) == (0, "")
    commit_all(template, "arrays v1")
    oid = (
        git(template, "cat-file", "-p", "HEAD:datasets/arrays/v1/train/x.npz")
        .split("oid sha256:")[1]
        .split()[0]
    )
    bundle = tmp_path / "x.bundle"
    assert strata("bundle", "create", "main", "-o", str(bundle))[0] == 0
    target = tmp_path / "b"
    target.mkdir()
    git(target, "init", "-q", "-b", "main")
    git(target, "commit", "-q", "--allow-empty", "-m", "start")
    store = target / ".git" / "lfs" / "objects"
    store.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (store / oid[:2]).symlink_to(elsewhere, target_is_directory=True)
    refs = git(target, "for-each-ref")
    monkeypatch.chdir(target)
    assert strata("bundle", "import", str(bundle), "--branch", "imported") == (
        2,
        "",
        f"strata: error: {store}/{oid[:2]}: a symlink in the LFS store, which is never followed; "
        "nothing imported\n",
    )
    assert (git(target, "for-each-ref"), list(elsewhere.iterdir())) == (refs, [])


# --- class 9: hostile numbers and depth ---------------------------------------------------------


def _checksum_line(repo: Path, path: str, line: int) -> str:
    actual = hash_bytes((repo / path).read_bytes())[:12]
    listed = (repo / Path(path).parent / "CHECKSUMS.txt").read_text().splitlines()[line - 1][:12]
    return (
        f"  {Path(path).name}: error CHK005 content does not match CHECKSUMS.txt line {line} "
        f"(blake3 {actual}…, listed {listed}…)"
    )


@NUMBERS
@pytest.mark.parametrize(
    ("extra", "finding"),
    [
        (f"extra: {HUGE}\n", "metadata.yaml:23: error SCH001 an integer of more than 4000 digits"),
        (f"extra: 0x{'f' * 5000}\n", "metadata.yaml:23: error SCH001 an integer of more than 4000 digits"),
        ("extra: " + "[" * 100_000 + "]" * 100_000 + "\n", "metadata.yaml: error SCH005 nested deeper than 64 levels"),
    ],
    ids=["decimal", "hexadecimal", "deep"],
)  # fmt: skip
def test_hostile_metadata_yaml_is_one_finding_in_every_reader(
    extra: str, finding: str, base_repo: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = base_repo / "datasets" / "toy" / "v1" / "metadata.yaml"
    meta.write_text(meta.read_text() + extra)
    code, out, err = strata("doctor", str(base_repo))
    rule = "SCH001" if "SCH001" in finding else "SCH005"
    hint = {
        "SCH001": "fix the YAML syntax; quote strings holding ': ' or '#'",
    }.get(rule)
    lines = out.splitlines()
    assert (code, err, lines[0], lines[1]) == (
        1, "", "datasets/toy/v1", _checksum_line(base_repo, "datasets/toy/v1/metadata.yaml", 2),
    )  # fmt: skip
    assert f"  {finding}" in lines
    if hint:
        assert lines[lines.index(f"  {finding}") + 1] == f"    hint: {hint}"
    assert lines[-1] == "FAILED: 2 errors, 0 warnings, 0 info; 3 artifacts checked, 14 files hashed"
    monkeypatch.chdir(base_repo)
    problem = finding.split(" error ")[1][7:]
    where = f"{meta}:23" if "SCH001" in finding else str(meta)
    assert strata("dataset", "show", "datasets/toy@v1") == (
        2, "", f"strata: error: {where}: {problem}; run `strata doctor`\n"
    )  # fmt: skip
    code, out, err = strata("dataset", "list")
    listed = where.removeprefix(f"{base_repo}/")  # a listing names the file in the repository
    assert (code, out, err) == (
        0, f"datasets/toy@v1  ?    PROBLEM {listed}: {problem}; run `strata doctor`\n", ""
    )  # fmt: skip


@NUMBERS
@pytest.mark.parametrize(
    ("value", "parse", "finding"),
    [
        (HUGE, "an integer of more than 4000 digits", "metrics.json:1: error SCH001 an integer of more than 4000 digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply", "metrics.json: error SCH005 nested deeper than 64 levels"),
    ],
    ids=["huge-integer", "deep"],
)  # fmt: skip
def test_hostile_metrics_json_is_one_finding_in_every_reader(
    value: str, parse: str, finding: str, base_repo: Path, strata: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    run = base_repo / "runs" / "run-2026-11-25-aiex3k"
    metrics = run / "metrics.json"
    metrics.write_text(metrics.read_text().replace("{", f'{{"hostile": {value}, ', 1))
    code, out, err = strata("doctor", str(base_repo))
    assert (code, err) == (1, "")
    assert f"  {finding}" in out.splitlines()
    monkeypatch.chdir(base_repo)
    code, out, err = strata("runs", "show", run.name)
    assert (code, err, out.splitlines()[-1]) == (
        0,
        "",
        f"problem     metrics.json is not JSON: {parse}",
    )
    code, out, err = strata("runs", "list")
    assert (code, err, out.splitlines()[-1]) == (
        0, "", "1 run; 1 with an unreadable record (marked !; see `strata doctor runs`)"
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "index.py")],
        cwd=base_repo, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")


PYPROJECT_CASES = {
    "huge-integer": (
        f"x = {HUGE}\n",
        "  pyproject.toml:6: error CFG002 an integer of more than 4000 digits (at line 6)",
    ),
    "huge-hexadecimal": (
        f"x = 0x{'f' * 5000}\n",
        "  pyproject.toml: error CFG002 an integer of more than 4000 digits",
    ),
    "deep-array": (
        "a = " + "[" * 1500 + "]" * 1500 + "\n",
        "  pyproject.toml: error CFG002 nested deeper than 64 levels",
    ),
    "deep-but-parsable": (
        "a = " + "[" * 100 + "]" * 100 + "\n",
        "  pyproject.toml: error CFG002 nested deeper than 64 levels",
    ),
}


@NUMBERS
@pytest.mark.parametrize("case", sorted(PYPROJECT_CASES))
def test_a_hostile_pyproject_breaks_no_command(
    case: str, base_repo: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, finding = PYPROJECT_CASES[case]
    pyproject = base_repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + text)
    commit_all(base_repo, "hostile pyproject")
    done = doctor_script(base_repo, "--strict")
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.splitlines()[-5:-2] == [
        "repository",
        finding,
        "    hint: see schemas/strataml-config.schema.json; until it is fixed, doctor skips what"
        " reads it (signature trust and requirements, policy, allow-top-level, the LFS size limit)",
    ]
    monkeypatch.chdir(base_repo)
    code, out, err = strata("--help")
    assert (code, err) == (0, "")
    code, out, err = strata("runs", "list")
    assert (code, err, out.splitlines()[-1]) == (0, "", "1 run")
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "index.py")],
        cwd=base_repo, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")


@NUMBERS
@pytest.mark.parametrize(
    ("start", "shown"),
    [(10**20, "100000000000000000000"), (-(10**20), "-100000000000000000000"), ('"abc"', "'abc'")],
    ids=["far-future", "far-past", "not-a-number"],
)
def test_absurd_mlflow_times_are_refused_lines(
    start: object, shown: str, tmp_path: Path, template: Path, strata: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    store = _store(tmp_path)
    meta = store / "7" / RUN / "meta.yaml"
    meta.write_text(meta.read_text().replace(f"start_time: {T0}", f"start_time: {start}"))
    monkeypatch.chdir(template)
    assert strata("import", "mlflow", str(store)) == (
        1,
        f"refused   mlflow {RUN[:12]}…: {meta}:4: start_time is {shown}, not milliseconds since "
        "1970\n0 imported, 0 skipped, 1 refused\n",
        "",
    )
    _unchanged(template)


@NUMBERS
@pytest.mark.parametrize(
    "line", [f"{10**20} 0.5 0", f"{HUGE} 0.5 0", f"{T0} 0.5 {HUGE}", f"-{10**20} 0.5 0"]
)
def test_absurd_mlflow_metric_lines_are_refused(
    line: str, tmp_path: Path, template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    loss = store / "7" / RUN / "metrics" / "loss"
    loss.write_text(line + "\n")
    monkeypatch.chdir(template)
    assert strata("import", "mlflow", str(store)) == (
        1,
        f"refused   mlflow {RUN[:12]}…: {loss}:1: not 'timestamp value step': {line[:60]!r}\n"
        "0 imported, 0 skipped, 1 refused\n",
        "",
    )
    _unchanged(template)


@NUMBERS
@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda p: (p / "params.yaml").write_text(f"lr: {HUGE}\n"),
         "{p}/params.yaml:1: an integer of more than 4000 digits"),
        (lambda p: (p / "params.yaml").write_text("lr: " + "[" * 100_000 + "]" * 100_000 + "\n"),
         "{p}/params.yaml: nested deeper than 64 levels"),
        (lambda p: (p / "plots").mkdir() or (p / "dvclive/plots/metrics").mkdir(parents=True) or (
            p / "dvclive/plots/metrics/acc.tsv").write_text(f"timestamp\tstep\tacc\n{10**20}\t0\t0.5\n"),
         "{p}/dvclive/plots/metrics/acc.tsv:2: timestamp is not between 1970 and 9999: '"
         + f"{10**20}\\t0\\t0.5'"),
    ],
    ids=["huge-param", "deep-param", "dvclive-time"],
)  # fmt: skip
def test_hostile_dvc_numbers_are_refused_lines(
    write: object, expected: str, tmp_path: Path, template: Path, strata: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    project = _dvc(tmp_path, "stages: {}\n")
    write(project)  # type: ignore[operator]
    monkeypatch.chdir(template)
    assert strata("import", "dvc", str(project)) == (
        1,
        f"refused   dvc workspace: {expected.format(p=project)}\n0 imported, 0 skipped, 1 refused\n",
        "",
    )
    _unchanged(template)
