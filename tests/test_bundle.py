"""Air-gap bundles for real: git bundle, git-lfs and doctor across clones that share no remote
(TFC-0008 R14)."""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import RunCli, commit_all, doctor_script, git, require_tool, write_prose
from strataml.integrity.hashing import hash_bytes

ARRAYS = "datasets/arrays/v1"
MORE = " (and 1 more: strata bundle verify lists them)"


@pytest.fixture
def source(template: Path, tmp_path: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Clone A: the template plus datasets/arrays/v1, two .npz files committed through git-lfs."""
    require_tool("git-lfs")
    git(template, "lfs", "install", "--local")
    data = tmp_path / "arrays"
    (data / "train").mkdir(parents=True)
    (data / "test").mkdir()
    (data / "train" / "x.npz").write_bytes(os.urandom(30_000))
    (data / "test" / "x.npz").write_bytes(os.urandom(10_000))
    monkeypatch.chdir(template)
    code, _, err = strata(
        "dataset", "add", "arrays", str(data), "--license", "CC0-1.0", "--source", "random bytes"
    )
    assert (code, err) == (0, "")
    write_prose(template / ARRAYS)
    commit_all(template, "arrays v1")
    pointer = git(template, "cat-file", "-p", f"HEAD:{ARRAYS}/train/x.npz")
    assert pointer.startswith("version https://git-lfs.github.com/spec/v1\n")
    return template


def oid_of(repo: Path, path: str) -> str:
    return git(repo, "cat-file", "-p", f"HEAD:{path}").split("oid sha256:")[1].split()[0]


def snapshot(repo: Path) -> dict[str, bytes]:
    """Every file of a repository, .git included, and the refs and object count git reports."""
    files = {str(p.relative_to(repo)): p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    files["<refs>"] = git(repo, "for-each-ref").encode()
    files["<objects>"] = git(repo, "count-objects", "-v").encode()
    return files


def members(bundle: bytes) -> dict[str, tuple[int, bytes]]:
    """Member name -> (offset of its data, its bytes)."""
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        return {
            i.name: (i.offset_data, bundle[i.offset_data : i.offset_data + i.size])
            for i in tar.getmembers()
        }


def flip(data: bytes, at: int, mask: int = 0xFF) -> bytes:
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1 :]


def lying(data: bytes, edit: Callable[[dict[str, Any]], object]) -> bytes:
    """The bundle with its manifest edited and manifest.b3 recomputed: whole, but untrue."""
    out = io.BytesIO()
    manifest = b""
    with tarfile.open(fileobj=io.BytesIO(data)) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for info in src.getmembers():
            stream = src.extractfile(info)
            assert stream is not None
            body = stream.read()
            if info.name == "manifest.json":
                document = json.loads(body)
                edit(document)
                body = manifest = (json.dumps(document, sort_keys=True, indent=1) + "\n").encode()
            elif info.name == "manifest.b3":
                body = f"{hash_bytes(manifest)}  manifest.json\n".encode()
            info.size = len(body)
            dst.addfile(info, io.BytesIO(body))
    return out.getvalue()


def test_a_bundle_from_one_clone_imports_on_another_and_doctor_passes(
    source: Path, tmp_path: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "x.bundle"
    code, out, err = strata("bundle", "create", "main", "-o", str(bundle))
    assert (code, err) == (0, "")
    inside = members(bundle.read_bytes())
    assert list(inside) == [
        "repo.bundle",
        *sorted(f"lfs/{oid_of(source, f'{ARRAYS}/{s}/x.npz')}" for s in ("test", "train")),
        "manifest.json",
        "manifest.b3",
    ]
    manifest = inside["manifest.json"][1]
    assert inside["manifest.b3"][1] == f"{hash_bytes(manifest)}  manifest.json\n".encode()
    assert out == (
        f"{bundle}: 1 ref, 0 prerequisites, 2 LFS objects, {bundle.stat().st_size} bytes; "
        f"manifest blake3 {hash_bytes(manifest)}\n"
    )
    document = json.loads(manifest)
    assert json.dumps(document, sort_keys=True, indent=1) + "\n" == manifest.decode()
    head = git(source, "rev-parse", "HEAD").strip()
    assert document["refs"] == [{"name": "refs/heads/main", "object": head, "commit": head}]
    [tip] = document["tips"]
    assert f"{ARRAYS}/CHECKSUMS.txt" in [f["path"] for f in tip["files"]]
    assert sorted(p.name for p in (source / "keys").glob("*.asc")) == sorted(
        f["path"].removeprefix("keys/") for f in tip["files"] if f["path"].startswith("keys/")
    )
    assert tip["trusted"] and document["lfs_missing"] == []

    target = tmp_path / "b"  # a fresh repository: no remote, no history, no LFS configuration
    target.mkdir()
    git(target, "init", "-q", "-b", "main")
    monkeypatch.chdir(target)
    assert strata("bundle", "verify", str(bundle)) == (
        0, f"{bundle}: verified: 1 ref, 0 prerequisites, 2 LFS objects, 3 members\n", "",
    )  # fmt: skip
    code, out, err = strata("bundle", "import", str(bundle))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:4] == [
        f"refs/heads/main: created {head[:12]}",
        "LFS: 2 objects added, 0 already present",
        "configured Git LFS for this repository (git lfs install --local)",
        "checked out main; doctor:",
    ]
    assert lines[-1].startswith("OK: 0 errors, 0 warnings, 0 info; ")
    for split in ("train", "test"):
        rel = f"{ARRAYS}/{split}/x.npz"
        assert (target / rel).read_bytes() == (source / rel).read_bytes()
    assert git(target, "status", "--porcelain") == ""
    assert git(target, "remote") == ""
    report = doctor_script(target, "--strict", "--require-content")
    assert (report.returncode, report.stderr) == (0, ""), report.stdout
    # Importing the same bundle again changes nothing.
    code, out, _ = strata("bundle", "import", str(bundle))
    assert out.splitlines()[:2] == [
        f"refs/heads/main: unchanged {head[:12]}",
        "LFS: 0 objects added, 2 already present",
    ]
    assert out.splitlines()[2] == (
        "not checked out; check it with: git switch main && "
        "python tools/doctor.py --strict --require-content"
    )


@pytest.fixture
def behind(source: Path, tmp_path: Path) -> Path:
    """Clone B: holds A's base commit (the fork of the template), but no remote and no A."""
    target = tmp_path / "b"
    target.mkdir()
    git(target, "init", "-q", "-b", "main")
    git(source, "branch", "-f", "base", "HEAD~1")
    git(target, "fetch", "-q", "--update-head-ok", str(source), "base:refs/heads/main")
    git(target, "reset", "-q", "--hard")
    return target


def test_a_damaged_bundle_is_refused_and_changes_nothing(
    source: Path, behind: Path, tmp_path: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "x.bundle"
    assert strata("bundle", "create", "main", "--since", "HEAD~1", "-o", str(good))[0] == 0
    data = good.read_bytes()
    inside = members(data)
    oid = oid_of(source, f"{ARRAYS}/train/x.npz")
    lfs_at, lfs_bytes = inside[f"lfs/{oid}"]
    git_at, git_bytes = inside["repo.bundle"]
    manifest_at, manifest = inside["manifest.json"]
    digest_at, digest = inside["manifest.b3"]
    git_b3 = hash_bytes(git_bytes)
    # An even hex digit of repo.bundle's digest in the manifest, made odd: still valid JSON.
    digit = manifest_at + next(
        i
        for i in range(manifest.index(git_b3.encode()), len(manifest))
        if chr(manifest[i]) in "02468"
    )
    bad_manifest = flip(data, digit, 0x01)[manifest_at : manifest_at + len(manifest)]
    bad_b3 = json.loads(bad_manifest)["members"][0]["blake3"]
    digest_digit = digest_at + next(i for i, c in enumerate(digest) if chr(c) in "02468")
    bad_digest = flip(data, digest_digit, 0x01)[digest_at : digest_at + 64].decode()
    middle = len(git_bytes) // 2
    lfs_flipped = flip(lfs_bytes, 1000)
    import hashlib

    cases = {
        "git-bundle": (
            flip(data, git_at + middle),
            f"bundle-member: repo.bundle: blake3 is {hash_bytes(flip(git_bytes, middle))}, "
            f"the manifest says {git_b3}",
        ),
        "lfs-object": (
            flip(data, lfs_at + 1000),
            f"bundle-member: lfs/{oid}: blake3 is {hash_bytes(lfs_flipped)}, "
            f"the manifest says {hash_bytes(lfs_bytes)}{MORE}",
        ),
        "manifest": (
            flip(data, digit, 0x01),
            f"bundle-digest: manifest.json: blake3 is {hash_bytes(bad_manifest)}, "
            f"manifest.b3 says {hash_bytes(manifest)}{MORE}",
        ),
        "digest": (
            flip(data, digest_digit, 0x01),
            f"bundle-digest: manifest.json: blake3 is {hash_bytes(manifest)}, "
            f"manifest.b3 says {bad_digest}",
        ),
    }
    document = json.loads(manifest)
    [tip] = document["tips"]
    first = tip["files"][0]
    base = head_of(behind, "HEAD")
    cases["tip-file"] = (
        lying(data, lambda d: d["tips"][0]["files"][0].update(blake3="0" * 64)),
        f"bundle-tip: refs/heads/main:{first['path']}: blake3 is {first['blake3']}, "
        f"the manifest says {'0' * 64}",
    )
    cases["trust-list"] = (
        lying(data, lambda d: d["tips"][0].update(trusted=[])),
        f"bundle-tip: refs/heads/main:pyproject.toml: trusts {tip['trusted']}, "
        "the manifest says []",
    )
    cases["ref-commit"] = (
        lying(data, lambda d: d["refs"][0].update(commit=base)),
        f"bundle-refs: refs/heads/main: peels to {document['refs'][0]['commit']}, "
        f"the manifest says {base}",
    )
    monkeypatch.chdir(tmp_path)  # outside any repository, the prerequisites cannot be found
    assert strata("bundle", "verify", str(good)) == (
        1,
        f"{good}: bundle-git: repo.bundle: git bundle verify failed: Repository lacks these "
        f"prerequisite commits: {base}\n{good}: FAILED: 1 problem\n",
        "",
    )
    monkeypatch.chdir(behind)
    before = snapshot(behind)
    for case, (damaged, reason) in cases.items():
        path = tmp_path / f"{case}.bundle"
        path.write_bytes(damaged)
        assert strata("bundle", "import", str(path)) == (
            2, "", f"strata: error: {reason}; nothing imported\n"
        ), case  # fmt: skip
        assert snapshot(behind) == before, case
    code, out, err = strata("bundle", "verify", str(tmp_path / "lfs-object.bundle"))
    sha = hashlib.sha256(lfs_flipped).hexdigest()
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"{tmp_path / 'lfs-object.bundle'}: {cases['lfs-object'][1].removesuffix(MORE)}",
        f"{tmp_path / 'lfs-object.bundle'}: bundle-lfs: lfs/{oid}: sha256 is {sha}, "
        f"its oid says {oid}",
        f"{tmp_path / 'lfs-object.bundle'}: FAILED: 2 problems",
    ]
    code, out, _ = strata("bundle", "verify", str(tmp_path / "manifest.bundle"))
    assert out.splitlines()[1] == (
        f"{tmp_path / 'manifest.bundle'}: bundle-member: repo.bundle: blake3 is {git_b3}, "
        f"the manifest says {bad_b3}"
    )

    # The good bundle, incremental, fast-forwards the checked-out branch and its working tree.
    code, out, err = strata("bundle", "import", str(good))
    head = git(source, "rev-parse", "HEAD").strip()
    assert (code, err) == (0, "")
    assert (
        out.splitlines()[0]
        == f"refs/heads/main: fast-forward {head[:12]} (was {head_of(behind, 'HEAD~1')[:12]})"
    )
    assert git(behind, "rev-parse", "HEAD").strip() == head
    assert git(behind, "status", "--porcelain") == ""
    report = doctor_script(behind, "--strict", "--require-content")
    assert (report.returncode, report.stderr) == (0, ""), report.stdout


def head_of(repo: Path, rev: str) -> str:
    return git(repo, "rev-parse", rev).strip()


def test_files_that_are_not_whole_bundles_give_one_line(
    source: Path, tmp_path: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "x.bundle"
    assert strata("bundle", "create", "main", "-o", str(good))[0] == 0
    data = good.read_bytes()
    (tmp_path / "half.bundle").write_bytes(data[: len(data) // 2])
    git(source, "bundle", "create", "-q", str(tmp_path / "plain.bundle"), "main")
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tar:
        info = tarfile.TarInfo("../evil")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    (tmp_path / "evil.bundle").write_bytes(evil.getvalue())
    target = tmp_path / "b"
    target.mkdir()
    git(target, "init", "-q", "-b", "main")
    monkeypatch.chdir(target)
    before = snapshot(target)
    expected = {
        "half": "bundle-format: half.bundle: not a readable strata bundle: truncated or damaged in repo.bundle (unexpected end of data)",
        "plain": "bundle-format: plain.bundle: not a readable strata bundle: not a tar archive",
        "evil": "bundle-unsafe-member: ../evil: member path is absolute, has '..' or control characters",
    }
    for name, message in expected.items():
        for command in ("import", "verify"):
            result = strata("bundle", command, str(tmp_path / f"{name}.bundle"))
            assert result == (2, "", f"strata: error: {message}\n"), (name, command)
    assert snapshot(target) == before
    assert not (target / "../evil").exists()


def test_missing_lfs_objects_and_diverged_branches(
    source: Path, tmp_path: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    oid = oid_of(source, f"{ARRAYS}/test/x.npz")
    store = source / ".git" / "lfs" / "objects"
    (store / oid[:2] / oid[2:4] / oid).unlink()
    out_file = tmp_path / "x.bundle"
    assert strata("bundle", "create", "main", "-o", str(out_file)) == (
        2, "",
        f"strata: error: bundle-lfs-missing: {ARRAYS}/test/x.npz: LFS object {oid} (10000 bytes) "
        f"is not in {store}; fetch it (git lfs fetch --all) or pass --allow-missing-lfs\n",
    )  # fmt: skip
    assert list(tmp_path.glob("*.bundle")) == [] and list(tmp_path.glob(".x.bundle*")) == []
    code, out, _ = strata("bundle", "create", "main", "-o", str(out_file), "--allow-missing-lfs")
    assert code == 0 and ", 1 LFS object, 1 left out, " in out

    target = tmp_path / "b"  # its own main, unrelated to A's
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    commit_all(target, "unrelated")
    monkeypatch.chdir(target)
    before = snapshot(target)
    mine, theirs = head_of(target, "HEAD"), head_of(source, "HEAD")
    assert strata("bundle", "import", str(out_file)) == (
        2, "",
        f"strata: error: bundle-diverged: refs/heads/main: the local {mine[:12]} is not an "
        f"ancestor of the bundle's {theirs[:12]}; import it under another name with "
        "--branch NAME, or overwrite it with --force\n",
    )  # fmt: skip
    assert snapshot(target) == before
    code, out, err = strata("bundle", "import", str(out_file), "--branch", "from-a")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"refs/heads/from-a: created {theirs[:12]}",
        "LFS: 1 objects added, 0 already present, 1 not in the bundle",
        "not checked out; check it with: git switch from-a && "
        "python tools/doctor.py --strict --require-content",
    ]
    assert head_of(target, "from-a") == theirs and head_of(target, "main") == mine
    assert (target / "notes.txt").read_text() == "mine\n"
    # Overwriting the checked-out branch needs --force and a clean working tree.
    (target / "notes.txt").write_text("edited\n")
    before = snapshot(target)
    assert strata("bundle", "import", str(out_file), "--force") == (
        2, "",
        "strata: error: main is checked out and has uncommitted changes; "
        "commit or stash them, or import with --branch NAME\n",
    )  # fmt: skip
    assert snapshot(target) == before
    git(target, "checkout", "-q", "--", "notes.txt")
    code, out, err = strata("bundle", "import", str(out_file), "--force")
    assert (code, err) == (0, ""), out
    assert out.splitlines()[:4] == [
        f"refs/heads/main: forced {theirs[:12]} (was {mine[:12]})",
        "LFS: 0 objects added, 1 already present, 1 not in the bundle",
        "configured Git LFS for this repository (git lfs install --local)",
        "checked out main; doctor:",
    ]
    assert "test/x.npz: info LFS002 LFS content not pulled" in out
    assert not (target / "notes.txt").exists() and git(target, "status", "--porcelain") == ""
    train = f"{ARRAYS}/train/x.npz"
    assert (target / train).read_bytes() == (source / train).read_bytes()
    assert (target / ARRAYS / "test/x.npz").read_bytes().startswith(b"version https://git-lfs")


def test_tags_and_commits_travel_under_their_own_names(
    source: Path, tmp_path: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(source, "tag", "-a", "-m", "first arrays", "arrays-v1")
    base = head_of(source, "HEAD~1")
    out_file = tmp_path / "x.bundle"
    code, out, _ = strata("bundle", "create", "arrays-v1", base, "-o", str(out_file))
    assert code == 0 and out.startswith(f"{out_file}: 2 refs, 0 prerequisites, 2 LFS objects, ")
    target = tmp_path / "b"
    target.mkdir()
    git(target, "init", "-q", "-b", "trunk")
    monkeypatch.chdir(target)
    code, out, _ = strata("bundle", "import", str(out_file))
    tag = head_of(source, "refs/tags/arrays-v1")
    assert out.splitlines()[:2] == [
        f"refs/heads/bundle-{base[:12]}: created {base[:12]}",
        f"refs/tags/arrays-v1: created {tag[:12]}",
    ]
    assert head_of(target, "arrays-v1^{commit}") == head_of(source, "HEAD")
    assert git(target, "cat-file", "-t", "arrays-v1") == "tag\n"
    assert strata("bundle", "create", "nope", "-o", str(out_file)) == (
        2, "", "strata: error: nope: no such branch, tag or commit\n"
    )  # fmt: skip
