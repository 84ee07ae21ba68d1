"""Reading files that may be anything: never block on a FIFO, never follow a link."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | _CLOEXEC
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC
_CHUNK = 1 << 20  # what each read after the first asks for


class NotRegularFileError(OSError):
    """The path is a FIFO, device, socket, directory or symlink."""


class LinkOnPathError(OSError):
    """A component below the base directory is a symlink, or the path leaves the base."""

    def __init__(self, component: str, why: str) -> None:
        super().__init__(errno.ELOOP, f"{component} {why}")
        self.component = component


def read_regular(path: str | Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file (at most `limit` of them); OSError for anything else."""
    return _read(os.open(path, _FLAGS), path, limit)


def read_beneath(base: Path, rel: str, limit: int | None = None) -> bytes:
    """`read_regular(base / rel)`, reached without following a symlink in any part of `rel`."""
    return _read(open_beneath(base, rel), base / rel, limit)


def open_beneath(base: Path, rel: str, flags: int = _FLAGS, mode: int = 0o666) -> int:
    """A descriptor of `base / rel`: each directory of `rel` opened with O_NOFOLLOW from the
    one before it, and the last part with `flags` (which hold O_NOFOLLOW), so that no symlink
    below `base` is followed, even one swapped in while the path is walked. `base` itself is
    the caller's choice and is followed. LinkOnPathError names the first link, '..' or '/'."""
    parts = PurePosixPath(rel).parts
    if not parts or parts[0] == "/" or any(p in (".", "..") for p in parts):
        raise LinkOnPathError(rel, "is not a relative path inside its directory")
    fd = os.open(base, _DIRECTORY)
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        try:
            opened = os.open(
                part, (flags | os.O_NOFOLLOW) if last else (_DIRECTORY | os.O_NOFOLLOW), mode,
                dir_fd=fd,
            )  # fmt: skip
        except OSError as exc:
            link = exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK) and _is_link(fd, part)
            os.close(fd)
            if link:
                shown = "/".join(parts[: depth + 1])
                raise LinkOnPathError(shown, "is a symlink, which is never followed") from exc
            raise
        os.close(fd)
        fd = opened
    return fd


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def _read(fd: int, path: str | Path, limit: int | None) -> bytes:
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFileError(f"{path} is not a regular file")
        # Read to the end (or `limit`) whatever the size said: the file may grow or shrink while
        # it is read. The first read asks for one byte more than the size, so a file that kept
        # its size ends with the second, empty read; no buffered reader is built for it.
        parts = []
        left = limit
        ask = st.st_size + 1
        while left is None or left > 0:
            chunk = os.read(fd, ask if left is None else min(ask, left))
            if not chunk:
                break
            parts.append(chunk)
            if left is not None:
                left -= len(chunk)
            ask = _CHUNK
        return parts[0] if len(parts) == 1 else b"".join(parts)
    finally:
        os.close(fd)


def open_regular(path: Path) -> BinaryIO:
    """`read_regular` for a file too large to hold: a handle to stream it, checked the same way."""
    fd = os.open(path, _FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFileError(f"{path} is not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
