"""Hashing beside the checks: a batch of artifacts' files is read by forked worker processes
while doctor goes on with everything else, and each artifact's digests are taken when its
checksum check asks for them (TFC-0006 R20).

The workers are plain forks that each get their share of the paths before they start and write
one length-prefixed message per artifact to a pipe: this process starts no thread for it, so
nothing is forked while a thread holds a lock, and a worker that dies leaves its share unread,
which the check reports as unreadable (fail closed), never as verified.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import signal
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from strataml.integrity import hashing

# A share's cost in bytes: reading a file costs about this much beyond its bytes (open, stat,
# a message), so that many small files weigh against one large one as they take time.
_PER_FILE = 16 << 10
# Fewer files than this, with no large one among them, are hashed when asked, here: forking
# workers costs more than it saves.
MIN_FILES = hashing.POOL_MIN_FILES
_HEADER = struct.Struct("<Q")


class WorkerLostError(OSError):
    """A hashing worker ended before it handed over a file's digest: the file is not verified."""


@dataclass
class _Worker:
    pid: int
    fd: int  # the read end of its pipe
    buffer: bytearray = field(default_factory=bytearray)
    # per group, in the order the worker hashes them: (group, positions in the group)
    plan: list[tuple[str, list[int]]] = field(default_factory=list)
    received: int = 0  # how many of `plan` have arrived
    ended: bool = False


class HashJob:
    """Digests of `groups` (a key, e.g. an artifact's path, to its files), read by workers."""

    def __init__(self, groups: dict[str, list[tuple[str, int]]], workers: int) -> None:
        """`groups`: each key's files as (path, size), the sizes only sharing the work out."""
        self._paths = {key: [path for path, _ in files] for key, files in groups.items()}
        self._sizes = {key: [size for _, size in files] for key, files in groups.items()}
        self._results: dict[str, list[str | OSError | None]] = {
            key: [None] * len(paths) for key, paths in self._paths.items()
        }
        self._missing = {key: len(paths) for key, paths in self._paths.items()}
        self._workers: list[_Worker] = []
        for plan in _shares(self._sizes, workers):
            self._workers.append(self._fork(plan))

    @staticmethod
    def worth_it(groups: dict[str, list[tuple[str, int]]]) -> bool:
        """Workers pay off for many files or a large one, and only where forking is safe: on
        Linux, from a process running no other thread."""
        if sys.platform != "linux" or threading.active_count() > 1 or (os.cpu_count() or 1) < 2:
            return False
        sizes = [size for files in groups.values() for _, size in files]
        return len(sizes) >= MIN_FILES or any(size >= hashing.LARGE_FILE for size in sizes)

    def _fork(self, plan: list[tuple[str, list[int]]]) -> _Worker:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: hash its share, write it, and end without running any cleanup
            code = 1
            try:
                os.close(read_end)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
                for key, positions in plan:
                    digests = _hash_share([self._paths[key][i] for i in positions])
                    _write_all(write_end, _frame(digests))
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        os.set_blocking(read_end, False)
        return _Worker(pid, read_end, plan=plan)

    def take(self, key: str, tick: Callable[[int], None] = lambda _: None) -> list[str | OSError]:
        """The digests of `key`'s files, in order, waiting for the workers that hold them; a file
        whose worker ended without handing its digest over is a WorkerLostError."""
        if key not in self._results:
            raise KeyError(key)
        while self._missing[key]:
            waiting = [w for w in self._workers if not w.ended and self._owes(w, key)]
            if not waiting:
                break
            ready, _, _ = select.select([w.fd for w in waiting], [], [], 1.0)
            for worker in waiting:
                if worker.fd in ready:
                    self._receive(worker, tick)
        results = self._results.pop(key)
        self._missing.pop(key)
        lost = WorkerLostError(f"a hashing worker ended before it read these files ({key})")
        return [lost if r is None else r for r in results]

    def _owes(self, worker: _Worker, key: str) -> bool:
        return any(group == key for group, _ in worker.plan[worker.received :])

    def _receive(self, worker: _Worker, tick: Callable[[int], None]) -> None:
        try:
            chunk = os.read(worker.fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._end(worker)
            return
        worker.buffer += chunk
        while len(worker.buffer) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(worker.buffer)
            if len(worker.buffer) < _HEADER.size + length:
                break
            body = bytes(worker.buffer[_HEADER.size : _HEADER.size + length])
            del worker.buffer[: _HEADER.size + length]
            key, positions = worker.plan[worker.received]
            worker.received += 1
            self._store(key, positions, body, tick)

    def _store(
        self, key: str, positions: list[int], body: bytes, tick: Callable[[int], None]
    ) -> None:
        if key not in self._results:
            return  # taken already (its worker was lost): what arrives late is not used
        try:
            digests = marshal.loads(body)
        except (EOFError, ValueError, TypeError):
            digests = None
        if not isinstance(digests, list) or len(digests) != len(positions):
            return  # unreadable: the files stay missing, and are reported unread
        results, sizes, done = self._results[key], self._sizes[key], 0
        for position, digest in zip(positions, digests, strict=True):
            if type(digest) is str:
                results[position] = digest
            elif isinstance(digest, tuple) and len(digest) == 3:
                kind, number, text = digest
                error = (
                    hashing.FileChangedError(text) if kind == "changed" else OSError(number, text)
                )
                results[position] = error
            else:
                continue
            self._missing[key] -= 1
            done += sizes[position]
        tick(done)

    def _end(self, worker: _Worker) -> None:
        worker.ended = True
        os.close(worker.fd)
        _reap(worker.pid)

    def close(self) -> None:
        """End the workers, whether or not everything was taken."""
        for worker in self._workers:
            if not worker.ended:
                worker.ended = True
                os.close(worker.fd)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
                _reap(worker.pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _shares(sizes: dict[str, list[int]], workers: int) -> list[list[tuple[str, list[int]]]]:
    """Each worker's files, group by group in the groups' order: the largest first to the least
    loaded worker, so that shares end together and the first groups are ready first."""
    order = {key: n for n, key in enumerate(sizes)}
    keys = list(sizes)
    # (-cost, group number, index): sorted as plain tuples, the costliest first, ties in order
    items = sorted(
        (-(size + _PER_FILE), n, i)
        for n, group in enumerate(sizes.values())
        for i, size in enumerate(group)
    )
    loads = [0] * workers
    owned: list[dict[str, list[int]]] = [{} for _ in range(workers)]
    for cost, n, i in items:
        k = loads.index(min(loads))
        loads[k] -= cost
        owned[k].setdefault(keys[n], []).append(i)
    return [
        [(key, sorted(share[key])) for key in sorted(share, key=order.__getitem__)]
        for share in owned
        if share
    ]


def _hash_share(paths: list[str]) -> list[str | tuple[str, int, str]]:
    """A worker's digests of `paths`; an error travels as (kind, errno, text)."""
    out: list[str | tuple[str, int, str]] = []
    for path in paths:
        try:
            out.append(hashing.hash_file(Path(path), threads=not hashing.threads_started()))
        except hashing.FileChangedError as exc:
            out.append(("changed", 0, str(exc)))
        except OSError as exc:
            out.append(("error", exc.errno or 0, exc.strerror or str(exc)))
    return out


def _frame(digests: list[str | tuple[str, int, str]]) -> bytes:
    body = marshal.dumps(digests)
    return _HEADER.pack(len(body)) + body


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
