"""A DVC project's record, read from its files: dvc is not a dependency (TFC-0003 R14).

Params: params.yaml and the files dvc.yaml names under `params:`; metrics: the files dvc.yaml
names under `metrics:` (YAML or JSON); histories: dvclive's `plots/metrics/<name>.tsv`;
provenance: dvc.lock; experiments: the output of `dvc exp show --json`, saved to a file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
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
    experiment_name,
    label,
    metric_names,
    read_mapping,
    read_text,
)
from strataml.integrity.digest import Digest
from strataml.integrity.tree import scan_tree
from strataml.jsonio import load_json
from strataml.yamlio import MAX_BYTES

TOOL = "dvc"
PIPELINE, LOCK, PARAMS, DVCLIVE = "dvc.yaml", "dvc.lock", "params.yaml", "dvclive"
_PLOTS = f"{DVCLIVE}/plots/metrics"
_LARGE = 256 * MAX_BYTES
_EXECUTOR = {None: "succeeded", "success": "succeeded", "failed": "failed"}


def find_project(path: Path) -> Path:
    if not path.is_dir():
        raise StrataError(f"{path}: no such directory (expected a DVC project)")
    if not any((path / name).exists() for name in (PIPELINE, PARAMS, DVCLIVE, ".dvc")):
        raise StrataError(f"{path}: not a DVC project (no dvc.yaml, params.yaml or dvclive/)")
    return path.absolute()


def iter_runs(project: Path, *, exp_json: Path | None = None) -> Iterator[SourceRun | Outcome]:
    """The workspace as one run, or each experiment and baseline of `dvc exp show --json`."""
    if exp_json is None:
        try:
            yield _workspace(project)
        except SourceError as exc:
            yield Outcome(f"{TOOL} workspace", "refused", str(exc))
        return
    try:
        entries = load_json(read_text(exp_json.parent, exp_json.name, _LARGE))
    except (SourceError, ValueError) as exc:
        raise StrataError(f"{exp_json}: not `dvc exp show --json` output: {exc}") from exc
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise StrataError(f"{exp_json}: not `dvc exp show --json` output (a list of revisions)")
    for index, baseline in enumerate(entries):
        if baseline.get("rev") == "workspace":
            continue  # uncommitted: `strata import dvc` without --exp-json imports it
        revisions = [(baseline, None)]
        for experiment in baseline.get("experiments") or []:
            executor = experiment.get("executor") if isinstance(experiment, dict) else None
            for rev in (experiment.get("revs") or []) if isinstance(experiment, dict) else []:
                revisions.append((rev, executor))
        for entry, executor in revisions:
            try:
                yield _experiment(project, exp_json, index, entry, executor)
            except SourceError as exc:
                yield Outcome(label(TOOL, str(entry.get("rev"))), "refused", str(exc))


def _experiment(
    project: Path, exp_json: Path, index: int, entry: Any, executor: Any
) -> SourceRun | Outcome:
    where = f"{exp_json} (entry {index})"
    if not isinstance(entry, dict) or not isinstance(entry.get("rev"), str):
        raise SourceError(where, "a revision without a 'rev'")
    rev, data = entry["rev"], entry.get("data")
    shown = label(TOOL, rev)
    state = executor.get("state") if isinstance(executor, dict) else None
    if state in ("running", "queued"):
        return Outcome(shown, "skipped", f"still {state} in DVC; import it once it has ended")
    if state not in _EXECUTOR:
        raise SourceError(where, f"revision {rev}: unknown executor state {state!r}")
    if entry.get("error") or not isinstance(data, dict):
        raise SourceError(where, f"revision {rev}: DVC could not read it ({entry.get('error')})")
    params = {f: d["data"] for f, d in _files(data.get("params")).items()}
    final: dict[str, float] = {}
    for file, document in sorted(_files(data.get("metrics")).items()):
        final |= leaves(_summary(file, document["data"]))
    moment = _time(data.get("timestamp"), where)
    names, notes = metric_names(final, where)
    return SourceRun(
        tool=TOOL,
        source_id=rev,
        path=project.as_posix(),
        experiment=experiment_name(project.name, "dvc"),
        status=_EXECUTOR[state],
        started_ms=moment,
        ended_ms=moment,
        name=entry.get("name") if isinstance(entry.get("name"), str) else None,
        params=params,
        final={names[k]: v for k, v in final.items()},
        details={
            "experiment": entry.get("name") if isinstance(entry.get("name"), str) else None,
            "lock": {k: data[k] for k in ("deps", "outs") if isinstance(data.get(k), dict)},
        },
        notes=(*notes, "DVC records one time per revision: it is used as start and end"),
    )


def _files(value: object) -> dict[str, dict[str, Any]]:
    """exp show's {file: {"data": {...}}}; files DVC reported an error for are left out."""
    if not isinstance(value, dict):
        return {}
    return {
        str(f): d
        for f, d in value.items()
        if isinstance(d, dict) and isinstance(d.get("data"), dict)
    }


