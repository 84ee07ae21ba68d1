"""Git LFS for real: git-lfs against a giftless server on loopback (TFC-0008 R12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (
    commit_all,
    doctor_script,
    git,
    require_tool,
    write_prose,
)
from strataml.gitindex import index_facts

ARRAYS = "datasets/arrays/v1"


def strata(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strataml", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )


def clone(remote: Path, where: Path, url: str, *, content: bool) -> Path:
    env = {**os.environ, "GIT_LFS_SKIP_SMUDGE": "0" if content else "1"}
    subprocess.run(
        ["git", "clone", "-q", str(remote), str(where)], check=True, env=env, capture_output=True
    )
    git(where, "config", "lfs.url", url)
    git(where, "lfs", "install", "--local")
    return where


@pytest.fixture
def published(
    template: Path, lfs_server: tuple[str, Path], tmp_path: Path
) -> tuple[Path, str, Path]:
    """A remote holding the template plus datasets/arrays/v1 (two .npz files) pushed through LFS."""
    url, storage = lfs_server
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(template), str(remote))
    work = clone(remote, tmp_path / "work", url, content=True)
    source = tmp_path / "arrays"
    (source / "train").mkdir(parents=True)
    (source / "test").mkdir()
    (source / "train" / "x.npz").write_bytes(os.urandom(300_000))
    (source / "test" / "x.npz").write_bytes(os.urandom(100_000))
    assert (
        strata(
            work,
            "dataset",
            "add",
            "arrays",
            str(source),
            "--license",
            "CC0-1.0",
            "--source",
            "random bytes",
        ).returncode
        == 0
    )
    write_prose(work / ARRAYS)
    commit_all(work, "arrays v1")
    assert "filter: lfs" in git(work, "check-attr", "filter", f"{ARRAYS}/train/x.npz")
    push = subprocess.run(
        ["git", "push", "-q", "origin", "HEAD"], cwd=work, capture_output=True, text=True
    )
    assert push.returncode == 0, push.stderr
    return remote, url, storage


def test_clone_without_content_then_pull_one_version(
    published: tuple[Path, str, Path], tmp_path: Path
) -> None:
    remote, url, _ = published
    light = clone(remote, tmp_path / "light", url, content=False)
    assert (
        (light / ARRAYS / "train/x.npz")
        .read_bytes()
        .startswith(b"version https://git-lfs.github.com/spec/v1\n")
    )

    report = doctor_script(light)
    assert (report.returncode, report.stderr) == (0, ""), report.stdout
    notes = [line.strip() for line in report.stdout.splitlines() if " LFS" in line]
    assert [n.split(" (")[0] for n in notes] == [
        "test/x.npz: info LFS002 LFS content not pulled",
        "train/x.npz: info LFS002 LFS content not pulled",
    ]
    assert notes[1].startswith(
        "train/x.npz: info LFS002 LFS content not pulled (300000 bytes, sha256 "
    )
    assert notes[1].endswith("…): not verified")
    strict = doctor_script(light, "--require-content")
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[-1].startswith("FAILED: 2 errors, 0 warnings, 0 info;")

    status = strata(light, "lfs", "status", "datasets/arrays@v1")

    def row(state: str, rel: str, size: int | None = None) -> str:
        size = (light / ARRAYS / rel).stat().st_size if size is None else size
        return f"{state:<8} {size:>12}  {ARRAYS}/{rel}"

    assert status.stdout.splitlines() == [
        row("plain", "CHECKSUMS.txt"),
        row("plain", "datasheet.md"),
        row("plain", "metadata.yaml"),
        row("pointer", "test/x.npz", 100_000),
        row("pointer", "train/x.npz", 300_000),
        "0 present, 2 pointer, 3 plain",
    ]

    pulled = strata(light, "lfs", "pull", "datasets/arrays@v1")
    assert (pulled.returncode, pulled.stderr) == (0, "")
    assert pulled.stdout == f"{ARRAYS}: 2 LFS files present, 4 files hashed, verified\n"
    assert (light / ARRAYS / "train/x.npz").stat().st_size == 300_000
    assert doctor_script(light, "--require-content", "--strict").returncode == 0


def test_a_corrupted_object_on_the_server_is_caught(
    published: tuple[Path, str, Path], tmp_path: Path
) -> None:
    remote, url, storage = published
    [obj] = [p for p in storage.rglob("*") if p.is_file() and p.stat().st_size == 100_000]
    data = bytearray(obj.read_bytes())
    data[500] ^= 0xFF
    obj.write_bytes(bytes(data))
    light = clone(remote, tmp_path / "light", url, content=False)
    pulled = strata(light, "lfs", "pull", "datasets/arrays@v1")
    assert pulled.returncode == 2
    assert pulled.stderr.startswith("strata: error: git lfs pull failed: ")
    assert "expected OID" in pulled.stderr or "checksum" in pulled.stderr.lower(), pulled.stderr
    assert (
        (light / ARRAYS / "test/x.npz").read_bytes().startswith(b"version https://git-lfs")
    )  # nothing bad kept
    report = doctor_script(light, "--require-content")
    assert (
        report.returncode == 1
        and "test/x.npz: error LFS002 LFS content not pulled" in report.stdout
    )


def test_large_files_outside_lfs_are_refused(template: Path, tmp_path: Path) -> None:
    require_tool("git-lfs")
    git(template, "lfs", "install", "--local")
    source = tmp_path / "big"
    (source / "train").mkdir(parents=True)
    (source / "train" / "weights.npz").write_bytes(os.urandom(5_000_000))
    (source / "train" / "blob.dat").write_bytes(os.urandom(2_000_000))
    assert (
        strata(
            template, "dataset", "add", "big", str(source), "--license", "CC0-1.0", "--source", "x"
        ).returncode
        == 0
    )
    write_prose(template / "datasets/big/v1")
    # As on a machine without git-lfs: the attribute is ignored and Git stores the bytes raw.
    no_lfs = [
        "-c",
        "filter.lfs.clean=cat",
        "-c",
        "filter.lfs.smudge=cat",
        "-c",
        "filter.lfs.process=",
        "-c",
        "filter.lfs.required=false",
    ]
    git(template, *no_lfs, "add", "datasets/big")
    report = doctor_script(template, "--strict")
    assert report.returncode == 1
    lines = [
        line.strip() for line in report.stdout.splitlines() if " LFS" in line or "hint: git" in line
    ]
    assert lines == [
        "train/blob.dat: error LFS001 2000000 bytes, over the 1048576-byte limit for plain Git files, and no LFS attribute covers it",
        'hint: git lfs track "datasets/**/*.dat", then git add --renormalize datasets/big/v1/train/blob.dat; if it is already committed, git lfs migrate import --include="datasets/big/v1/train/blob.dat" rewrites the history',
        "train/weights.npz: error LFS006 an LFS attribute covers it, but Git stored its 5000000 bytes raw",
        'hint: git add --renormalize datasets/big/v1/train/weights.npz (or git lfs migrate import --include="datasets/big/v1/train/weights.npz" if committed)',
    ]
    git(
        template, "add", "--renormalize", "datasets/big"
    )  # the fix the hint names, with git-lfs present
    report = doctor_script(template, "--strict")
    assert [line for line in report.stdout.splitlines() if "LFS006" in line] == []


def test_pointer_problems_without_a_server(template: Path) -> None:
    """Malformed pointers, and pointers whose sizes contradict the metadata: where LFS covers the
    path and the index holds the pointer (TFC-0008 R12)."""
    csv = template / "datasets/iris/v1/train/iris.csv"
    with (template / ".gitattributes").open("a") as attributes:
        attributes.write("datasets/iris/v1/train/iris.csv filter=lfs diff=lfs merge=lfs -text\n")
    csv.write_text("version https://git-lfs.github.com/spec/v1\nsize 12\n")
    report = doctor_script(template, "datasets/iris/v1")
    assert (
        "  train/iris.csv:1: error LFS003 looks like a Git LFS pointer but needs 'oid sha256:<64 hex>' and 'size <bytes>' lines"
        in report.stdout
    )
    csv.write_text(f"version https://git-lfs.github.com/spec/v1\noid sha256:{'a' * 64}\nsize 99\n")
    git(template, "add", "--", "datasets/iris/v1/train/iris.csv")  # the index holds the pointer
    report = doctor_script(template, "datasets/iris/v1")
    assert (
        "metadata.yaml:32: error LFS004 split 'train': bytes is 2730 but train has 99 by the sizes its LFS pointers state"
        in report.stdout
    )
    assert "CHK005" not in report.stdout  # an unpulled pointer is not verified, not "changed"


def test_the_index_of_a_conflicted_file_is_its_last_stage(tmp_path: Path) -> None:
    """What the LFS check compares a file with during a merge conflict: the blob of the index's
    last stage (theirs), as `git ls-files -s` per artifact gave it before the index was read
    once per run (Context.lfs_stored)."""
    require_tool("git")
    repo = tmp_path / "repo"
    path = "datasets/d/v1/w.bin"
    (repo / "datasets/d/v1").mkdir(parents=True)
    (repo / path).write_bytes(b"base\n")
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "side")
    (repo / path).write_bytes(b"side\n")
    commit_all(repo, "side")
    git(repo, "checkout", "-q", "main")
    (repo / path).write_bytes(b"main\n")
    commit_all(repo, "main")
    merged = subprocess.run(["git", "merge", "-q", "side"], cwd=repo, capture_output=True)
    assert merged.returncode == 1  # a conflict
    facts = index_facts(repo, ["datasets"])
    assert facts is not None
    assert path not in facts.blobs  # no stage 0
    assert facts.staged(path) == git(repo, "rev-parse", f":3:{path}").strip()
