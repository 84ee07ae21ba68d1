"""Hostile pull requests: each is written to turn the gate green without earning it (TFC-0008 R16).

Every case commits its change on a branch of a real fork, clones it as CI would, and runs the
real entry point there; passing means the gate caught it. The other classes live beside their
code: merges (test_history_merges), keys (test_keys_gate), policy and claimed metrics
(test_policy_gate), symlinked imports and hostile numbers (test_hostile_inputs), runs that
cannot be sealed (test_run_scale).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import commit_all, doctor_script, git, installed_script, require_tool, settle
from strataml.doctor.engine import run_doctor
from strataml.integrity.cache import CACHE_DIR, CACHE_FILE

MODEL = "models/iris-classifier/v1"
DATASET = "datasets/iris/v1"
POINTER = f"version https://git-lfs.github.com/spec/v1\noid sha256:{'ab' * 32}\nsize 1234\n"


def pull_request(fork: Path, tmp_path: Path, change: Callable[[Path], None]) -> Path:
    """Commit `change` on branch `pr` of the fork and clone it, as CI checks a pull request out."""
    git(fork, "checkout", "-q", "-b", "pr")
    change(fork)
    commit_all(fork, "pull request")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--branch", "pr", str(fork), str(clone))
    return clone


def strata_in(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `strata` command, run in `repo` as a user would."""
    return subprocess.run(
        [installed_script("strata"), *args], cwd=repo, capture_output=True, text=True, timeout=120
    )


def findings(report: str) -> list[str]:
    return [
        line.strip() for line in report.splitlines() if ": error " in line or ": warning " in line
    ]


def append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


# Class 2: pointer-shaped bytes never switch verification off.


@pytest.mark.hostile_pr("pointer-shaped")
def test_pointer_bytes_over_the_production_model_are_content(
    template: Path, tmp_path: Path
) -> None:
    clone = pull_request(
        template, tmp_path, lambda repo: (repo / MODEL / "model.json").write_text(POINTER)
    )
    report = doctor_script(clone, "--strict")
    assert report.returncode == 1
    assert any(
        line.startswith("model.json: error CHK005 content does not match CHECKSUMS.txt")
        for line in findings(report.stdout)
    )
    assert "LFS002" not in report.stdout
    b3sum = require_tool("b3sum")
    plain = subprocess.run(
        [b3sum, "--check", "CHECKSUMS.txt"], cwd=clone / MODEL, capture_output=True, text=True
    )
    assert "model.json: FAILED" in plain.stdout
    for command in (["checksum", "--check", MODEL], ["verify", MODEL]):
        done = strata_in(clone, *command)
        assert done.returncode == 1, command
        assert "CHK005" in done.stdout and "OK" not in done.stdout.split("\n")[-2]


@pytest.mark.hostile_pr("pointer-shaped")
def test_a_pointer_with_its_own_lfs_attribute_still_changes_a_committed_version(
    template: Path, tmp_path: Path
) -> None:
    def change(repo: Path) -> None:
        append(repo / ".gitattributes", f"{MODEL}/model.json filter=lfs diff=lfs merge=lfs -text\n")
        (repo / MODEL / "model.json").write_text(POINTER)

    clone = pull_request(template, tmp_path, change)
    report = doctor_script(clone, "--strict")
    assert report.returncode == 1
    assert any("error IMM001 modified by commit" in line for line in findings(report.stdout))


@pytest.mark.hostile_pr("pointer-shaped")
def test_verify_and_checksum_check_never_pass_content_that_is_not_here(
    template: Path, tmp_path: Path
) -> None:
    """An honest unpulled LFS file: doctor notes it; the verifying commands refuse to say OK."""
    version = template / "datasets/blobs/v1"

    def change(repo: Path) -> None:
        append(
            repo / ".gitattributes", "datasets/blobs/v1/data/data.bin filter=lfs diff=lfs -text\n"
        )
        source = tmp_path / "blobs"
        source.mkdir()
        (source / "data.bin").write_bytes(b"\x00\x01" * 600)
        done = subprocess.run(
            [installed_script("strata"), "dataset", "add", "blobs", str(source), "--description", "bytes",
             "--license", "CC0-1.0", "--source", "generated"],
            cwd=repo, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        content = (version / "data/data.bin").read_bytes()
        oid = hashlib.sha256(content).hexdigest()
        pointer = (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(content)}\n"
        )
        (version / "data/data.bin").write_text(pointer)

    clone = pull_request(template, tmp_path, change)
    for command in (["checksum", "--check", "datasets/blobs/v1"], ["verify", "datasets/blobs/v1"]):
        done = strata_in(clone, *command)
        assert done.returncode == 1, command
        assert "error LFS002 LFS content not pulled" in done.stdout, command


