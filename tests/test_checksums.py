from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import require_tool
from strataml.errors import StrataError
from strataml.integrity.checksums import (
    LineProblem,
    content_hash,
    format_checksums,
    parse_checksums,
)
from strataml.integrity.hashing import LARGE_FILE, POOL_MIN_FILES, hash_bytes, hash_file, hash_files
from strataml.integrity.stamp import stamp_directory

HEX = "ab" * 32


def test_format_is_sorted_b3sum_lines() -> None:
    assert format_checksums({"b.csv": HEX, "a/z.csv": HEX}) == f"{HEX}  a/z.csv\n{HEX}  b.csv\n"


def test_parse_round_trip() -> None:
    text = format_checksums({"train/a.csv": HEX, "metadata.yaml": "cd" * 32})
    parsed = parse_checksums(text.encode())
    assert parsed.problems == ()
    assert parsed.digests() == {"metadata.yaml": "cd" * 32, "train/a.csv": HEX}


@pytest.mark.parametrize(
    ("raw", "kinds"),
    [
        (f"{HEX}  a\n{HEX}  a\n", [LineProblem.DUPLICATE]),
        (f"{HEX}  b\n{HEX}  a\n", [LineProblem.UNSORTED]),
        (f"{HEX}  CHECKSUMS.txt\n", [LineProblem.EXCLUDED]),
        (f"{HEX}  SIGNATURE.asc\n", [LineProblem.EXCLUDED]),
        (f"{HEX}  ../x\n", [LineProblem.UNSAFE]),
        (f"{HEX}  /etc/passwd\n", [LineProblem.UNSAFE]),
        (f"{HEX}  a/./b\n", [LineProblem.UNSAFE]),
        (f"{HEX} a\n", [LineProblem.MALFORMED]),
        (f"{HEX.upper()}  a\n", [LineProblem.MALFORMED]),
        (f"{HEX}  a", [LineProblem.MALFORMED]),
        (f"\ufeff{HEX}  a\n", [LineProblem.MALFORMED]),
        (f"{HEX}  a\r\n{HEX}  b\r\n", [LineProblem.MALFORMED]),
    ],
)
def test_parse_problems(raw: str, kinds: list[LineProblem]) -> None:
    assert [p.kind for p in parse_checksums(raw.encode()).problems] == kinds


def test_crlf_still_yields_entries() -> None:
    parsed = parse_checksums(f"{HEX}  a\r\n".encode())
    assert parsed.digests() == {"a": HEX}


def test_content_hash_ignores_prose() -> None:
    payload = {"train/a.csv": HEX}
    with_prose = {
        **payload,
        "metadata.yaml": "11" * 32,
        "card.md": "22" * 32,
        "datasheet.md": "33" * 32,
    }
    assert (
        content_hash(with_prose)
        == content_hash(payload)
        == "blake3:" + hash_bytes(f"{HEX}  train/a.csv\n".encode())
    )


