"""What a Python command uses inside a run: its params, inputs, output dir, and metrics (TFC-0002 R5, R6)."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from strataml import metrichistory

METRIC_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./:@-]{0,127}$")


class TrackingError(RuntimeError):
    """Called outside a run, or with a metric that cannot be recorded."""


def not_json(exc: Exception) -> str:
    """Why json.dumps refused a value: its own words, but for the one case whose wording changes
    between Pythons (a NaN or an infinity, with allow_nan=False)."""
    return "NaN or an infinity, which JSON cannot hold" if isinstance(exc, ValueError) else str(exc)


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise TrackingError(f"{name} is not set: this code runs outside `tools/run.py`")
    return value


def params() -> dict[str, Any]:
    value = json.loads(_env("STRATA_PARAMS"))
    if not isinstance(value, dict):
        raise TrackingError("STRATA_PARAMS is not a JSON object")
    return value


def input_path(name: str) -> Path:
    return Path(_env(f"STRATA_INPUT_{name.upper()}"))


def output_dir() -> Path:
    return Path(_env("STRATA_OUTPUT_DIR"))


def run_dir() -> Path:
    return Path(_env("STRATA_RUN_DIR"))


def log_metric(name: str, value: float, *, step: int | None = None) -> None:
    """With a step: a point of the metric's history. Without: its final value."""
    log_metrics({name: value}, step=step)


def log_metrics(values: Mapping[str, float], *, step: int | None = None) -> None:
    append_metrics(Path(_env("STRATA_METRICS_FILE")), values, step=step)


def append_metrics(path: Path, values: Mapping[str, float], *, step: int | None = None) -> None:
    """Append metric lines to `path`; every value is checked before anything is written."""
    lines = []
    for name, value in values.items():
        problem = _problem(name, value, step)
        if problem:
            raise TrackingError(f"metric {name!r}: {problem}")
        entry: dict[str, Any] = {"name": name, "value": value}
        if step is not None:
            entry["step"] = step
        lines.append(json.dumps(entry, allow_nan=False) + "\n")
    # One write on an O_APPEND descriptor: concurrent writers never split a line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, "".join(lines).encode())
    finally:
        os.close(fd)


def _problem(name: object, value: object, step: object) -> str | None:
    if not isinstance(name, str) or not METRIC_NAME.fullmatch(name):
        return "name must be letters, digits and _ . / : @ - (at most 128)"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
        return "value is not a finite number"
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        return "step is not a non-negative integer"
    return None


def _finite(value: float) -> bool:
    """Finite, and representable as a float (JSON allows integers of thousands of digits)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclass(frozen=True, slots=True)
class MetricPoint:
    step: int
    value: float
    time: float | None = None


@dataclass(frozen=True, slots=True)
class MetricsRecord:
    final: dict[str, float] = field(default_factory=dict)  # reported explicitly
    history: dict[str, list[MetricPoint]] = field(default_factory=dict)


class MetricEntry(NamedTuple):
    """One line of the metrics file: a history point when `step` is set, else a final value."""

    name: str
    value: float
    step: int | None
    time: float | None


# The line `log_metrics` writes, read without the JSON parser (a million lines in a second);
# any other line takes the general path.
_TRACKED = re.compile(
    rb'\{"name": "([A-Za-z0-9_][A-Za-z0-9_./:@-]{0,127})", '
    rb'"value": (-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)'
    rb'(?:, "step": (0|[1-9][0-9]{0,17}))?\}\s*'
)


def read_metric_lines(raw: bytes) -> tuple[MetricsRecord, list[str]]:
    """Parse a metrics file; bad lines are skipped with a warning, never raised."""
    record = MetricsRecord()
    warnings = []
    for number, entry in iter_metric_lines(raw.split(b"\n")):
        if isinstance(entry, str):
            warnings.append(f"metrics line {number}: {entry}")
        elif entry.step is None:
            record.final[entry.name] = entry.value
        else:
            point = MetricPoint(entry.step, entry.value, entry.time)
            record.history.setdefault(entry.name, []).append(point)
    return record, warnings


def iter_metric_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, MetricEntry | str]]:
    """(line number, entry or the problem with the line), blank lines skipped; streams a file."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fast = _TRACKED.fullmatch(line)
        if fast is not None:
            name, text, step = fast.groups()
            value = metrichistory.number(text)
            if _finite(value):
                yield (
                    number,
                    MetricEntry(name.decode(), value, None if step is None else int(step), None),
                )
                continue
        yield number, _read_line(line)


def _read_line(line: bytes) -> MetricEntry | str:
    try:
        entry = json.loads(line, parse_constant=_reject_constant)
    except _NotFiniteError:
        return "value is not a finite number (NaN and Infinity are not JSON)"
    except (ValueError, RecursionError):
        return "not a JSON object"
    if not isinstance(entry, dict):
        return "not a JSON object"
    name, value, step, at = (
        entry.get("name"),
        entry.get("value"),
        entry.get("step"),
        entry.get("time"),
    )
    problem = _problem(name, value, step)
    if problem is None and at is not None:
        ok = isinstance(at, (int, float)) and not isinstance(at, bool) and _finite(at) and at >= 0
        problem = None if ok else "time is not a non-negative number of seconds"
    if problem:
        return problem
    assert isinstance(name, str) and isinstance(value, (int, float))
    return MetricEntry(name, value, step, at)


class _NotFiniteError(ValueError):
    pass


def _reject_constant(token: str) -> float:
    raise _NotFiniteError(f"{token} is not a finite number")


def metrics_document(record: MetricsRecord) -> dict[str, Any]:
    """metrics.json (TFC-0003 R3): final = the explicit value, else the last point reported."""
    final = {name: points[-1].value for name, points in record.history.items()}
    final.update(record.final)
    history = {
        name: [
            {"step": p.step, "value": p.value, **({"time": p.time} if p.time is not None else {})}
            for p in points
        ]
        for name, points in record.history.items()
    }
    return {
        "schema_version": 1,
        "final": dict(sorted(final.items())),
        "history": dict(sorted(history.items())),
    }
