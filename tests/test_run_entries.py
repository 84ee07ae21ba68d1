"""What lies at the top of a run directory (TFC-0003 R1): every kind of entry, read from the scan
doctor takes of the run once (not listed again), and reported as a listing would."""

from __future__ import annotations

import os
from pathlib import Path

from strataml.doctor.engine import run_doctor

RUN = "runs/run-2026-11-25-aiex3k"


def findings(repo: Path) -> list[tuple[str, str, str]]:
    report = run_doctor(repo / RUN, select=("RUN001", "RUN002", "RUN005"))
    return [(d.path.removeprefix(RUN + "/"), d.code, d.message) for d in report.diagnostics]


def test_every_kind_of_entry_at_the_top_of_a_run(base_repo: Path) -> None:
    run = base_repo / RUN
    assert findings(base_repo) == []
    (run / "logs.txt").unlink()
    (run / "logs.txt").mkdir()  # an allowed name, the wrong kind
    (run / "logs.txt" / "inner.txt").write_text("deep\n")
    (run / "artifacts_old").mkdir()
    os.mkfifo(run / "pipe")
    (run / "link").symlink_to("config.yaml")
    (run / "bad\\name").write_text("x\n")
    (run / "system.json").unlink()
    os.mkfifo(run / "README.md")  # an allowed name, neither file nor directory: left to others
    assert findings(base_repo) == [
        ("artifacts_old", "RUN002", "not part of a run record"),
        ("bad\\name", "RUN002", "not part of a run record"),
        ("link", "RUN002", "not part of a run record"),
        ("logs.txt", "RUN002", "logs.txt must be a file"),
        ("pipe", "RUN002", "not part of a run record"),
        ("system.json", "RUN001", "run has no system.json, which every run holds"),
    ]