def test_hashes_agree_with_b3sum(tmp_path: Path) -> None:
    b3sum = require_tool("b3sum")
    files = [tmp_path / "empty", tmp_path / "small", tmp_path / "large"]
    files[0].write_bytes(b"")
    files[1].write_bytes(b"hello\n")
    files[2].write_bytes(bytes(range(256)) * (LARGE_FILE // 256 + 3))
    out = subprocess.run(
        [b3sum, *map(str, files)], capture_output=True, text=True, check=True
    ).stdout
    expected = [line.split("  ")[0] for line in out.splitlines()]
    assert [hash_file(f) for f in files] == expected
    assert hash_files(files) == expected


def test_many_files_hash_in_worker_processes_in_order(tmp_path: Path) -> None:
    files = []
    for i in range(POOL_MIN_FILES + 3):
        path = tmp_path / f"f{i:04d}"
        path.write_bytes(f"file {i}\n".encode())
        files.append(path)
    assert hash_files(files) == [hash_bytes(f"file {i}\n".encode()) for i in range(len(files))]


def test_unreadable_file_yields_error(tmp_path: Path) -> None:
    [result] = hash_files([tmp_path / "missing"])
    assert isinstance(result, FileNotFoundError)


def test_stamp_writes_b3sum_checkable_listing(tmp_path: Path) -> None:
    b3sum = require_tool("b3sum")
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "a b.csv").write_text("x\n1\n")
    (tmp_path / "metadata.yaml").write_text(
        "name: x\ncontent_hash: blake3:old\n# trailing comment\n"
    )
    (tmp_path / "SIGNATURE.asc").write_text("not listed\n")
    stamp = stamp_directory(tmp_path)
    digest = hash_bytes(b"x\n1\n")
    assert stamp.content_hash == "blake3:" + hash_bytes(f"{digest}  train/a b.csv\n".encode())
    assert stamp.metadata_updated and stamp.files == 2
    assert (
        tmp_path / "metadata.yaml"
    ).read_text() == f"name: x\ncontent_hash: {stamp.content_hash}\n# trailing comment\n"
    listing = (tmp_path / "CHECKSUMS.txt").read_text()
    assert listing == format_checksums(
        {"metadata.yaml": hash_file(tmp_path / "metadata.yaml"), "train/a b.csv": digest}
    )
    check = subprocess.run(
        [b3sum, "--check", "CHECKSUMS.txt"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    again = stamp_directory(tmp_path)
    assert not again.metadata_updated and (tmp_path / "CHECKSUMS.txt").read_text() == listing


def test_stamp_appends_missing_content_hash(tmp_path: Path) -> None:
    (tmp_path / "data.bin").write_bytes(b"\x00")
    (tmp_path / "metadata.yaml").write_text("name: x")
    stamp = stamp_directory(tmp_path)
    assert (
        tmp_path / "metadata.yaml"
    ).read_text() == f"name: x\ncontent_hash: {stamp.content_hash}\n"


def test_stamp_refuses_symlinks_and_broken_metadata(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/etc/hostname")
    with pytest.raises(StrataError, match="only regular files"):
        stamp_directory(tmp_path)
    (tmp_path / "link").unlink()
    (tmp_path / "metadata.yaml").write_text("name: [\n")
    with pytest.raises(StrataError, match="not a valid YAML mapping"):
        stamp_directory(tmp_path)
    assert not (tmp_path / "CHECKSUMS.txt").exists()


def test_a_file_that_changes_while_hashed_is_an_error_value_not_a_raise(tmp_path: Path) -> None:
    """Both hashing paths hand back what they could not hash as an OSError value (a worker's
    across the process boundary too): a file rewritten mid-read is not verified, never a crash."""
    import pickle

    from strataml.integrity.hashing import FileChangedError, _identity

    error = pickle.loads(pickle.dumps(FileChangedError("x changed while it was being hashed")))
    assert isinstance(error, OSError) and str(error) == "x changed while it was being hashed"
    path = tmp_path / "data.bin"
    path.write_bytes(b"a" * 100)
    before = path.stat()
    time.sleep(0.05)  # past the kernel's coarsest timestamp tick (10 ms at HZ=100)
    path.write_bytes(b"b" * 100)  # same size; the mtime put back as it was
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert _identity(after) != _identity(before)  # the ctime tells


def test_a_digest_is_a_value_that_knows_its_algorithm() -> None:
    from strataml.integrity.digest import PLACEHOLDER, Digest, is_tagged, shown

    text = "blake3:" + "ab" * 32
    assert str(Digest.parse(text)) == text
    assert Digest.of(b"") == Digest.parse(
        "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    )  # b3sum of nothing
    for bad in ("sha256:" + "ab" * 32, "blake3:" + "AB" * 32, "blake3:abc", "ab" * 32):
        with pytest.raises(ValueError, match="not a blake3 digest"):
            Digest.parse(bad)
    assert (is_tagged(text), is_tagged("sha256:x"), is_tagged(7)) == (True, False, False)
    assert shown(text) == "blake3:abababababab…"
    assert str(PLACEHOLDER) == "blake3:" + "0" * 64
