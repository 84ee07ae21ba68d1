"""Verify or raise: the one way a writer asks whether a directory may be used (EXAMPLES E3).

Promote, register, sign, the runner's inputs, reuse and reproduction all ask here, with the
codes that matter to them; the error carries doctor's findings, and its message the first."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from strataml.doctor.engine import run_doctor
from strataml.doctor.model import Diagnostic, Severity
from strataml.errors import StrataError

# A directory's listing and the bytes it lists: what must hold before they are used.
BYTES = ("CHK", "LAY010", "LAY011", "LAY012")


class NotIntactError(StrataError):
    """A directory doctor does not pass, with its findings (the first in the message)."""

    def __init__(self, what: str, findings: Sequence[Diagnostic], *, path: str) -> None:
        self.diagnostics = tuple(findings)
        first = findings[0]
        more = len(findings) - 1
        tail = f" (and {more} more; see `strata doctor {path}`)" if more else ""
        super().__init__(f"{what}: {first.path}: {first.code} {first.message}{tail}")


def findings(
    root: Path, path: str, *, select: tuple[str, ...] = BYTES, worst: Severity = Severity.ERROR
) -> list[Diagnostic]:
    """Doctor's findings on `path` (relative to `root`) at `worst` severity or above."""
    report = run_doctor(root / path, select=select)
    return [d for d in report.diagnostics if d.severity.rank <= worst.rank]


def require_intact(
    root: Path, path: str, *, what: str, select: tuple[str, ...] = BYTES,
    worst: Severity = Severity.ERROR,
) -> None:  # fmt: skip
    """Return if doctor passes `path` on the `select`ed codes; raise NotIntactError otherwise."""
    found = findings(root, path, select=select, worst=worst)
    if found:
        raise NotIntactError(what, found, path=path)


def intact(root: Path, path: str, *, select: tuple[str, ...] = BYTES) -> bool:
    """Whether `path` has no error on the `select`ed codes (fail closed: a finding is a no)."""
    return not findings(root, path, select=select)
