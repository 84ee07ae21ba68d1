"""What every importer shares: the source run as read, and writing it as a sealed run (TFC-0003 R14)."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml import tool_version
from strataml.atomic import fsync_path
from strataml.integrity.digest import is_tagged
from strataml.integrity.stamp import stamp_directory
from strataml.integrity.tree import scan_tree
from strataml.registry import store
from strataml.runner import rundir
from strataml.runner.record import PlannedRun
from strataml.safeopen import LinkOnPathError, open_beneath, read_beneath, read_regular
from strataml.yamlio import MAX_BYTES, YamlDocument, parse_yaml

_METRIC_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./:@-]{0,127}$")
_NAME_CHARS = re.compile(r"[^a-z0-9._-]+")
# 9999-12-31T23:59:59.999Z: the last moment a record's ISO 8601 times can name.
LAST_MS = 253_402_300_799_999


class SourceError(Exception):
    """One source run cannot be imported as it is: named file and line, the run is left out."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.path, self.line, self.detail = path, line, message
        super().__init__(f"{path}{f':{line}' if line else ''}: {message}")


@dataclass(frozen=True, slots=True)
class Point:
    step: int
    value: float
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class SourceRun:
    tool: str  # mlflow, dvc
    source_id: str  # imported_from.run_id: a source run is imported once
    path: str
    experiment: str  # a StrataML experiment name
    status: str  # succeeded, failed, interrupted
    started_ms: int
    ended_ms: int
    name: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    history: Mapping[str, tuple[Point, ...]] = field(default_factory=dict)
    final: Mapping[str, float] = field(default_factory=dict)
    artifacts: Path | None = None  # a directory whose tree becomes artifacts/
    details: Mapping[str, Any] = field(default_factory=dict)  # more of imported_from
    notes: tuple[str, ...] = ()  # logs.txt lines
    outputs: tuple[str, ...] = ()  # files and directories below `path` copied to artifacts/
    planned: PlannedRun | None = None  # a pipeline stage's run, as the runner would record it

    @property
    def label(self) -> str:
        return label(self.tool, self.source_id, self.name)


def label(tool: str, source_id: str, name: str | None = None) -> str:
    """How output names a source run: tool, the id's start, the run's name."""
    keep = 19 if is_tagged(source_id) else 12
    shown = source_id if len(source_id) <= keep + 4 else source_id[:keep] + "…"
    return f"{tool} {shown}" + (f" ({name})" if name else "")


@dataclass(frozen=True, slots=True)
class Outcome:
    source: str  # what the user knows the run as
    action: str  # imported, skipped, refused
    message: str
    run_id: str | None = None

    def __str__(self) -> str:
        return f"{self.action:<9} {self.source}: {self.message}"


def experiment_name(text: str, fallback: str) -> str:
    """A source experiment's name as a StrataML name: lower case, other characters as '-'."""
    name = _NAME_CHARS.sub("-", text.lower()).strip("-._")[:64].rstrip("-._")
    return name or fallback


def metric_names(names: Iterable[str], where: str) -> tuple[dict[str, str], list[str]]:
    """Source name -> recorded name; names outside the schema's pattern get '_' for each bad char."""
    mapping: dict[str, str] = {}
    notes: list[str] = []
    for name in sorted(names):
        recorded = name
        if not _METRIC_NAME.match(name):
            recorded = re.sub(r"[^A-Za-z0-9_./:@-]", "_", name)[:128]
            recorded = recorded if recorded[0] not in "./:@-" else "_" + recorded[1:]
            notes.append(f"metric {name!r} recorded as {recorded!r}")
        if recorded in mapping.values():
            raise SourceError(where, f"metric names {name!r} and another both become {recorded!r}")
        mapping[name] = recorded
    return mapping, notes


def finite(value: float) -> bool:
    return math.isfinite(value)


def link_refused(base: Path, exc: LinkOnPathError) -> SourceError:
    """No symlink inside a source is followed, even one that stays inside it (TFC-0003 R14)."""
    return SourceError(
        base / exc.component, "a symlink, which is never followed; the run is not imported"
    )


