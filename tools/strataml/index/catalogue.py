"""index.json: one deterministic, schema'd catalogue of the repository (TFC-0007 R1-R4)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, TypeGuard

from strataml.errors import StrataError
from strataml.index.aggregates import catalogue_aggregates
from strataml.index.encoding import value_text
from strataml.index.pipelines import catalogue_pipelines
from strataml.integrity.armor import split_blocks
from strataml.integrity.signatures import SIGNATURE
from strataml.jsonio import as_list, as_mapping, as_number, finite
from strataml.metrichistory import HISTORY, read_chart_points
from strataml.registry.lineage import build_graph
from strataml.registry.runcache import load_derived
from strataml.registry.runrecord import RunRecord, load_run
from strataml.registry.runs import run_ids
from strataml.registry.stagestate import Stages
from strataml.registry.store import load_mapping, names, versions
from strataml.safeopen import open_regular, read_regular
from strataml.yamlio import MAX_BYTES, parse_yaml

INDEX_VERSION = 1
_STATUSES = ("running", "succeeded", "failed", "interrupted")


def _signature_blocks(directory: Path) -> int:
    try:
        return len(split_blocks(read_regular(directory / SIGNATURE, 1 << 20)).blocks)
    except OSError:
        return 0


def _text(path: Path, limit: int = 4 * MAX_BYTES) -> str | None:
    try:
        return read_regular(path, limit).decode("utf-8", "replace")
    except OSError:
        return None


def _datasets(root: Path, problems: list[dict[str, str]]) -> list[dict[str, Any]]:
    found = []
    for name in names(root, "datasets"):
        for version in versions(root, "datasets", name):
            path = f"datasets/{name}/{version}"
            try:
                metadata = load_mapping(root / path / "metadata.yaml")
            except StrataError as exc:
                problems.append({"path": path, "message": str(exc)})
                continue
            found.append({
                "ref": f"datasets/{name}@{version}", "name": name, "version": version, "path": path,
                "metadata": metadata, "datasheet": _text(root / path / "datasheet.md"),
                "signatures": _signature_blocks(root / path),
            })  # fmt: skip
    return found


def _stages(root: Path, name: str, problems: list[dict[str, str]]) -> dict[str, Any]:
    path = f"models/{name}/stages.yaml"
    raw = None
    try:
        raw = read_regular(root / path, MAX_BYTES + 1)
    except FileNotFoundError:
        return Stages().document()
    except OSError as exc:
        problems.append({"path": path, "message": str(exc)})
        return Stages().document()
    document = parse_yaml(raw)
    if not document.ok or not isinstance(document.data, dict):
        problems.append({"path": path, "message": "does not parse; run `strata doctor`"})
        return Stages().document()
    return {
        k: document.data.get(k) for k in ("production", "staging", "archived", "aliases", "history")
    }


def _models(root: Path, problems: list[dict[str, str]]) -> list[dict[str, Any]]:
    found = []
    for name in names(root, "models"):
        stages = _stages(root, name, problems)
        entries = []
        for version in versions(root, "models", name):
            path = f"models/{name}/{version}"
            try:
                metadata = load_mapping(root / path / "metadata.yaml")
                metrics = load_mapping(root / path / "metrics.yaml").get("metrics") or []
            except StrataError as exc:
                problems.append({"path": path, "message": str(exc)})
                continue
            stage = "experimental"
            if stages.get("production") == version:
                stage = "production"
            elif stages.get("staging") == version:
                stage = "staging"
            elif version in as_list(stages.get("archived")):
                stage = "archived"
            aliases = sorted(
                str(a) for a, v in as_mapping(stages.get("aliases")).items() if v == version
            )
            entries.append({
                "ref": f"models/{name}@{version}", "version": version, "path": path, "stage": stage,
                "aliases": aliases, "metadata": metadata, "metrics": metrics,
                "card": _text(root / path / "card.md"), "signatures": _signature_blocks(root / path),
            })  # fmt: skip
        found.append({"name": name, "versions": entries, "stages": stages})
    return found


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _num(value: object) -> float | int | None:
    return value if isinstance(value, int | float) and as_number(value) is not None else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _history(record: RunRecord) -> dict[str, list[list[float | int | None]]]:
    """Metric histories as [step, value] pairs; whatever is not that is dropped (doctor reports it).
    A long history (metrics.csv, TFC-0003 R15, thinned to CHART_POINTS a metric) is read
    by _runs, at each build."""
    metrics = record.metrics
    if metrics.get("schema_version") == 2:
        return {}
    history = metrics.get("history")
    if not isinstance(history, dict):
        return {}
    return {
        str(name): [_point(p) for p in points if isinstance(p, dict)]
        for name, points in sorted(history.items(), key=lambda kv: str(kv[0]))
        if isinstance(points, list)
    }


def _point(point: dict[str, Any]) -> list[float | int | None]:
    """[step, value], each None where it is not a number JSON holds (a finite float, the
    common case, needs no further look)."""
    step, value = point.get("step"), point.get("value")
    return [
        step if type(step) is int else _int(step),
        value if type(value) is float and math.isfinite(value) else _num(value),
    ]


def _long_history(directory: Path, series: object) -> dict[str, list[list[float | int | None]]]:
    if not isinstance(series, dict):
        return {}
    counts = {
        str(name): brief["count"]
        for name, brief in series.items()
        if isinstance(brief, dict) and _int(brief.get("count")) is not None
    }
    try:
        handle = open_regular(directory / HISTORY)
    except OSError:
        return {}
    with handle:
        points = read_chart_points(handle, counts)
    return {name: [[step, _num(value)] for step, value in kept] for name, kept in points.items()}


def _run(record: RunRecord) -> dict[str, Any]:
    code = record.config.get("code")
    reasons = record.reproduction.get("reasons")
    return {
        "id": record.run_id,
        "path": record.path,
        "experiment": record.experiment,
        "name": _str(record.config.get("name")),
        "status": record.status if record.status in _STATUSES else "unknown",
        "exit_code": _int(record.system.get("exit_code")),
        # system.json only: whether a runner is alive is no fact of the repository's content
        "reason": _str(record.system.get("reason")),
        "reproduces": _str(record.config.get("reproduces")),
        "verdict": _str(record.reproduction.get("verdict")),
        "verdict_reasons": [str(r) for r in reasons] if isinstance(reasons, list) else [],
        "created": record.created or None,
        "started": _str(record.system.get("started")),
        "ended": _str(record.system.get("ended")),
        "duration_s": _num(record.system.get("duration_s")),
        "params": record.params,
        "inputs": record.inputs,
        "upstream": record.upstream,
        "fingerprint": _str(record.config.get("fingerprint")),
        "code": code if isinstance(code, dict) else None,
        "tags": record.tags,
        "metrics": {str(k): _num(v) for k, v in record.final.items()},
        "history": _history(record),
        "environment": {
            "host": record.system.get("host"),
            "python": record.system.get("python"),
            "git": record.system.get("git"),
            "packages": record.system.get("packages"),
            "peak_memory_bytes": record.system.get("peak_memory_bytes"),
            "strataml_version": record.system.get("strataml_version"),
        },
        "sealed": record.sealed,
        "signatures": 0,
        "problems": list(record.problems),
    }


def _entry(record: RunRecord) -> list[Any]:
    """A run's entry as far as its record tells it, made finite, and the `series` of a long
    history (read from metrics.csv at each build, None for one held in metrics.json)."""
    entry = _run(record)
    history = entry.pop("history")  # finite by construction: not walked (3 million values)
    made = finite(entry)
    entry = made if isinstance(made, dict) else {}  # finite keeps a dict a dict
    entry["history"] = history
    long = record.metrics.get("schema_version") == 2
    return [entry, record.metrics.get("series") if long else None]


def _runs(root: Path) -> list[dict[str, Any]]:
    """Every run's entry, by id; each derived once from its record and kept until one of the
    record's files changes (registry/runcache.py)."""
    ids = run_ids(root)
    runs = []
    seen: list[object] = []  # package lists met lately: the runs of a sweep share one
    for run_id, kept in zip(ids, load_derived(root, ids, "runindex", _entry), strict=True):
        # a row that does not hold an entry (damaged): derived again
        entry, series = kept if _whole_entry(kept, run_id) else _entry(load_run(root, run_id))
        if series is not None:
            entry["history"] = _long_history(root / entry["path"], series)
        entry["signatures"] = _signature_blocks(root / entry["path"])
        environment = entry["environment"]
        environment["packages"] = _shared(environment.get("packages"), seen)
        runs.append(entry)
    return runs


