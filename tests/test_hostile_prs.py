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

from conftest import commit_all, doctor_script, git, require_tool
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
        done = subprocess.run(
            ["strata", *command], cwd=clone, capture_output=True, text=True, timeout=120
        )
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
            ["strata", "dataset", "add", "blobs", str(source), "--description", "bytes",
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
        done = subprocess.run(
            ["strata", *command], cwd=clone, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1, command
        assert "error LFS002 LFS content not pulled" in done.stdout, command


# Class 3: the cache may make doctor faster, never change a finding.


def _ci_cache(template: Path, tmp_path: Path) -> Path:
    """The cache main's CI saved: a doctor run on a clone of main."""
    main = tmp_path / "main-ci"
    git(tmp_path, "clone", "-q", str(template), str(main))
    assert run_doctor(main).diagnostics == ()
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
    assert run_doctor(template).files_read == 14
    stray = template / CACHE_DIR / f"{CACHE_FILE}-wal"
    stray.write_bytes(b"not the tool's")
    assert run_doctor(template).files_read == 14  # rebuilt, not trusted
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
            subprocess.run(["strata", "checksum", MODEL], cwd=repo, check=True, capture_output=True)

    clone = pull_request(template, tmp_path, change)
    if transform == "filter":  # the reviewer's machine has a filter configured for it
        git(clone, "config", "filter.strata-test.smudge", "sed s/Intended/Unintended/")
        git(clone, "config", "filter.strata-test.clean", "sed s/Unintended/Intended/")
    (clone / target).unlink()
    git(clone, "checkout", "--", target)  # checked out under the new attributes
    shutil.copytree(saved, clone / CACHE_DIR, dirs_exist_ok=True)
    cached = run_doctor(clone, strict=True)
    audited = run_doctor(clone, strict=True, use_cache=False)
    assert cached.diagnostics == audited.diagnostics
    assert any(d.code == "CHK005" and d.path == target for d in audited.diagnostics)


# Class 4: --since widens to what a change governs.


@pytest.mark.hostile_pr("since")
@pytest.mark.parametrize(
    ("path", "checked"),
    [
        ("models/iris-classifier/stages.yaml", 1),
        ("pyproject.toml", 3),
        (".gitattributes", 3),
        ("keys/README.md", 3),
        ("schemas/README.md", 3),
        ("runs/.gitattributes", 3),
    ],
)
def test_since_widens_to_what_a_change_governs(template: Path, path: str, checked: int) -> None:
    base = git(template, "rev-parse", "HEAD").strip()
    append(template / path, "\n" if path.endswith((".yaml", ".toml")) else "# touched\n")
    commit_all(template, "touch a governing file")
    report = run_doctor(template, since=base)
    assert (report.artifacts, report.artifacts_total) == (checked, 3)