# Class 3: the cache may make doctor faster, never change a finding.


def _ci_cache(template: Path, tmp_path: Path) -> Path:
    """The cache main's CI saved: a doctor run on a clone of main."""
    main = tmp_path / "main-ci"
    git(tmp_path, "clone", "-q", str(template), str(main))
    assert run_doctor(settle(main)).diagnostics == ()
    return main / CACHE_DIR


@pytest.mark.hostile_pr("cache")
def test_a_journal_shipped_beside_the_restored_cache_voids_it(
    template: Path, tmp_path: Path
) -> None:
    saved = _ci_cache(template, tmp_path)

    def change(repo: Path) -> None:
        journal = repo / CACHE_DIR / f"{CACHE_FILE}-journal"
        journal.parent.mkdir(parents=True)
        journal.write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + b"\0" * 504)  # a journal header
        git(repo, "add", "-f", "--", ".strata")
        flip = repo / MODEL / "model.json"
        flip.write_bytes(flip.read_bytes().replace(b"1", b"2", 1))

    clone = pull_request(template, tmp_path, change)
    shutil.copytree(saved, clone / CACHE_DIR, dirs_exist_ok=True)  # the CI cache restored
    report = run_doctor(clone, strict=True)
    codes = sorted({d.code for d in report.diagnostics})
    assert "LAY017" in codes and "CHK005" in codes
    assert report.files_read == report.files_hashed  # nothing came from the cache


def test_a_stray_file_in_the_cache_directory_starts_it_again(template: Path) -> None:
    assert run_doctor(settle(template)).files_read == 31
    stray = template / CACHE_DIR / f"{CACHE_FILE}-wal"
    stray.write_bytes(b"not the tool's")
    assert run_doctor(template).files_read == 31  # rebuilt, not trusted
    assert not stray.exists()
    assert run_doctor(template).files_read == 0


TRANSFORMS = {
    "encoding": "working-tree-encoding=UTF-16LE",
    "crlf": "text eol=crlf",
    "ident": "ident",
    "filter": "filter=strata-test",
}


@pytest.mark.hostile_pr("cache")
@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_a_transforming_attribute_is_never_answered_from_the_blob(
    template: Path, tmp_path: Path, transform: str
) -> None:
    saved = _ci_cache(template, tmp_path)
    target = f"{MODEL}/card.md"

    def change(repo: Path) -> None:
        append(repo / ".gitattributes", f"{target} {TRANSFORMS[transform]}\n")
        if transform == "ident":
            append(repo / target, "$Id$\n")
            subprocess.run(
                [installed_script("strata"), "checksum", MODEL],
                cwd=repo,
                check=True,
                capture_output=True,
            )

    clone = pull_request(template, tmp_path, change)
    if transform == "filter":  # the reviewer's machine has a filter configured for it
        git(clone, "config", "filter.strata-test.smudge", "sed s/Intended/Extended/")  # same size
        git(clone, "config", "filter.strata-test.clean", "sed s/Extended/Intended/")
    (clone / target).unlink()
    git(clone, "checkout", "--", target)  # checked out under the new attributes
    shutil.copytree(saved, clone / CACHE_DIR, dirs_exist_ok=True)
    cached = run_doctor(settle(clone), strict=True)
    assert cached.files_read < cached.files_hashed  # the restored cache did answer for the rest
    audited = run_doctor(clone, strict=True, use_cache=False)
    assert cached.diagnostics == audited.diagnostics
    assert any(d.code == "CHK005" and d.path == target for d in audited.diagnostics)


# Class 4: --since widens to what a change governs.


