"""What `strata runs` shows of run records: lists, one run, comparisons, the best (TFC-0003
R13). Read-only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml.jsonio import as_number
from strataml.registry.runlist import duration_text, list_rows, table, unknown_experiment
from strataml.registry.runrecord import MISSING, RunRecord, load_run, nested, value_text
from strataml.suggest import did_you_mean


@dataclass(frozen=True)
class RunPage:
    """`strata runs show`: one run."""

    record: RunRecord

    def text(self) -> str:
        return format_show(self.record)

    def document(self) -> dict[str, Any]:
        """schemas/runs-show.schema.json."""
        return self.record.document()


_TIES_NAMED = 5  # the newest; --format json lists them all


@dataclass(frozen=True)
class Best:
    run: RunRecord
    metric: str
    value: float
    minimize: bool
    considered: int
    ties: tuple[str, ...] = ()  # other runs with the same value, newest first

    def document(self) -> dict[str, Any]:
        """schemas/runs-best.schema.json."""
        return {
            "run_id": self.run.run_id,
            "path": self.run.path,
            "experiment": self.run.experiment,
            "metric": self.metric,
            "value": self.value,
            "goal": "minimize" if self.minimize else "maximize",
            "runs_considered": self.considered,
            "tied_with": list(self.ties),
        }

    def text(self) -> str:
        goal = "lowest" if self.minimize else "highest"
        named = ", ".join(self.ties[:_TIES_NAMED])
        more = len(self.ties) - _TIES_NAMED
        tied = f"; tied with {named}" + (f" and {more:,} more" if more > 0 else "") if named else ""
        return (
            f"{self.run.run_id}  {self.metric}={self.value:.6g}"
            f"  (best of {self.considered}, {goal}{tied})\n"
        )


def best_run(root: Path, experiment: str, metric: str, *, minimize: bool) -> Best | None:
    """The succeeded run of `experiment` with the best final `metric`; ties go to the latest."""
    scored = [
        (value, row.run_id)
        for row in list_rows(root)
        if row.experiment == experiment
        and row.state == "succeeded"
        and (value := row.numbers.get(metric)) is not None
    ]
    if not scored:
        return None
    sign = -1.0 if minimize else 1.0
    # Rows are oldest first; max keeps the first maximum, so walk newest first.
    value, best = max(reversed(scored), key=lambda pair: sign * pair[0])
    ties = tuple(run_id for v, run_id in reversed(scored) if v == value and run_id != best)
    return Best(load_run(root, best), metric, value, minimize, len(scored), ties)


def why_no_best(root: Path, experiment: str, metric: str) -> str:
    """Why best_run found nothing, with the closest experiment or metric names that exist."""
    rows = list_rows(root)
    unknown = unknown_experiment(rows, experiment)
    if unknown is not None:
        return unknown
    succeeded = [r for r in rows if r.experiment == experiment and r.state == "succeeded"]
    reported = {name for r in succeeded for name in r.reported}
    close = did_you_mean(metric, reported)
    return f"no succeeded run of {experiment!r} reports {metric!r}{close}"


# --- compare ------------------------------------------------------------------------------------

# Fields that differ between any two executions of the same computation: shown with --all only.
_VOLATILE = ("created", "started", "ended", "duration_s", "pid", "peak_memory_bytes", "fingerprint")


def _flatten(value: object, prefix: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _sections(record: RunRecord) -> dict[str, dict[str, object]]:
    system, config, host = record.system, record.config, record.system.get("host")
    environment = {
        "host": {k: v for k, v in host.items() if k != "hostname"}
        if isinstance(host, dict)
        else host,
        "hostname": nested(system, "host", "hostname"),
        "python": system.get("python"),
        "packages": system.get("packages"),
        "strataml_version": system.get("strataml_version"),
    }
    return {
        "run": {
            "experiment": record.experiment,
            "name": config.get("name"),
            "status": record.state,  # abandoned, as runs list and show say
            "exit_code": system.get("exit_code"),
            "tags": ", ".join(record.tags),
        },
        "params": dict(_flatten(record.params)),
        "metrics": dict(_flatten(record.final)),
        "inputs": dict(record.inputs),
        "code": {
            key: nested(config, "code", key)
            for key in ("commit", "dirty", "diff_hash", "tree_hash")
        },
        "environment": dict(_flatten(environment)),
        "record": {
            "created": record.created or None,
            "started": system.get("started"),
            "ended": system.get("ended"),
            "duration_s": system.get("duration_s"),
            "pid": system.get("pid"),
            "peak_memory_bytes": system.get("peak_memory_bytes"),
            "fingerprint": config.get("fingerprint"),
        },
    }


@dataclass(frozen=True)
class Comparison:
    runs: tuple[RunRecord, ...]
    # section -> key -> one value per run (MISSING where a run lacks the key)
    rows: dict[str, dict[str, tuple[object, ...]]]
    identical: int  # rows hidden because every run agrees

    def text(self) -> str:
        return format_compare(self)

    def document(self) -> dict[str, Any]:
        """schemas/runs-compare.schema.json."""
        return {
            "runs": [r.run_id for r in self.runs],
            "sections": {
                section: {
                    key: [None if v is MISSING else v for v in values]
                    for key, values in rows.items()
                }
                for section, rows in self.rows.items()
                if rows
            },
            "identical_hidden": self.identical,
        }


def compare_runs(records: Iterable[RunRecord], *, show_all: bool = False) -> Comparison:
    """Side by side; by default only what differs, and never what differs between any two runs."""
    runs = tuple(records)
    per_run = [_sections(r) for r in runs]
    rows: dict[str, dict[str, tuple[object, ...]]] = {}
    identical = 0
    for section in per_run[0]:
        if section == "record" and not show_all:
            continue
        keys = sorted({k for sections in per_run for k in sections[section]})
        rows[section] = {}
        for key in keys:
            values = tuple(sections[section].get(key, MISSING) for sections in per_run)
            if show_all or any(v != values[0] for v in values[1:]):
                rows[section][key] = values
            else:
                identical += 1
    return Comparison(runs, rows, identical)


# --- text ---------------------------------------------------------------------------------------


def format_show(record: RunRecord) -> str:
    system, config = record.system, record.config
    commit = nested(config, "code", "commit")
    dirty = " (dirty)" if nested(config, "code", "dirty") is True else ""
    lines = [
        f"run         {record.run_id}  ({record.path}/)",
        f"experiment  {record.experiment or '?'}" + (f"  name: {config['name']}" if config.get("name") else ""),
        f"status      {record.state}, exit code {value_text(system.get('exit_code'))}"
        + ("" if record.sealed else ", not sealed"),
        *([f"reason      {record.reason}"] if record.reason is not None else []),
        f"created     {record.created or '-'}",
        f"duration    {duration_text(system.get('duration_s'))}",
        f"code        {commit if isinstance(commit, str) else 'no commit'}{dirty}",
        f"fingerprint {value_text(config.get('fingerprint'))}",
        f"host        {value_text(nested(system, 'host', 'hostname'))}, {value_text(nested(system, 'host', 'os'))}, python {value_text(nested(system, 'python', 'version'))}",
    ]  # fmt: skip
    if record.tags:
        lines.append(f"tags        {', '.join(record.tags)}")
    original = config.get("reproduces")
    if isinstance(original, str):
        verdict = record.reproduction.get("verdict")
        reasons = record.reproduction.get("reasons")
        shown = f"verdict {verdict}" if isinstance(verdict, str) else "no verdict"
        if isinstance(reasons, list) and reasons:
            shown += ": " + "; ".join(map(str, reasons))
        lines.append(f"reproduces  {original}, {shown}")
    for title, values in (
        ("inputs", record.inputs),
        ("params", dict(_flatten(record.params))),
        ("metrics", dict(_flatten(record.final))),
    ):
        lines.append(f"{title}:" if values else f"{title}: none")
        width = max((len(k) for k in values), default=0)
        asked = record.requested if title == "inputs" else {}
        lines += [
            f"  {k.ljust(width)}  {value_text(v)}"
            + (f"  (asked for {asked[k]})" if k in asked else "")
            for k, v in values.items()
        ]
    steps = _history_counts(record.metrics)
    if steps:
        points = ", ".join(f"{k} ({n} steps)" for k, n in sorted(steps.items()))
        lines.append(f"history     {points}")
    lines += [f"problem     {p}" for p in record.problems]
    return "\n".join(lines) + "\n"


def _history_counts(metrics: dict[str, Any]) -> dict[str, int]:
    """Points per metric: inline (schema_version 1) or as `series` counts them (TFC-0003 R15)."""
    history, series = metrics.get("history"), metrics.get("series")
    if isinstance(series, dict):
        return {
            str(k): v["count"]
            for k, v in series.items()
            if isinstance(v, dict) and isinstance(v.get("count"), int)
        }
    if isinstance(history, dict):
        return {str(k): len(v) for k, v in history.items() if isinstance(v, list)}
    return {}


def _delta(values: tuple[object, ...], index: int) -> str:
    first, value = as_number(values[0]), as_number(values[index])
    if index == 0 or first is None or value is None or value == first:
        return ""
    return f" ({value - first:+.4g})"


def format_compare(comparison: Comparison) -> str:
    ids = [r.run_id for r in comparison.runs]
    rows: list[list[str]] = []
    for section, entries in comparison.rows.items():
        if not entries:
            continue
        rows.append([section] + [""] * len(ids))
        for key, values in entries.items():
            cells = [
                value_text(v) + (_delta(values, i) if section == "metrics" else "")
                for i, v in enumerate(values)
            ]
            rows.append([f"  {key}", *cells])
    lines = table(["", *ids], rows) if rows else [f"no differences between {' and '.join(ids)}"]
    if comparison.identical:
        lines.append(f"({comparison.identical} identical fields hidden; --all shows them)")
    return "\n".join(lines) + "\n"
