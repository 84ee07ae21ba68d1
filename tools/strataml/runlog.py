"""logs.txt kept to a size Git and reviewers handle; the whole log kept as an artifact (TFC-0003 R16)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from strataml.atomic import open_atomic

# 10 MiB: a hundred thousand lines or more, which is what a person pages through or a review
# tool renders, and small beside hosting limits (GitHub warns at 50 MB a file). The first and
# last halves are what one reads a log for: how it started and how it ended.
LOG_CAP = 10 << 20
FULL_LOG = "logs.full.txt"  # under artifacts/, sent to Git LFS by .gitattributes
# What a capped log may hold beyond the cap: the marker line and the newline before it.
MARKER_SLACK = 256


def marker(cut: int, full: str) -> bytes:
    return f"[strata: {cut} bytes cut here; the full log is {full}]\n".encode()


def cap_log(log: Path, artifacts: Path, cap: int = LOG_CAP) -> str | None:
    """If `log` is over `cap`: keep its first and last cap/2 bytes around a marker line and
    keep the whole log as artifacts/logs.full.txt. Returns that path (run-relative), or None.

    The whole log is linked (or copied) into artifacts/ before logs.txt is replaced, so a
    crash leaves logs.txt whole, never missing."""
    size = log.stat().st_size
    if size <= cap:
        return None
    artifacts.mkdir(exist_ok=True)  # absent when the command wrote no outputs (TFC-0003 R1)
    target = _free_name(artifacts)
    shown = f"{artifacts.name}/{target.name}"
    half = cap // 2
    with log.open("rb") as source, open_atomic(log) as capped:
        head = source.read(half)
        source.seek(size - half)
        tail = source.read(half)
        capped.write(head)
        capped.write((b"" if head.endswith(b"\n") else b"\n") + marker(size - 2 * half, shown))
        capped.write(tail)
        try:
            os.link(log, target)
        except OSError:  # a file system without hard links
            try:
                shutil.copyfile(log, target)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
    return shown


def _free_name(artifacts: Path) -> Path:
    """artifacts/logs.full.txt, or logs.full.<n>.txt when the command wrote that name itself."""
    candidate, n = artifacts / FULL_LOG, 1
    while os.path.lexists(candidate):
        candidate, n = artifacts / f"logs.full.{n}.txt", n + 1
    return candidate