def _shared(value: object, seen: list[object]) -> object:
    """`value`, or an equal one met lately: 10,000 runs of one environment hold one package list
    in memory, not 10,000 (and encoding.encode writes it out once)."""
    for index, known in enumerate(seen):
        if known == value:
            if index:
                seen.insert(0, seen.pop(index))
            return known
    seen.insert(0, value)
    del seen[8:]
    return value


_ENTRY_KEYS = frozenset(_run(RunRecord("run-2000-01-01-aaaaaa")))


def _whole_entry(kept: object, run_id: str) -> TypeGuard[list[Any]]:
    """Does a kept value have the shape _entry gives (what build_index reads of it)?"""
    if not (isinstance(kept, list) and len(kept) == 2 and isinstance(kept[0], dict)):
        return False
    entry, series = kept
    return (
        entry.keys() == _ENTRY_KEYS and entry["path"] == f"runs/{run_id}"
        and isinstance(entry["inputs"], dict) and isinstance(entry["history"], dict)
        and isinstance(entry["environment"], dict)
        and isinstance(entry["problems"], list) and all(isinstance(p, str) for p in entry["problems"])
        and all(isinstance(v, str) for v in entry["inputs"].values())
        and isinstance(entry["upstream"], list) and all(isinstance(u, str) for u in entry["upstream"])
        and (series is None or isinstance(series, dict))
    )  # fmt: skip


def build_index(root: Path) -> dict[str, Any]:
    """The catalogue. Reads only; the same repository content gives the same document."""
    problems: list[dict[str, str]] = []
    runs = _runs(root)
    for run in runs:
        problems += [{"path": run["path"], "message": p} for p in run["problems"]]
    graph = build_graph(root, [(r["path"], r["inputs"].values(), r["upstream"]) for r in runs])
    index: dict[str, Any] = finite({
        "schema_version": INDEX_VERSION,
        "datasets": _datasets(root, problems),
        "models": _models(root, problems),
        "pipelines": catalogue_pipelines(root, problems, runs),
        "aggregates": catalogue_aggregates(runs),
        "lineage": [
            {"source": e.source, "target": e.target, "relation": e.relation} for e in sorted(graph.edges)
        ],
        "problems": sorted(problems, key=lambda p: (p["path"], p["message"])),
    })  # type: ignore[assignment]  # fmt: skip
    index["runs"] = runs  # finite already (_entry)
    return index


def dumps(index: object) -> str:
    return value_text(index) + "\n"