def _time(value: object, where: str) -> int:
    if not isinstance(value, str):
        raise SourceError(where, f"timestamp is {value!r}, not a date and time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise SourceError(where, f"timestamp {value!r} is not ISO 8601") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # exp show prints commit times without an offset
    moment_ms = int(moment.timestamp() * 1000)
    if not 0 <= moment_ms <= LAST_MS:
        raise SourceError(where, f"timestamp {value!r} is not between 1970 and 9999")
    return moment_ms


def _workspace(project: Path) -> SourceRun:
    pipeline = read_mapping(project, PIPELINE).data if (project / PIPELINE).exists() else {}
    params_files, metric_files = _declared(pipeline, project)
    params = {f: _read(project, f) for f in sorted(params_files)}
    final: dict[str, float] = {}
    for file in sorted(metric_files):
        final |= leaves(_summary(file, _read(project, file)))
    history = _dvclive(project)
    for name, points in history.items():
        final.setdefault(name, points[-1].value)
    names, notes = metric_names({*final, *history}, str(project))
    lock = lock_record(project) if (project / LOCK).exists() else {}
    canonical = json.dumps(
        [params, final, {k: [(p.step, p.value, p.timestamp_ms) for p in v] for k, v in history.items()}, lock],
        sort_keys=True, ensure_ascii=False, allow_nan=False,
    )  # fmt: skip
    times = [p.timestamp_ms for v in history.values() for p in v if p.timestamp_ms is not None]
    if not times:  # no dvclive times: when the record's files were last written
        times = [
            (project / f).lstat().st_mtime_ns // 1_000_000 for f in (*params_files, *metric_files)
        ]
    if not times:
        raise SourceError(project, "no params, metrics or dvclive history to import")
    return SourceRun(
        tool=TOOL,
        source_id=str(Digest.of(canonical.encode("utf-8"))),  # the same record, once
        path=project.as_posix(),
        experiment=experiment_name(project.name, "dvc"),
        status="succeeded",
        started_ms=min(times),
        ended_ms=max(times),
        params=params,
        history={names[k]: v for k, v in history.items()},
        final={names[k]: v for k, v in final.items()},
        details={"experiment": None, "lock": lock},
        notes=(*notes, "DVC outputs stay in DVC's cache; dvc.lock, recorded in config.yaml, "
               "names them by hash"),
    )  # fmt: skip


def _declared(pipeline: dict[str, Any], project: Path) -> tuple[set[str], set[str]]:
    """The params and metrics files of the project: params.yaml and what dvc.yaml names."""
    params = {PARAMS} if (project / PARAMS).exists() else set()
    metrics: set[str] = set()
    stages = pipeline.get("stages")
    sections = [pipeline, *(s for s in stages.values() if isinstance(s, dict))] if isinstance(stages, dict) else [pipeline]  # fmt: skip
    for index, section in enumerate(sections):
        for item in section.get("params") or []:
            if isinstance(item, dict):
                params.update(str(k) for k in item)  # {file: [keys]}
            elif isinstance(item, str) and index == 0:
                params.add(item)  # top level: a file
            # a stage's plain key lives in params.yaml, already included
        for item in section.get("metrics") or []:
            if isinstance(item, dict):
                metrics.update(str(k) for k in item)  # {path: {cache: false}}
            elif isinstance(item, str):
                metrics.add(item)
    if (project / DVCLIVE / "metrics.json").is_file():
        metrics.add(f"{DVCLIVE}/metrics.json")
    for name in (*params, *metrics):
        if not (project / name).is_file() or Path(name).is_absolute() or ".." in Path(name).parts:
            raise SourceError(project / PIPELINE, f"{name!r} is not a file inside the project")
        if Path(name).suffix not in (".yaml", ".yml", ".json"):
            raise SourceError(project / name, "only YAML and JSON params and metrics are read")
    return params, metrics


def _summary(file: str, document: dict[str, Any]) -> dict[str, Any]:
    if file.endswith(f"{DVCLIVE}/metrics.json"):  # dvclive's step counter is not a metric
        return {k: v for k, v in document.items() if k != "step"}
    return document


def _read(project: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = read_mapping(project, name, _LARGE).data
    return data


def leaves(value: object, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a metrics document, their keys joined with '/' as dvclive names them."""
    found: dict[str, float] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            found |= leaves(item, f"{prefix}/{key}" if prefix else str(key))
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        found[prefix] = float(value) if isinstance(value, float) else value
    return found


def _dvclive(project: Path) -> dict[str, tuple[Point, ...]]:
    """dvclive/plots/metrics/<name>.tsv: a header (timestamp, step, <name>) and one row per step."""
    plots = project / _PLOTS
    for depth in range(1, 4):  # dvclive, dvclive/plots, dvclive/plots/metrics
        part = project.joinpath(*_PLOTS.split("/")[:depth])
        if part.is_symlink():
            raise SourceError(part, "a symlink, which is never followed; the run is not imported")
        if not part.is_dir():
            return {}
    scan = scan_tree(plots)
    if scan.symlinks or scan.special:
        raise SourceError(plots / (scan.symlinks + scan.special)[0], "not a regular file")
    history: dict[str, tuple[Point, ...]] = {}
    for rel in sorted(p for p in scan.files if p.endswith(".tsv")):
        path = plots / rel
        lines = read_text(project, f"{_PLOTS}/{rel}", _LARGE).splitlines()
        header = lines[0].split("\t") if lines else []
        name = rel.removesuffix(".tsv")
        value_column = (
            Path(name).name if Path(name).name in header else (header[-1] if header else "")
        )
        if "step" not in header or value_column in ("", "step", "timestamp"):
            raise SourceError(path, "header is not 'timestamp, step, <metric>'", 1)
        points = []
        for number, line in enumerate(lines[1:], 2):
            if not line.strip():
                continue
            row = dict(zip(header, line.split("\t"), strict=False))
            try:
                step, value = int(row["step"]), float(row[value_column])
                stamp = int(row["timestamp"]) if "timestamp" in row else None
            except (KeyError, ValueError) as exc:
                raise SourceError(path, f"not a row of numbers: {line[:60]!r}", number) from exc
            if step < 0 or not math.isfinite(value):
                raise SourceError(path, f"negative step or non-finite value: {line[:60]!r}", number)
            if stamp is not None and not 0 <= stamp <= LAST_MS:
                raise SourceError(
                    path, f"timestamp is not between 1970 and 9999: {line[:60]!r}", number
                )
            points.append(Point(step, value, stamp))
        if points:
            history[name] = tuple(points)
    return history


def lock_record(project: Path) -> dict[str, Any]:
    """dvc.lock stages as provenance: command, and each dep and out with its hash and size."""
    stages = read_mapping(project, LOCK, _LARGE).data.get("stages")
    if not isinstance(stages, dict):
        raise SourceError(project / LOCK, "no stages: mapping")
    return {str(name): lock_entry(stage) for name, stage in sorted(stages.items())
            if isinstance(stage, dict)}  # fmt: skip


def lock_entry(stage: dict[str, Any]) -> dict[str, Any]:
    """One stage of dvc.lock as provenance; what is not DVC's shape is left out."""
    kept = ("path", "hash", "md5", "etag", "checksum", "size", "nfiles")
    entry: dict[str, Any] = {"cmd": stage["cmd"]} if "cmd" in stage else {}
    for part in ("deps", "outs"):
        items = stage.get(part)
        entry[part] = [
            {k: v for k, v in item.items() if k in kept}
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict)
        ]
    return entry