@pytest.mark.hostile_pr("since")
@pytest.mark.parametrize(
    ("path", "checked"),
    [
        ("models/iris-classifier/stages.yaml", 1),
        ("pyproject.toml", 6),
        (".gitattributes", 6),
        ("keys/README.md", 6),
        ("schemas/README.md", 6),
        ("runs/.gitattributes", 6),
    ],
)
def test_since_widens_to_what_a_change_governs(template: Path, path: str, checked: int) -> None:
    base = git(template, "rev-parse", "HEAD").strip()
    append(template / path, "\n" if path.endswith((".yaml", ".toml")) else "# touched\n")
    commit_all(template, "touch a governing file")
    report = run_doctor(template, since=base)
    assert (report.artifacts, report.artifacts_total) == (checked, 6)


# Class 7: a pull request does not control its own judge (doctor --base).

BASE = "origin/main"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def judged(clone: Path, *extra: str) -> tuple[int, list[str]]:
    done = doctor_script(clone, "--strict", "--base", BASE, *extra)
    return done.returncode, findings(done.stdout)


def changes(lines: list[str]) -> list[str]:
    return [line.split(" CFG004 ", 1)[1] for line in lines if " CFG004 " in line]


@pytest.mark.hostile_pr("own-judge")
def test_an_ignore_added_by_the_pull_request_does_not_apply(template: Path, tmp_path: Path) -> None:
    def change(repo: Path) -> None:
        edit(repo / "pyproject.toml", "ignore = []", 'ignore = ["IMM", "CHK"]')
        edit(repo / MODEL / "card.md", "Retrain", "Re-train")

    clone = pull_request(template, tmp_path, change)
    assert doctor_script(clone, "--strict").returncode == 0  # its own rules let it through
    code, lines = judged(clone)
    commit = git(clone, "rev-parse", "HEAD").strip()[:12]
    base = git(clone, "rev-parse", BASE).strip()[:12]
    assert code == 1
    assert any("card.md: error CHK005 " in line for line in lines), lines
    assert changes(lines) == [
        f"doctor ignore added: IMM, CHK (by commit {commit}, not on the base {base})"
    ]


@pytest.mark.hostile_pr("own-judge")
def test_per_path_ignores_policy_entries_and_limits_are_the_base_s(
    template: Path, tmp_path: Path
) -> None:
    def change(repo: Path) -> None:
        edit(repo / "pyproject.toml", "ignore = []", 'ignore = []\nallow-top-level = ["notes"]')
        edit(
            repo / "pyproject.toml",
            "[tool.strataml.policy.production]",
            '[tool.strataml.doctor.per-path-ignores]\n"models/**" = ["MOD", "POL"]\n\n'
            "[tool.strataml.lfs]\nmax-plain-bytes = 1000000000\n\n"
            "[tool.strataml.policy.production]",
        )
        edit(repo / "pyproject.toml", "min = 0.9", "min = 0.0")

    clone = pull_request(template, tmp_path, change)
    code, lines = judged(clone)
    assert code == 1
    found = [text.split(" (by commit ")[0] for text in changes(lines)]
    assert found == [
        "LFS limits max-plain-bytes changed: (unset) → 1000000000",
        "allowed top-level entries added: notes",
        "per-path ignore models/** added: MOD, POL",
        "stage policy production.metrics[0].min changed: 0.9 → 0.0",
    ]


@pytest.mark.hostile_pr("own-judge")
def test_a_loosened_schema_does_not_apply(template: Path, tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).resolve().parents[1] / "schemas", template / "schemas")
    commit_all(template, "the fork keeps its schemas")
    git(template, "checkout", "-q", "main")

    def change(repo: Path) -> None:
        (repo / "schemas/dataset-metadata.schema.json").write_text("{}\n")
        edit(repo / DATASET / "metadata.yaml", "license:", "licence_was:")
        subprocess.run(
            [installed_script("strata"), "checksum", DATASET],
            cwd=repo,
            check=True,
            capture_output=True,
        )

    clone = pull_request(template, tmp_path, change)
    code, lines = judged(clone)
    assert code == 1
    assert any(" error SCH" in line for line in lines)
    assert [c.split(" (by ")[0] for c in changes(lines)] == ["schema changed"]


