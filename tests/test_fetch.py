"""Verified loading (issue 19 item 2): `strataml.fetch` and `strata model path` hand out a
version's path only once it verifies, and fail closed with the code otherwise (TFC-0005 R15)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import RunCli, commit_all, git, write_prose
from registrykit import add_copies
from strataml.integrity.hashing import hash_bytes
from strataml.registry.fetch import FetchError, fetch
from strataml.registry.resolve import ResolveError

MODEL = "models/iris-classifier"


@pytest.fixture
def repo(template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    add_copies(template, models=1)  # v2: sealed, unsigned
    commit_all(template, "v2")
    monkeypatch.chdir(template)
    return template


def test_a_version_that_verifies_is_handed_out(repo: Path, strata: RunCli) -> None:
    import strataml

    assert strataml.fetch(f"{MODEL}@production") == repo / MODEL / "v1"
    assert (strataml.FetchError, strataml.ResolveError) == (FetchError, ResolveError)
    assert strata("model", "path", "iris-classifier@production") == (
        0, f"{repo / MODEL / 'v1'}\n", "",
    )  # fmt: skip


def test_a_flipped_byte_hands_out_nothing(repo: Path, strata: RunCli) -> None:
    weights = repo / MODEL / "v1" / "model.json"
    data = bytearray(weights.read_bytes())
    data[10] ^= 0x01
    weights.write_bytes(bytes(data))
    listed = (repo / MODEL / "v1" / "CHECKSUMS.txt").read_text("utf-8").splitlines()[3]
    assert listed.endswith("  model.json")
    with pytest.raises(FetchError) as raised:
        fetch(f"{MODEL}@production")
    assert raised.value.code == "CHK005"
    assert str(raised.value) == (
        f"{MODEL}@production (v1): {MODEL}/v1/model.json: CHK005 content does not match "
        f"CHECKSUMS.txt line 4 (blake3 {hash_bytes(bytes(data))[:12]}…, listed {listed[:12]}…)"
    )
    code, out, err = strata("model", "path", "iris-classifier@production")
    assert (code, out) == (2, "")
    assert err == f"strata: error: {raised.value}\n"


def test_a_name_that_is_a_symlink_hands_out_nothing(repo: Path, tmp_path: Path) -> None:
    """Another model's bytes under this name, or bytes from outside: never a path (LAY011)."""
    (repo / "models" / "other").symlink_to("iris-classifier")
    (tmp_path / "v1").mkdir()
    (repo / "datasets" / "elsewhere").symlink_to(tmp_path)
    for asked, link in (("models/other@production", "models/other"),
                        ("models/other@v1", "models/other"),
                        ("datasets/elsewhere@latest", "datasets/elsewhere")):  # fmt: skip
        with pytest.raises(ResolveError) as raised:
            fetch(asked)
        assert (raised.value.code, raised.value.detail) == (
            "LAY011",
            f"{asked}: {link} is a symlink; a reference names real folders only",
        )


def test_a_required_signature_that_is_missing_hands_out_nothing(repo: Path, strata: RunCli) -> None:
    assert fetch(f"{MODEL}@v2") == repo / MODEL / "v2"  # nothing asks v2 for a signature yet
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[tool.strataml.signing.require]]\npath = "{MODEL}/v2"\nsigners = 1\n')
    with pytest.raises(FetchError) as raised:
        fetch(f"{MODEL}@v2")
    assert raised.value.code == "SIG001"
    assert str(raised.value) == (
        f"{MODEL}@v2 (v2): {MODEL}/v2/SIGNATURE.asc: SIG001 1 trusted signature required by "
        f"[[tool.strataml.signing.require]] path '{MODEL}/v2', none present"
    )
    assert strata("model", "path", f"{MODEL}@v2")[:2] == (2, "")


def test_the_stage_policy_asks_for_signatures_too(repo: Path) -> None:
    """A stages.yaml edited past promote (which would refuse) still hands out nothing."""
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[tool.strataml.policy.staging]\nsignatures = 1\n")
    stages = repo / MODEL / "stages.yaml"
    stages.write_text(stages.read_text("utf-8").replace("staging: null", "staging: v2"), "utf-8")
    with pytest.raises(FetchError) as raised:
        fetch(f"{MODEL}@staging")
    assert raised.value.code == "SIG001"
    assert "[tool.strataml.policy.staging]" in str(raised.value)


