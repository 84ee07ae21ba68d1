"""The only module that imports blake3."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import blake3

from strataml.errors import StrataError

# Above this size a file is memory-mapped and hashed with all cores; below it a
# plain read is cheaper than setting up the map and the threads.
LARGE_FILE = 8 << 20
# Python threads hash small files badly (GIL); worker processes pay off once
# there are enough of them to amortise starting the pool.
POOL_MIN_FILES = 512
_CHUNK = 1 << 16


class FileChangedError(StrataError):
    pass


def hash_bytes(data: bytes) -> str:
    return str(blake3.blake3(data).hexdigest())


def hash_file(path: Path) -> str:
    before = path.stat()
    if before.st_size >= LARGE_FILE:
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        hasher.update_mmap(path)
    else:
        hasher = blake3.blake3()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
    after = path.stat()
    # A file rewritten while we read it would give a hash of neither version.
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise FileChangedError(f"{path} changed while it was being hashed")
    return str(hasher.hexdigest())


def _hash_or_error(path: Path) -> str | OSError:
    try:
        return hash_file(path)
    except OSError as exc:
        return exc


def hash_files(
    paths: Sequence[Path], progress: Callable[[int], None] | None = None
) -> list[str | OSError]:
    """Hash many files, in order; an unreadable file yields its OSError instead of a digest.

    `progress`, if given, is called with the size of each file as it is done.
    """
    sizes = [_size(p) for p in paths]
    tick = progress or (lambda _: None)
    small = [i for i, size in enumerate(sizes) if size < LARGE_FILE]
    results: list[str | OSError] = [OSError("not hashed")] * len(paths)
    workers = os.cpu_count() or 1
    if len(small) >= POOL_MIN_FILES and workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            chunk = max(16, len(small) // (workers * 8))
            for i, digest in zip(
                small,
                pool.map(_hash_or_error, [paths[i] for i in small], chunksize=chunk),
                strict=True,
            ):
                results[i] = digest
                tick(sizes[i])
        pooled = set(small)
        todo = [i for i in range(len(paths)) if i not in pooled]
    else:
        todo = list(range(len(paths)))
    for i in todo:
        results[i] = _hash_or_error(paths[i])
        tick(sizes[i])
    return results


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
