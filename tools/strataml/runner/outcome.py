"""How a run ended: its status, exit code and reason (TFC-0002 R7, R8, R15, R16), and its
metrics folded into metrics.json, judged from what the command did."""

from __future__ import annotations

import os
import posixpath
import signal
from collections.abc import Sequence
from pathlib import Path

from strataml import tracking
from strataml.atomic import write_text_atomic
from strataml.integrity.tree import scan_tree
from strataml.metrichistory import HISTORY, MetricsWriter, format_metrics
from strataml.runner import rundir
from strataml.runner.execute import Outcome

_MAX_WARNINGS = 100  # a command that writes a million bad lines gets a summary, not a million


def write_metrics(run_dir: Path, metrics_file: Path, unwritten: list[str]) -> list[str]:
    """Fold the command's metrics file into metrics.json (and metrics.csv, TFC-0003 R15),
    streaming; on a full disk, metrics.json with the final values only. Returns log warnings."""
    warnings: list[str] = []
    bad = 0
    writer = MetricsWriter(run_dir)
    try:
        with metrics_file.open("rb") as handle, writer:
            for number, entry in tracking.iter_metric_lines(handle):
                if isinstance(entry, str):
                    bad += 1
                    if bad <= _MAX_WARNINGS:
                        warnings.append(f"metrics line {number}: {entry}")
                elif entry.step is None:
                    writer.final[entry.name] = entry.value
                else:
                    writer.add(entry.name, entry.step, entry.value, time=entry.time)
            writer.write(run_dir / rundir.METRICS)
    except OSError as exc:
        if not rundir.no_space(exc):
            raise
        unwritten.append(HISTORY if writer.spilled else rundir.METRICS)
        final = writer.document()["final"]
        try:  # the history is lost; the final values are small enough to keep
            write_text_atomic(
                run_dir / rundir.METRICS,
                format_metrics({"schema_version": 1, "final": final, "history": {}}),
            )
        except OSError as again:
            if not rundir.no_space(again):
                raise
            unwritten.append(rundir.METRICS)
    if bad > _MAX_WARNINGS:
        warnings.append(f"metrics: {bad - _MAX_WARNINGS} more bad lines")
    return warnings


def disk_full(run_dir: Path) -> bool:
    try:
        return os.statvfs(run_dir).f_bavail == 0
    except OSError:
        return False


def disk_reason(unwritten: list[str], disk_was_full: bool, status: str) -> str | None:
    """Why a full disk failed the run, as system.json records it (TFC-0002 R15)."""
    if unwritten:
        return f"no space left on device while writing {', '.join(dict.fromkeys(unwritten))}"
    if disk_was_full and status == "failed":
        return f"no space left on device: the file system of {rundir.RUNS}/ was full when the command ended"
    return None


def judge(
    outcome: Outcome, run_dir: Path, *, timeout_s: float | None, outputs: Sequence[str]
) -> tuple[str, int, list[str], str | None]:
    """(status, the runner's exit code, log notes, the failure's reason) for how the command
    ended (TFC-0002 R7-R8); every failed run has a reason (TFC-0002 R16)."""
    if outcome.start_error is not None:
        return "failed", 127, [outcome.start_error], outcome.start_error
    assert outcome.exit_code is not None
    code = outcome.exit_code if outcome.exit_code >= 0 else 128 - outcome.exit_code
    if outcome.interrupted_by is not None:
        return (
            "interrupted",
            code if outcome.exit_code < 0 else 128 + outcome.interrupted_by,
            [f"interrupted by signal {outcome.interrupted_by}"],
            None,
        )
    if outcome.timed_out:
        timed_out = f"timed out after {timeout_s:g} s"
        return "failed", code or 1, [timed_out], timed_out
    if code != 0:
        return "failed", code, [], _exit_reason(outcome.exit_code)
    artifacts = run_dir / rundir.ARTIFACTS
    missing = [p for p in outputs if not (artifacts / p).exists()]
    scan = scan_tree(artifacts)
    odd = [*scan.symlinks, *scan.special, *scan.unportable]
    notes = [f"declared output {p} is missing from artifacts/" for p in missing]
    # A declared directory must hold a file: CHECKSUMS.txt lists files only, so an empty one
    # would seal as nothing a later stage could pin.
    notes += [
        f"declared output {p} holds no file in artifacts/"
        for p in outputs
        if p not in missing and not _holds_file(scan.files, posixpath.normpath(p))
    ]
    notes += [f"artifacts/{p}: runs hold regular files with portable names only" for p in odd]
    if notes:
        more = f" (and {len(notes) - 1} more in logs.txt)" if len(notes) > 1 else ""
        return "failed", 1, notes, clip(notes[0]) + more
    return "succeeded", 0, [], None


def _holds_file(files: dict[str, int], output: str) -> bool:
    return output in files or any(path.startswith(output + "/") for path in files)


def _exit_reason(exit_code: int) -> str:
    if exit_code > 0:
        return f"command exited with status {exit_code}"
    try:
        name = f" ({signal.Signals(-exit_code).name})"
    except ValueError:
        name = ""
    return f"command was killed by signal {-exit_code}{name}"


def clip(text: str, limit: int = 900) -> str:
    """system.json's reason is one bounded line (run-system.schema.json: at most 1000)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