def read_text(base: Path, rel: str, limit: int = MAX_BYTES) -> str:
    """A small text file below `base`, reached through real directories only, regular, UTF-8;
    SourceError otherwise."""
    path = base / rel
    try:
        raw = read_beneath(base, rel, limit + 1)
    except LinkOnPathError as exc:
        raise link_refused(base, exc) from exc
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > limit:
        raise SourceError(path, f"larger than {limit} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            path, f"not UTF-8 text (byte {exc.start})", raw[: exc.start].count(b"\n") + 1
        ) from exc


def read_mapping(base: Path, rel: str, limit: int = MAX_BYTES) -> YamlDocument:
    """A YAML (or JSON) mapping of the source, with its lines; SourceError otherwise."""
    path = base / rel
    document = parse_yaml(read_text(base, rel, limit).encode("utf-8"))
    if not document.ok or document.problems:
        problem = document.problems[0]
        raise SourceError(path, problem.message, problem.line)
    if not isinstance(document.data, dict):
        raise SourceError(path, "not a mapping")
    return document


def check_tree(directory: Path) -> None:
    """A source tree is read only as regular files with portable names; a link is never followed."""
    if directory.is_symlink():
        raise SourceError(directory, "is a symlink; artifacts are never read through one")
    scan = scan_tree(directory)
    for kind, paths in (
        ("a symlink, which is never followed", scan.symlinks),
        ("not a regular file", scan.special),
        ("a name that cannot be listed in CHECKSUMS.txt", scan.unportable),
        ("unreadable", scan.unreadable),
    ):
        if paths:
            raise SourceError(directory / paths[0], f"{kind}; the run is not imported")


def _copy_tree(base: Path, source: str, target: Path) -> None:
    """`base/source`'s files into `target`; each opened beneath `base`, so that a directory
    swapped for a symlink after the scan is refused, not followed."""
    for rel in sorted(scan_tree(base / source).files):
        copy_file(base, f"{source}/{rel}", target / rel)


