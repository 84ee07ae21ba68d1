"""Doctor on artifact content only: `strata checksum --check` and `strata lfs pull`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from strataml import lfs
from strataml.doctor.engine import Report, run_doctor
from strataml.doctor.report import format_text


def check_checksums(path: Path) -> Report:
    # Content that is not here is not verified: never OK (TFC-0008 R12).
    return run_doctor(path, select=("CHK", "LAY01", "LFS002"), require_content=True)


@dataclass(frozen=True)
class Pulled:
    target: str
    present: int  # LFS files whose content is here after the pull
    report: Report

    def text(self) -> str:
        status = "FAILED" if self.report.failed else "verified"
        line = (
            f"{self.target}: {self.present} LFS files present, "
            f"{self.report.files_hashed} files hashed, {status}\n"
        )
        return line + (format_text(self.report) if self.report.failed else "")


def pull_verified(root: Path, targets: Sequence[str]) -> Iterator[Pulled]:
    """Fetch exactly the LFS objects `targets` need, then verify each, one by one."""
    lfs.pull(root, list(targets))
    for target in targets:
        report = run_doctor(root / target, select=("CHK", "LFS"), require_content=True)
        present = sum(1 for s in lfs.file_states(root, [target]) if s.state == "present")
        yield Pulled(target, present, report)
