"""The only module that imports blake3."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import blake3

from strataml.errors import StrataError

# Above this size a file is memory-mapped and hashed with all cores; below it a
# plain read is cheaper than setting up the map and the threads.
LARGE_FILE = 8 << 20
# Python threads hash small files badly (GIL); worker processes pay off once
# there are enough of them to amortise starting the pool.
POOL_MIN_FILES = 512
_CHUNK = 1 << 20
SMALL_FILE = 1 << 20


class FileChangedError(StrataError, OSError):
    """A file that changed while it was read: its digest would be of neither version. An
    OSError too, so that every caller that takes an unreadable file's error takes this one."""


def _identity(status: os.stat_result) -> tuple[int, int, int, int]:
    """What changes when a file is rewritten, renamed over or touched back: both hashing paths
    compare it before and after the read (ctime catches a rewrite whose mtime was restored)."""
    return (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def hash_bytes(data: bytes) -> str:
    return str(blake3.blake3(data).hexdigest())


class Hasher(Protocol):
    def update(self, data: bytes, /) -> object: ...
    def hexdigest(self) -> str: ...


def new_hasher() -> Hasher:
    """An incremental BLAKE3, for bytes that arrive piece by piece (a member of an archive)."""
    return blake3.blake3()


_threads_started = False


def threads_started() -> bool:
    """Whether this process has started blake3's thread pool: a process forked from it must not
    use that pool (its threads are not in the fork, and waiting on them hangs for ever)."""
    return _threads_started


def hash_file(path: Path, *, threads: bool = True) -> str:
    global _threads_started
    before = os.stat(path)  # noqa: PTH116 - str or Path, no Path object made
    if before.st_size >= LARGE_FILE and threads:
        _read_ahead(path)
        _threads_started = True
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        hasher.update_mmap(path)
    elif (
        before.st_size <= SMALL_FILE
    ):  # one read, one call: most of a small file's cost is overhead
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            hasher = blake3.blake3(os.read(fd, SMALL_FILE + 1))
        finally:
            os.close(fd)
    else:
        hasher = blake3.blake3()
        with open(path, "rb", buffering=0) as handle:  # noqa: PTH123 - unbuffered: no copy
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
    after = os.stat(path)  # noqa: PTH116
    # A file rewritten while we read it would give a hash of neither version.
    if _identity(before) != _identity(after):
        raise FileChangedError(f"{path} changed while it was being hashed")
    return str(hasher.hexdigest())


def _hash_or_error(path: Path) -> str | OSError:
    try:
        return hash_file(path)
    except OSError as exc:
        return exc


def _read_ahead(path: Path) -> None:
    """Ask the kernel to stream the file in: threads hashing a mapping fault pages out of order,
    which a cold disk serves far slower than one sequential read."""
    if not hasattr(os, "posix_fadvise"):
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


def _hash_chunk(paths: list[str]) -> list[str | OSError]:
    out: list[str | OSError] = []
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    for path in paths:  # the small-file path of hash_file, inlined: per-file overhead is the cost
        try:
            fd = os.open(path, flags)
            try:
                before = os.fstat(fd)
                if before.st_size > SMALL_FILE:
                    # A forked worker must not use blake3's thread pool: one the parent started
                    # is gone in the child, and waiting on it hangs forever.
                    out.append(hash_file(Path(path), threads=False))
                    continue
                digest = blake3.blake3(os.read(fd, SMALL_FILE + 1)).hexdigest()
                after = os.stat(path)  # noqa: PTH116 - a rename over the path shows here
            finally:
                os.close(fd)
            if _identity(before) != _identity(after):
                raise FileChangedError(f"{path} changed while it was being hashed")
            out.append(str(digest))
        except OSError as exc:
            out.append(exc)
    return out


def hash_files(
    paths: Sequence[Path], progress: Callable[[int], None] | None = None
) -> list[str | OSError]:
    """Hash many files, in order; an unreadable file yields its OSError instead of a digest.

    Small files go to worker processes in a few large, interleaved chunks (one message per chunk,
    sizes balanced); large files are hashed here, memory-mapped, with all cores. `progress`, if
    given, is called with byte counts as work completes.
    """
    sizes = [_size(p) for p in paths]
    tick = progress or (lambda _: None)
    small = [i for i, size in enumerate(sizes) if size < LARGE_FILE]
    results: list[str | OSError] = [OSError("not hashed")] * len(paths)
    workers = os.cpu_count() or 1
    pooled: set[int] = set()
    if len(small) >= POOL_MIN_FILES and workers > 1:
        parts = workers * 4
        chunks = [small[k::parts] for k in range(parts)]
        context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        with context.Pool(workers, initializer=_default_sigterm) as pool:
            for chunk, digests in zip(
                chunks,
                pool.imap(_hash_chunk, [[str(paths[i]) for i in c] for c in chunks]),
                strict=True,
            ):
                for i, digest in zip(chunk, digests, strict=True):
                    results[i] = digest
                tick(sum(sizes[i] for i in chunk))
        pooled = set(small)
    for i in range(len(paths)):
        if i not in pooled:
            results[i] = _hash_or_error(paths[i])
            tick(sizes[i])
    return results


def _default_sigterm() -> None:
    """A forked worker inherits the parent's handlers (the runner forwards SIGTERM to its
    command); Pool.terminate() ends workers with SIGTERM, and a worker that only ran the handler
    and went back to waiting for the queue's lock left terminate() waiting for ever."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