@pytest.mark.hostile_pr("own-judge")
def test_a_key_the_pull_request_trusts_itself_does_not_count(
    template: Path, tmp_path: Path
) -> None:
    require_tool("gpg")
    from gpgkeys import make_key, user_home_dir

    mallory = make_key(user_home_dir(), "Mallory <mallory@example.org>")

    def change(repo: Path) -> None:
        public = tmp_path / "mallory.asc"
        public.write_bytes(mallory.public)
        for command in (
            ["keys", "add", str(public)],
            ["sign", MODEL, "--key", mallory.fingerprint],
        ):
            done = subprocess.run(
                [installed_script("strata"), *command], cwd=repo, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stdout + done.stderr

    clone = pull_request(template, tmp_path, change)
    assert doctor_script(clone, "--strict").returncode == 0  # its own trust list says yes
    code, lines = judged(clone)
    assert code == 1
    assert any("SIGNATURE.asc: error SIG004" in line for line in lines), lines
    assert [c.split(" (by ")[0] for c in changes(lines)] == [
        "key file added",
        f"trust list added: {mallory.fingerprint}",
    ]


def test_an_honest_pull_request_passes_with_the_base_s_rules(
    template: Path, tmp_path: Path
) -> None:
    clone = pull_request(template, tmp_path, lambda repo: append(repo / "README.md", "More.\n"))
    assert judged(clone) == (0, [])


def test_a_base_that_is_not_a_commit_is_a_usage_error(template: Path) -> None:
    done = doctor_script(template, "--base", "no-such-ref")
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", "doctor: error: --base 'no-such-ref': no such commit\n",
    )  # fmt: skip


ROOT = Path(__file__).resolve().parents[1]


def _pull_request_workspace(template: Path, tmp_path: Path, hostile: bool) -> tuple[Path, str]:
    base = git(template, "rev-parse", "main").strip()

    def change(repo: Path) -> None:
        append(repo / "README.md", "More.\n")
        if hostile:
            edit(repo / "pyproject.toml", "ignore = []", 'ignore = ["IMM", "CHK"]')
            edit(repo / MODEL / "card.md", "Retrain", "Re-train")

    return pull_request(template, tmp_path, change), base


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The job's script as its runner runs it: the job's Python (setup-python, the image's) and
    the `strata` installed with it come first on PATH; here, this interpreter's."""
    import os
    import sys

    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "PATH": path, **env}, timeout=300,
    )  # fmt: skip


@pytest.mark.hostile_pr("own-judge")
@pytest.mark.parametrize("hostile", [True, False])
def test_github_pull_request_job_runs_as_written(
    template: Path, tmp_path: Path, hostile: bool
) -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / ".github/workflows/strataml.yml").read_text())
    job = workflow["jobs"]["doctor-pull-request"]
    assert workflow[True] == {
        "push": None,
        "pull_request_target": None,
    }  # YAML 1.1 reads on: as True
    steps = {s.get("name", s.get("uses", "").split("@")[0]): s for s in job["steps"]}
    assert steps["install the base's tool"]["run"] == "python -m pip install ./base"
    assert "actions/cache/restore@v4" in {s.get("uses") for s in job["steps"]}
    assert not any(s.get("uses", "").startswith("actions/cache@") for s in job["steps"])
    clone, base = _pull_request_workspace(template, tmp_path, hostile)
    pr = tmp_path / "workspace" / "pr"
    pr.parent.mkdir()
    clone.rename(pr)
    git(pr, "remote", "remove", "origin")  # the base commit arrives by the step's own fetch
    doctor = steps["doctor"]
    assert doctor["working-directory"] == "pr"
    env = {
        "BASE_SHA": base,
        "GITHUB_SERVER_URL": str(template.parent),
        "GITHUB_REPOSITORY": "template",
    }
    done = _bash(doctor["run"], pr, env)
    if not hostile:
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
        return
    assert (done.returncode, done.stderr) == (1, "")
    assert "card.md: error CHK005 content does not match" in done.stdout
    assert "warning CFG004 doctor ignore added: IMM, CHK" in done.stdout
    import json

    sarif = json.loads((pr.parent / "doctor.sarif").read_text())
    assert sorted({r["ruleId"] for r in sarif["runs"][0]["results"]}) == [
        "CFG004",
        "CHK005",
        "IMM001",
    ]


@pytest.mark.hostile_pr("own-judge")
def test_gitlab_merge_request_job_runs_as_written(template: Path, tmp_path: Path) -> None:
    import yaml

    job = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())["strataml-doctor-merge-request"]
    assert job["cache"]["policy"] == "pull"
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    clone, base = _pull_request_workspace(template, tmp_path, hostile=True)
    env = {"CI_MERGE_REQUEST_DIFF_BASE_SHA": base}
    setup = [line for line in job["before_script"] if not line.startswith("python -m pip")]
    done = _bash("\n".join([*setup, *job["script"]]), clone, env)
    assert (done.returncode, done.stderr) == (1, "")
    assert "card.md: error CHK005 content does not match" in done.stdout
    assert (tmp_path / "strataml-base" / "pyproject.toml").read_text() == git(
        clone, "show", f"{base}:pyproject.toml"
    )