# --- LFS: a pointer-only clone pulls one version's objects and nothing else ---------------------


def strata_process(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strataml", *args],
        cwd=repo, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def lfs_objects(repo: Path) -> set[str]:
    store = repo / ".git" / "lfs" / "objects"
    return {p.name for p in store.rglob("*") if p.is_file()} if store.is_dir() else set()


def served(log: Path, since: int) -> list[str]:
    """Objects the LFS server sent after offset `since` of its request log (werkzeug logs each)."""
    text = log.read_text("utf-8")[since:]
    return sorted(re.findall(r'"GET /team/ml\.git/info/lfs/objects/storage/([0-9a-f]{64})\b', text))


def pointer_oids(repo: Path, version: str) -> set[str]:
    found = set()
    for path in (repo / version).rglob("*.npz"):
        lines = path.read_text("utf-8").splitlines()
        found.add(lines[1].removeprefix("oid sha256:"))
    return found


def test_a_pointer_only_clone_pulls_one_version(
    template: Path, lfs_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, storage = lfs_server
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(template), str(remote))
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(remote), str(work))
    git(work, "config", "lfs.url", url)
    git(work, "lfs", "install", "--local")
    for version in ("v1", "v2"):
        source = tmp_path / f"arrays-{version}"
        (source / "train").mkdir(parents=True)
        (source / "train" / "x.npz").write_bytes(os.urandom(200_000))
        (source / "train" / "y.npz").write_bytes(os.urandom(50_000))
        added = strata_process(work, "dataset", "add", "arrays", str(source),
                               "--license", "CC0-1.0", "--source", "random bytes")  # fmt: skip
        assert added.returncode == 0, added.stderr
        write_prose(work / "datasets" / "arrays" / version)
    commit_all(work, "arrays v1 and v2")
    push = subprocess.run(["git", "push", "-q", "origin", "HEAD"], cwd=work, capture_output=True,
                          text=True)  # fmt: skip
    assert push.returncode == 0, push.stderr
    assert len([p for p in (storage / "objects").rglob("*") if p.is_file()]) == 4

    light = tmp_path / "light"
    env = {**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"}
    subprocess.run(["git", "clone", "-q", str(remote), str(light)], check=True, env=env,
                   capture_output=True)  # fmt: skip
    git(light, "config", "lfs.url", url)
    git(light, "lfs", "install", "--local")
    wanted = pointer_oids(light, "datasets/arrays/v2")
    assert lfs_objects(light) == set() and len(wanted) == 2

    log = tmp_path / "lfs-server.log"
    mark = len(log.read_text("utf-8"))
    with pytest.raises(FetchError) as raised:  # not allowed to pull: fail closed
        fetch("datasets/arrays@latest", root=light, pull=False)
    assert raised.value.code == "LFS002"
    assert lfs_objects(light) == set()

    git(light, "config", "lfs.url", "http://127.0.0.1:9/team/ml.git/info/lfs")  # nobody listens
    with pytest.raises(FetchError) as raised:  # the pull fails: the content is still missing
        fetch("datasets/arrays@latest", root=light)
    assert raised.value.code == "LFS002"
    assert (raised.value.pull_failed or "").startswith("git lfs pull failed: ")
    assert str(raised.value).endswith(f"; {raised.value.pull_failed}")
    assert lfs_objects(light) == set()
    git(light, "config", "lfs.url", url)

    assert fetch("datasets/arrays@latest", root=light) == light / "datasets/arrays/v2"
    assert served(log, mark) == sorted(wanted)  # the server's own count: these two, once each
    assert lfs_objects(light) == wanted
    assert (light / "datasets/arrays/v2/train/x.npz").stat().st_size == 200_000
    assert (light / "datasets/arrays/v1/train/x.npz").stat().st_size < 1024  # still a pointer
    listed = yaml.safe_load((light / "datasets/arrays/v2/metadata.yaml").read_text("utf-8"))
    assert listed["version"] == "v2"
