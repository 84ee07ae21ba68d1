"""read_regular: a regular file's bytes to its end or to a limit, never anything else."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from strataml.safeopen import NotRegularFileError, read_regular

MIB = 1 << 20
SIZES = [0, 1, 4095, MIB - 1, MIB, MIB + 1, 3 * MIB + 7]


@pytest.mark.parametrize("size", SIZES)
def test_whole_file_and_every_limit(tmp_path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert read_regular(path) == data
    assert read_regular(str(path)) == data
    for limit in {0, 1, size - 1, size, size + 1, MIB, 2 * MIB + 3}:
        if limit >= 0:
            assert read_regular(path, limit) == data[:limit], limit


def test_a_file_that_grows_while_read_is_read_to_its_end(tmp_path: Path) -> None:
    """The size at open is a first guess only: bytes added after it are read too."""
    path = tmp_path / "growing.log"
    path.write_bytes(b"a" * 10)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    grown = threading.Event()
    original = os.read

    def read_and_grow(descriptor: int, count: int) -> bytes:
        chunk = original(descriptor, count)
        if not grown.is_set():  # after the first read: the file grows by 3 MiB
            os.write(fd, b"b" * (3 * MIB))
            grown.set()
        return chunk

    try:
        os.read = read_and_grow  # type: ignore[assignment]
        got = read_regular(path)
    finally:
        os.read = original
        os.close(fd)
    assert got == b"a" * 10 + b"b" * (3 * MIB)


def test_anything_but_a_regular_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "target").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(NotRegularFileError, match="fifo is not a regular file"):
        read_regular(tmp_path / "fifo")
    with pytest.raises(NotRegularFileError, match="is not a regular file"):
        read_regular(tmp_path)
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        read_regular(tmp_path / "link")
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing")