CANDIDATES = (f"{MODEL}/card.md", f"{MODEL}/model.json", f"{DATASET}/train/iris.csv")
ATTRIBUTES = (
    "working-tree-encoding=UTF-16LE", "text eol=crlf", "text eol=lf", "ident", "-text", "text",
    "filter=strata-test", "crlf", "text=auto",
)  # fmt: skip
MUTATIONS = ("none", "crlf", "flip", "ident")


@pytest.mark.hostile_pr("cache")
def test_the_cache_never_changes_a_finding(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Random attributes and content changes on a pull request, checked out fresh with main's CI
    cache restored: doctor with the cache and without it report exactly the same (TFC-0008 R13)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    saved = _ci_cache(template, tmp_path_factory.mktemp("ci"))
    change = st.tuples(
        st.sampled_from(CANDIDATES), st.sampled_from(ATTRIBUTES), st.sampled_from(MUTATIONS)
    )

    @settings(max_examples=8, deadline=None)
    @given(st.lists(change, min_size=1, max_size=3), st.booleans())
    def check(changes: list[tuple[str, str, str]], autocrlf: bool) -> None:
        where = tmp_path_factory.mktemp("pr")
        fork = where / "fork"
        git(where, "clone", "-q", str(template), str(fork))
        for path, _, mutation in changes:
            target = fork / path
            if mutation == "crlf":
                target.write_bytes(target.read_bytes().replace(b"\n", b"\r\n"))
            elif mutation == "flip":
                target.write_bytes(target.read_bytes().replace(b"a", b"b", 1))
            elif mutation == "ident":
                append(target, "$Id$\n")
        git(fork, "add", "-A")
        git(fork, "commit", "-q", "--allow-empty", "-m", "pull request: content")
        for path, attribute, _ in changes:  # attributes last: what checkout will do to the bytes
            append(fork / ".gitattributes", f"{path} {attribute}\n")
        git(fork, "add", ".gitattributes")
        git(fork, "commit", "-q", "-m", "pull request: attributes")
        clone = where / "clone"
        git(where, "clone", "-q", str(fork), str(clone))
        git(clone, "config", "filter.strata-test.smudge", "sed s/a/A/")
        git(clone, "config", "filter.strata-test.clean", "sed s/A/a/")
        if autocrlf:
            git(clone, "config", "core.autocrlf", "true")
        for path in {path for path, _, _ in changes}:
            (clone / path).unlink()
        git(clone, "checkout", "--", ".")  # as checked out under the pull request's attributes
        shutil.copytree(saved, clone / CACHE_DIR, dirs_exist_ok=True)
        cached = run_doctor(settle(clone), strict=True)
        audited = run_doctor(clone, strict=True, use_cache=False)
        assert cached.diagnostics == audited.diagnostics

    check()


# Class 6, beyond the numbers: the weights are a claim too (TFC-0005 R14).


@pytest.mark.hostile_pr("claimed-weights")
def test_other_weights_under_an_honest_run_and_honest_metrics(
    template: Path, tmp_path: Path
) -> None:
    v2 = "models/iris-classifier/v2"

    def change(repo: Path) -> None:
        shutil.copytree(repo / MODEL, repo / v2)
        (repo / v2 / "SIGNATURE.asc").unlink()
        edit(repo / v2 / "metadata.yaml", "version: v1", "version: v2")
        weights = repo / v2 / "model.json"
        weights.write_bytes(weights.read_bytes().replace(b"0.", b"1.", 1))
        done = subprocess.run(
            [installed_script("strata"), "checksum", v2], cwd=repo, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr

    clone = pull_request(template, tmp_path, change)
    done = doctor_script(clone, "--strict")
    assert done.returncode == 1
    errors = [line for line in findings(done.stdout) if " error " in line]
    assert len(errors) == 1 and errors[0].startswith(
        "model.json: error MOD007 differs from runs/run-2026-11-25-sunrtb/artifacts/model.json"
    ), errors
