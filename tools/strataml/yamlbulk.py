"""Many YAML documents at once (doctor over a large registry), shared out to worker processes."""

from __future__ import annotations

import contextlib
import functools
import marshal
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from strataml.yamlio import ProblemKind, YamlDocument, YamlProblem, parse_yaml

# Many documents at once (doctor over a large registry): below this, worker processes cost more
# than they save.
POOL_MIN_DOCUMENTS = 400

T = TypeVar("T")


def parse_many(raws: Sequence[bytes]) -> list[YamlDocument]:
    """`parse_yaml` of each, in order. Many documents are shared out: this process reads its share
    while worker processes read theirs, as many small files are hashed (the reading is CPU-bound
    Python, which threads cannot spread). A worker that fails hands its share back to be read here."""
    return _shared(raws, parse_yaml, _parse_share, _unpack)


def pack_many(raws: Sequence[bytes], pack: Callable[[bytes], bytes]) -> list[bytes]:
    """`pack` of each, in order, shared out as `parse_many` shares: for work done on each parse
    (doctor's credential scan, the parse cache's row) to be done where the parse is. `pack` must
    be a module-level function, for a worker to be handed it."""
    return _shared(raws, pack, functools.partial(_pack_share, pack), _unpack_packed)


def _shared(
    raws: Sequence[bytes],
    here: Callable[[bytes], T],
    there: Callable[[list[bytes]], bytes],
    back: Callable[[bytes, list[bytes]], list[T]],
) -> list[T]:
    """`here` of each raw, in order: a share done here, the others by workers running `there`,
    whose answers `back` reads (raising ValueError or TypeError for one it cannot)."""
    workers = min(os.cpu_count() or 1, 8)
    if len(raws) < POOL_MIN_DOCUMENTS or workers < 2 or sys.platform != "linux":
        return [here(raw) for raw in raws]
    # Imported here: a command that parses a few documents (doctor --since, the runner) does not
    # pay for the process pool's modules.
    import multiprocessing
    from concurrent.futures import BrokenExecutor, ProcessPoolExecutor

    shares = [list(raws[k::workers]) for k in range(workers)]
    results: list[list[T] | None] = [None] * workers
    try:  # a pool notices a worker that dies (BrokenProcessPool) where multiprocessing's waits
        pool = ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("fork"))
    except OSError:
        return [here(raw) for raw in raws]
    with pool:
        pending = [pool.submit(there, share) for share in shares[1:]]
        results[0] = [here(raw) for raw in shares[0]]
        for k, job in enumerate(pending, start=1):
            try:
                results[k] = back(job.result(), shares[k])
            except (BrokenExecutor, OSError, MemoryError, EOFError, TypeError, ValueError):
                # a lost worker (or a share that came back unreadable) is read here instead
                results[k] = [here(raw) for raw in shares[k]]
    out: list[T] = [None] * len(raws)  # type: ignore[list-item]
    for k, done in enumerate(results):
        assert done is not None
        out[k::workers] = done
    return out


def _pack_share(pack: Callable[[bytes], bytes], raws: list[bytes]) -> bytes:
    return marshal.dumps([pack(raw) for raw in raws])


def _unpack_packed(blob: bytes, raws: list[bytes]) -> list[bytes]:
    packed = marshal.loads(blob)
    if not isinstance(packed, list) or len(packed) != len(raws):
        raise ValueError("a share came back with another number of answers")
    if not all(isinstance(value, bytes) for value in packed):
        raise TypeError("a share came back with something other than bytes")
    return packed


def _parse_share(raws: list[bytes]) -> bytes:
    """A worker's share, as one marshal: documents are JSON-shaped, which marshal carries fastest."""
    packed = []
    for document in map(parse_yaml, raws):
        problems = [(p.kind.value, p.line, p.message) for p in document.problems]
        packed.append((document.data, problems, document.lines))
    return marshal.dumps(packed)


def _unpack(blob: bytes, raws: list[bytes]) -> list[YamlDocument]:
    documents = []
    for (data, problems, lines), raw in zip(marshal.loads(blob), raws, strict=True):
        found = tuple(YamlProblem(ProblemKind(kind), line, text) for kind, line, text in problems)
        source = raw.decode("utf-8") if lines is None else None  # lines found from it if asked
        documents.append(YamlDocument(data, found, lines, source))
    return documents


class Ahead:
    """A batch of documents packed by a forked worker while this process checks the batch before
    it. A plain fork that writes its answer to a memory file and ends, as hashing's workers are
    (integrity/hashjob.py): no thread is started for it, and none may run when it is forked (a
    lock that thread held would stay held in the fork), so it is not forked then (TFC-0006 R20).
    A worker that dies, or whose answer is not whole, leaves its documents to be packed here."""

    def __init__(self) -> None:
        self._jobs: dict[int, tuple[int, int]] = {}  # job id -> (pid, memory file descriptor)

    def submit(self, raws: list[bytes], pack: Callable[[bytes], bytes]) -> int | None:
        """A job packing each raw, or None where no worker may be forked (not Linux, one core,
        another thread running): the caller's `take` packs them here."""
        if sys.platform != "linux" or (os.cpu_count() or 1) < 2 or threading.active_count() > 1:
            return None
        try:
            fd = os.memfd_create("strata-documents", os.MFD_CLOEXEC)
        except OSError:
            return None
        try:
            pid = os.fork()
        except OSError:
            os.close(fd)
            return None
        if pid == 0:  # the worker: pack its documents, write them, end without any cleanup
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
                with os.fdopen(fd, "wb", closefd=False) as out:
                    out.write(marshal.dumps([pack(raw) for raw in raws]))
                code = 0
            finally:
                os._exit(code)
        self._jobs[pid] = (pid, fd)
        return pid

    def take(
        self, job: int | None, raws: list[bytes], pack: Callable[[bytes], bytes]
    ) -> list[bytes]:
        """What the job packed, once its worker ended well; else each raw packed here."""
        if job is not None and job in self._jobs:
            pid, fd = self._jobs.pop(job)
            try:
                _, status = os.waitpid(pid, 0)
                if os.waitstatus_to_exitcode(status) == 0:
                    os.lseek(fd, 0, os.SEEK_SET)
                    with os.fdopen(fd, "rb", closefd=False) as answer:
                        return _unpack_packed(answer.read(), raws)
            except (OSError, EOFError, MemoryError, TypeError, ValueError):
                pass  # packed here, below
            finally:
                os.close(fd)
        return [pack(raw) for raw in raws]

    def close(self) -> None:
        """End every worker not taken from (a run that stops early)."""
        for pid, fd in self._jobs.values():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            os.close(fd)
        self._jobs.clear()
