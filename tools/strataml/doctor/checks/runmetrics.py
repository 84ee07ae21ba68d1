"""A run's metric history against its summary, and its log against the cap (TFC-0003 R15, R16)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import Any

from strataml.doctor.checks.runinputs import mapping
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import RUN016, RUN017, SCH003
from strataml.metrichistory import HISTORY, ROW_FORMAT, Series, scan_history, series_of
from strataml.runlog import LOG_CAP, MARKER_SLACK
from strataml.safeopen import open_regular
from strataml.workspace import Artifact
from strataml.yamlio import YamlDocument

_RESTORE = "records are never edited: restore the run from Git"


def check_run_metrics(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    if artifact.kind != "run":
        return
    yield from _check_history(ctx, artifact)
    yield from _check_log(ctx, artifact)


def _briefs(data: dict[str, Any]) -> dict[str, Series] | None:
    series = data.get("series")
    if not isinstance(series, dict):
        return None
    briefs = {str(name): series_of(value) for name, value in series.items()}
    if any(brief is None for brief in briefs.values()):
        return None  # SCH003 says why
    return {name: brief for name, brief in briefs.items() if brief is not None}


def _check_history(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    at_json, at_csv = f"{artifact.path}/metrics.json", f"{artifact.path}/{HISTORY}"
    parsed = mapping(ctx, at_json)
    present = os.path.lexists(ctx.root / at_csv)
    if parsed is None:
        return
    document, data = parsed
    if data.get("schema_version") != 2:
        if present:
            yield RUN016.at(
                at_csv,
                "metrics.json holds the history inline (schema_version 1), so there is no "
                "metrics.csv in this run",
                hint=_RESTORE,
            )
        return
    briefs = _briefs(data)
    if briefs is None:
        return
    if not present:
        if briefs:
            points = sum(b.count for b in briefs.values())
            yield RUN016.at(
                at_json,
                f"series counts {points} points of {len(briefs)} metrics, but there is no "
                f"{HISTORY}",
                line=document.line_of(("series",)),
                hint=_RESTORE,
            )
        return
    if HISTORY in ctx.pointers(artifact):
        return  # LFS content not pulled: LFS002 says it is not verified
    state = _state(ctx, (at_json, at_csv))
    key = f"history:{artifact.path}"
    cached = ctx.cache.get_note(key) if ctx.cache is not None and ctx.use_cache else None
    if state is not None and cached == state:
        return
    found = list(_compare(ctx, document, briefs, at_json, at_csv))
    yield from found
    if state is not None and ctx.cache is not None and ctx.settled(artifact):
        ctx.cache.set_note(key, None if found else state)


def _compare(
    ctx: Context, document: YamlDocument, briefs: dict[str, Series], at_json: str, at_csv: str
) -> Iterator[Diagnostic]:
    try:
        handle = open_regular(ctx.root / at_csv)
    except OSError:
        return  # not a regular file: RUN002 or LAY01x says so
    with handle:
        scan = scan_history(handle, briefs)
    if scan.bad is not None:
        yield SCH003.at(
            at_csv,
            f"line {scan.bad.line}: {scan.bad.message}"
            if scan.bad.message != ROW_FORMAT
            else f"line {scan.bad.line} is not a point: {ROW_FORMAT}",
            line=scan.bad.line,
            hint="see TFC-0003 R15: a header `name,step,value,time,timestamp`, then one point "
            "a line",
        )
        return
    if scan.stray is not None:
        line, name = scan.stray
        yield RUN016.at(
            at_csv,
            f"metric {name} has points here but no series in metrics.json",
            line=line,
            hint=_RESTORE,
        )
        return
    for name, recorded in sorted(briefs.items()):
        observed = scan.series.get(name)
        if observed is None:
            problem = f"series {name} counts {recorded.count} points; {HISTORY} holds none"
        elif differences := recorded.differences(observed):
            problem = f"series {name}: " + "; ".join(differences)
        else:
            continue
        yield RUN016.at(at_json, problem, line=document.line_of(("series", name)), hint=_RESTORE)


def _state(ctx: Context, paths: tuple[str, ...]) -> str | None:
    """The files as they stand (size, mtime, ctime, inode): the same state, the same verdict."""
    parts = []
    for path in paths:
        try:
            st = os.lstat(ctx.root / path)
        except OSError:
            return None
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}")
    return ";".join(parts)


def _check_log(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    system = mapping(ctx, f"{artifact.path}/system.json")
    if system is None or system[1].get("status") in (None, "running"):
        return  # the runner caps the log when the command ends
    at = f"{artifact.path}/logs.txt"
    try:
        st = os.lstat(ctx.root / at)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_size > LOG_CAP + MARKER_SLACK:
        yield RUN017.at(
            at,
            f"{st.st_size} bytes, over the {LOG_CAP}-byte cap for logs.txt",
            hint="the runner keeps the first and last halves around a marker line and the "
            "whole log as artifacts/logs.full.txt (Git LFS); " + _RESTORE,
        )
