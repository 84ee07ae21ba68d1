"""MLflow's file store (`mlruns/`), read directly: mlflow is not a dependency (TFC-0003 R14).

Layout: `<experiment id>/meta.yaml`, `<experiment id>/<run id>/meta.yaml`, and in each run
`params/<key>` (the value), `metrics/<key>` (lines `timestamp value step`), `tags/<key>` and
`artifacts/`; keys with `/` are nested directories.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from strataml.errors import StrataError
from strataml.importers.record import (
    LAST_MS,
    Outcome,
    Point,
    SourceError,
    SourceRun,
    check_tree,
    experiment_name,
    finite,
    label,
    metric_names,
    read_mapping,
    read_text,
)
from strataml.integrity.tree import scan_tree
from strataml.yamlio import MAX_BYTES

TOOL = "mlflow"
# mlflow.entities.RunStatus: the numbers meta.yaml holds.
_STATUS_NAMES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
_STATUS = {"FINISHED": "succeeded", "FAILED": "failed", "KILLED": "interrupted"}
_MILLIS = re.compile(r"^[0-9]{1,15}$")  # below 10**15: int() never meets its digit limit
_STEP = re.compile(r"^-?[0-9]{1,19}$")  # MLflow's steps are 64-bit
_NUMBER = re.compile(
    r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$|^[-+]?(nan|inf|infinity)$", re.I
)
_METRIC_BYTES = 256 * MAX_BYTES  # one line per step: far more than a metadata file


def find_store(path: Path) -> Path:
    """The mlruns/ directory at `path` (or `path/mlruns`, or a file:// URI of either)."""
    # A file:// URI as MLflow prints it; pathlib has already folded its '//' into one.
    candidate = Path(str(path).removeprefix("file://").removeprefix("file:"))
    if not _experiment_dirs(candidate) and (candidate / "mlruns").is_dir():
        candidate = candidate / "mlruns"
    if not candidate.is_dir():
        raise StrataError(f"{path}: no such directory (expected an MLflow mlruns/ tree)")
    if not _experiment_dirs(candidate):
        raise StrataError(f"{path}: not an MLflow file store (no <experiment id>/meta.yaml in it)")
    return candidate.absolute()


def _experiment_dirs(store: Path) -> list[Path]:
    """Directories holding a meta.yaml (symlinks too, to be refused); .trash/ is MLflow's bin."""
    if not store.is_dir():
        return []
    try:
        entries = sorted(store.iterdir())
    except OSError as exc:
        raise StrataError(f"{store}: cannot list: {exc.strerror or exc}") from exc
    return [d for d in entries if not d.name.startswith(".") and (d / "meta.yaml").is_file()]


def _refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise SourceError(path, "a symlink, which is never followed; the store is read in place")


def iter_runs(store: Path, *, experiment: str | None = None) -> Iterator[SourceRun | Outcome]:
    """Every run of the store (of one experiment, by name or id), or why it is left out."""
    experiments: list[tuple[Path, dict[str, Any]] | Outcome] = []
    for directory in _experiment_dirs(store):
        try:
            _refuse_link(directory)
            experiments.append((directory, read_mapping(store, f"{directory.name}/meta.yaml").data))
        except SourceError as exc:
            experiments.append(Outcome(f"{TOOL} experiment {directory.name}", "refused", str(exc)))
    if experiment is not None:
        experiments = [
            e for e in experiments
            if not isinstance(e, Outcome) and experiment in (e[1].get("name"), _id(e))
        ]  # fmt: skip
        if not experiments:
            raise StrataError(f"{store}: no MLflow experiment named {experiment!r}")
    for entry in experiments:
        if isinstance(entry, Outcome):
            yield entry
            continue
        directory, meta = entry
        if meta.get("lifecycle_stage") == "deleted":
            yield Outcome(f"{TOOL} experiment {_id(entry)}", "skipped", "deleted in MLflow")
            continue
        try:
            listing = sorted(directory.iterdir())
        except OSError as exc:
            yield Outcome(f"{TOOL} experiment {_id(entry)}", "refused", f"{directory}: {exc}")
            continue
        for run_dir in listing:
            if not (run_dir / "meta.yaml").is_file():
                continue  # tags/, models/, traces/ … are not runs
            try:
                _refuse_link(run_dir)
                yield _read_run(store, run_dir, meta, _id(entry))
            except SourceError as exc:
                yield Outcome(label(TOOL, run_dir.name), "refused", str(exc))


def _id(entry: tuple[Path, dict[str, Any]]) -> str:
    return str(entry[1].get("experiment_id", entry[0].name))


def _read_run(
    store: Path, run_dir: Path, experiment: dict[str, Any], experiment_id: str
) -> SourceRun | Outcome:
    meta_path = run_dir / "meta.yaml"
    document = read_mapping(store, _below(store, meta_path))
    meta = document.data
    run_id = meta.get("run_id", meta.get("run_uuid"))
    if run_id != run_dir.name:
        raise SourceError(
            meta_path,
            f"run_id {run_id!r} is not the directory's name",
            document.line_of(("run_id",)),
        )
    shown = label(TOOL, run_id)
    if meta.get("lifecycle_stage") == "deleted":
        return Outcome(shown, "skipped", "deleted in MLflow")
    raw_status = meta.get("status")
    status = _STATUS_NAMES.get(raw_status, raw_status) if type(raw_status) is int else raw_status
    if status in ("RUNNING", "SCHEDULED"):
        return Outcome(shown, "skipped", f"still {status} in MLflow; import it once it has ended")
    if status not in _STATUS:
        raise SourceError(
            meta_path, f"unknown run status {raw_status!r}", document.line_of(("status",))
        )
    start, end = (_millis(meta_path, document.data, k, document.line_of((k,))) for k in ("start_time", "end_time"))  # fmt: skip
    if end < start:
        raise SourceError(
            meta_path, "end_time is before start_time", document.line_of(("end_time",))
        )
    tags = _values(store, run_dir / "tags")
    history, final, notes = _metrics(store, run_dir / "metrics")
    artifacts = run_dir / "artifacts"
    uri = meta.get("artifact_uri")
    if not artifacts.exists() and isinstance(uri, str) and uri:
        notes.append(f"artifacts at {uri} are outside the mlruns tree and were not imported")
    source_name = experiment.get("name")
    details: dict[str, Any] = {
        "experiment": source_name if isinstance(source_name, str) else None,
        "experiment_id": experiment_id,
    }
    for key, value in (("user", meta.get("user_id")), ("artifact_uri", uri)):
        if isinstance(value, str) and value:
            details[key] = value
    details["tags"] = tags
    name = tags.get("mlflow.runName") or meta.get("run_name")
    return SourceRun(
        tool=TOOL,
        source_id=run_id,
        path=store.as_posix(),
        experiment=experiment_name(str(source_name or ""), f"mlflow-{experiment_id}"),
        status=_STATUS[status],
        started_ms=start,
        ended_ms=end,
        name=name if isinstance(name, str) and name else None,
        params=_values(store, run_dir / "params"),
        history=history,
        final=final,
        artifacts=artifacts if artifacts.exists() or artifacts.is_symlink() else None,
        details=details,
        notes=tuple(notes),
    )


def _millis(path: Path, meta: dict[str, Any], key: str, line: int | None) -> int:
    value = meta.get(key)
    if type(value) is not int or not 0 <= value <= LAST_MS:
        raise SourceError(path, f"{key} is {value!r}, not milliseconds since 1970", line)
    return value


def _files(directory: Path) -> list[str]:
    """Relative paths of the files under a params/, tags/ or metrics/ directory."""
    _refuse_link(directory)
    if not directory.is_dir():
        return []
    check_tree(directory)
    return sorted(scan_tree(directory).files)


def _below(store: Path, path: Path) -> str:
    return path.relative_to(store).as_posix()


def _values(store: Path, directory: Path) -> dict[str, str]:
    """params/ or tags/: key (nested with '/') -> the file's text, exactly."""
    return {key: read_text(store, _below(store, directory / key)) for key in _files(directory)}


def _metrics(
    store: Path, directory: Path
) -> tuple[dict[str, tuple[Point, ...]], dict[str, float], list[str]]:
    names, notes = metric_names(_files(directory), str(directory))
    history: dict[str, tuple[Point, ...]] = {}
    final: dict[str, float] = {}
    for key, name in names.items():
        points = _points(store, directory / key, key, notes)
        if not points:
            notes.append(f"metric {key!r} has no finite value; left out")
            continue
        history[name] = tuple(points)
        # What MLflow shows as the metric's value: the latest step, then the latest time.
        final[name] = max(points, key=lambda p: (p.step, p.timestamp_ms or 0, p.value)).value
    return history, final, notes


def _points(store: Path, path: Path, key: str, notes: list[str]) -> list[Point]:
    points: list[Point] = []
    for number, line in enumerate(
        read_text(store, _below(store, path), _METRIC_BYTES).splitlines(), 1
    ):
        fields = line.split()
        if not fields:
            continue
        if (
            len(fields) not in (2, 3)
            or not _MILLIS.match(fields[0])
            or not _NUMBER.match(fields[1])
            or (len(fields) == 3 and not _STEP.match(fields[2]))
            or int(fields[0]) > LAST_MS
        ):
            raise SourceError(path, f"not 'timestamp value step': {line[:60]!r}", number)
        timestamp, value = int(fields[0]), float(fields[1])
        step = int(fields[2]) if len(fields) == 3 else 0  # MLflow before 1.0 wrote no step
        if not finite(value) or step < 0:
            notes.append(
                f"metric {key!r} line {number}: step {step} value {fields[1]} left out "
                "(values must be finite, steps not negative)"
            )
            continue
        points.append(Point(step, value, timestamp))
    return points
