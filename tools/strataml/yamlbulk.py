"""Many YAML documents at once (doctor over a large registry), shared out to worker processes."""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Sequence

from strataml.yamlio import ProblemKind, YamlDocument, YamlProblem, parse_yaml

# Many documents at once (doctor over a large registry): below this, worker processes cost more
# than they save.
POOL_MIN_DOCUMENTS = 400


def parse_many(raws: Sequence[bytes]) -> list[YamlDocument]:
    """`parse_yaml` of each, in order. Many documents are shared out: this process reads its share
    while worker processes read theirs, as many small files are hashed (the reading is CPU-bound
    Python, which threads cannot spread). A worker that fails hands its share back to be read here."""
    workers = min(os.cpu_count() or 1, 8)
    if len(raws) < POOL_MIN_DOCUMENTS or workers < 2 or sys.platform != "linux":
        return [parse_yaml(raw) for raw in raws]
    # Imported here: a command that parses a few documents (doctor --since, the runner) does not
    # pay for the process pool's modules.
    import multiprocessing
    from concurrent.futures import BrokenExecutor, ProcessPoolExecutor

    shares = [list(raws[k::workers]) for k in range(workers)]
    results: list[list[YamlDocument] | None] = [None] * workers
    try:  # a pool notices a worker that dies (BrokenProcessPool) where multiprocessing's waits
        pool = ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("fork"))
    except OSError:
        return [parse_yaml(raw) for raw in raws]
    with pool:
        pending = [pool.submit(_parse_share, share) for share in shares[1:]]
        results[0] = [parse_yaml(raw) for raw in shares[0]]
        for k, job in enumerate(pending, start=1):
            try:
                results[k] = _unpack(job.result(), shares[k])
            except (BrokenExecutor, OSError, MemoryError, EOFError, TypeError, ValueError):
                # a lost worker (or a share that came back unreadable) is read here instead
                results[k] = [parse_yaml(raw) for raw in shares[k]]
    out: list[YamlDocument] = [None] * len(raws)  # type: ignore[list-item]
    for k, documents in enumerate(results):
        assert documents is not None
        out[k::workers] = documents
    return out


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