def copy_file(base: Path, rel: str, destination: Path) -> None:
    """One file below `base`, reached through no symlink, to a new file `destination`."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = open_beneath(base, rel)
    except LinkOnPathError as exc:
        raise link_refused(base, exc) from exc
    except OSError as exc:
        raise SourceError(base / rel, f"cannot read: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as reader, destination.open("xb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        writer.flush()
        os.fsync(writer.fileno())


def timestamp_ms(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


def imported_sources(root: Path) -> dict[tuple[str, str], str]:
    """(tool, source run id) -> run id of every imported run already in runs/."""
    found: dict[tuple[str, str], str] = {}
    runs = root / rundir.RUNS
    if not runs.is_dir():
        return found
    for directory in sorted(runs.iterdir()):
        try:
            raw = read_regular(directory / rundir.CONFIG, MAX_BYTES + 1)
        except OSError:
            continue
        if b"imported_from" not in raw:
            continue
        data = parse_yaml(raw).data
        source = data.get("imported_from") if isinstance(data, dict) else None
        if isinstance(source, dict):
            found.setdefault((str(source.get("tool")), str(source.get("run_id"))), directory.name)
    return found


def import_runs(root: Path, found: Iterable[SourceRun | Outcome]) -> list[Outcome]:
    """Write each source run not imported before; a refused run leaves nothing behind."""
    outcomes: list[Outcome] = []
    with store.locked(root, "import"):  # two imports at once never import one run twice
        known = imported_sources(root)
        for item in found:
            if isinstance(item, Outcome):  # left out by the reader: unreadable, deleted, running
                outcomes.append(item)
                continue
            earlier = known.get((item.tool, item.source_id))
            if earlier is not None:
                outcomes.append(
                    Outcome(item.label, "skipped", f"already imported as runs/{earlier}/", earlier)
                )
                continue
            try:
                run_id = write_run(root, item)
            except SourceError as exc:
                outcomes.append(Outcome(item.label, "refused", str(exc)))
                continue
            known[(item.tool, item.source_id)] = run_id
            outcomes.append(
                Outcome(item.label, "imported", f"{item.status} -> runs/{run_id}/", run_id)
            )
    return outcomes


def write_run(root: Path, run: SourceRun) -> str:
    """Claim runs/<id>/ (dated by the source's start), fill a scratch copy, move it into place."""
    for what, ms in (("start", run.started_ms), ("end", run.ended_ms)):
        if not 0 <= ms <= LAST_MS:  # each reader refuses these first, with the file and line
            raise SourceError(run.path, f"{what} time {ms} ms is not between 1970 and 9999")
    if run.artifacts is not None:
        check_tree(run.artifacts)
    for tree in (Path(run.path, o) for o in run.outputs):
        if tree.is_dir():
            check_tree(tree)
    started = dt.datetime.fromtimestamp(run.started_ms / 1000, dt.UTC)
    run_id, claimed = rundir.claim_run_directory(root, started)
    try:
        with store.staging(root) as stage:
            _fill(stage, run, run_id)
            stamp_directory(stage)  # CHECKSUMS.txt last, as the runner does
            stage.rename(claimed)  # replaces the empty directory we claimed
    except BaseException:
        with contextlib.suppress(OSError):
            claimed.rmdir()
        raise
    fsync_path(claimed.parent)
    return run_id


def _fill(stage: Path, run: SourceRun, run_id: str) -> None:
    imported_at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    config: dict[str, Any] = {
        "schema_version": 1,
        "run_id": run_id,
        "experiment": {"name": run.experiment, "path": None},
        "params": dict(run.params),
        "inputs": {},
        "code": None,
        "fingerprint": None,
        "created": timestamp_ms(run.started_ms),
        "tags": [],
        "imported_from": {
            "tool": run.tool,
            "path": run.path,
            "run_id": run.source_id,
            **run.details,
            "imported_at": imported_at,
        },
    }
    if run.planned is not None:  # a DVC stage: the runner's record, its code state unknown
        config = {**run.planned.config(run_id, config["created"]), "code": None,
                  "imported_from": config["imported_from"]}  # fmt: skip
    if run.name:
        config["name"] = run.name[:100]
    rundir.write_config(stage, config)
    rundir.write_json(
        stage / rundir.SYSTEM,
        {
            "schema_version": 1,
            "status": run.status,
            "exit_code": 0 if run.status == "succeeded" else None,  # the source does not say
            "started": timestamp_ms(run.started_ms),
            "ended": timestamp_ms(run.ended_ms),
            "duration_s": round((run.ended_ms - run.started_ms) / 1000, 3),
            "host": None,
            "python": None,
            "git": None,
            "strataml_version": tool_version(),
            "peak_memory_bytes": None,
        },
    )
    rundir.write_metrics(stage / rundir.METRICS, _metrics(run))
    if run.artifacts is not None:  # artifacts/ only where there are files (TFC-0003 R1)
        source = Path(run.path)
        _copy_tree(source, run.artifacts.relative_to(source).as_posix(), stage / rundir.ARTIFACTS)
    for output in run.outputs:
        if Path(run.path, output).is_dir():
            _copy_tree(Path(run.path), output, stage / rundir.ARTIFACTS / output)
        else:
            copy_file(Path(run.path), output, stage / rundir.ARTIFACTS / output)
    lines = [
        f"imported from {run.tool} run {run.source_id} ({run.path}) at {imported_at}",
        *run.notes,
    ]
    (stage / rundir.LOGS).write_bytes("".join(f"[strata] {line}\n" for line in lines).encode())
    rundir.sync(stage / rundir.LOGS)


def _metrics(run: SourceRun) -> dict[str, Any]:
    history: dict[str, list[dict[str, Any]]] = {}
    for name, points in run.history.items():
        rows = history[name] = []
        for point in points:
            row: dict[str, Any] = {"step": point.step, "value": point.value}
            if point.timestamp_ms is not None:
                row["timestamp"] = point.timestamp_ms
                if point.timestamp_ms >= run.started_ms:
                    row["time"] = round((point.timestamp_ms - run.started_ms) / 1000, 3)
            rows.append(row)
    return {"schema_version": 1, "final": dict(run.final), "history": history}


def format_outcomes(outcomes: list[Outcome]) -> str:
    counts = {a: sum(o.action == a for o in outcomes) for a in ("imported", "skipped", "refused")}
    summary = ", ".join(f"{n} {a}" for a, n in counts.items())
    return "".join(f"{o}\n" for o in outcomes) + f"{summary}\n"


def exit_code(outcomes: list[Outcome]) -> int:
    """1 when a source run could not be read: the user has something to fix."""
    return 1 if any(o.action == "refused" for o in outcomes) else 0
