"""What `strata runs list` shows of run records: a row per run, kept beside its record so that
10,000 runs list without unpacking every record (TFC-0003 R13). Read-only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from strataml.jsonio import as_number
from strataml.registry.runcache import load_all, load_derived_list
from strataml.registry.runrecord import RunRecord, load_run, value_text
from strataml.registry.runs import run_ids
from strataml.suggest import did_you_mean


def unknown_experiment(records: Iterable[RunRecord | ListRow], experiment: str) -> str | None:
    """'no run of experiment …' with the closest names that have runs; None if it has some."""
    experiments = {r.experiment for r in records if r.experiment}
    if experiment in experiments:
        return None
    return f"no run of experiment {experiment!r}{did_you_mean(experiment, experiments)}"


@dataclass(frozen=True, slots=True)
class ListRow:
    """What `strata runs list` and `runs best` need of one run: how it sorts and filters, its
    cells, and its final metrics that are numbers."""

    run_id: str
    created: str
    experiment: str | None
    state: str
    damaged: bool
    cells: tuple[str, ...]
    numbers: dict[str, float]  # final metric -> value, where the value is a number
    reported: tuple[str, ...]  # every final metric's name

    @classmethod
    def of(cls, record: RunRecord, *, metrics_shown: int = 3) -> ListRow:
        final = [f"{k}={value_text(v)}" for k, v in sorted(record.final.items())[:metrics_shown]]
        more = ["…"] if len(record.final) > metrics_shown else []
        cells = (
            record.run_id,
            record.experiment or "?",
            f"{record.state}!" if record.problems else record.state,
            record.created[:19].replace("T", " ") or "-",
            duration_text(record.system.get("duration_s")),
            " ".join(final + more),
        )
        numbers = {
            k: number for k, v in record.final.items() if (number := as_number(v)) is not None
        }
        return cls(
            record.run_id, record.created, record.experiment, record.state,
            bool(record.problems), cells, numbers, tuple(sorted(record.final)),
        )  # fmt: skip


def _derive_row(record: RunRecord) -> list[object]:
    row = ListRow.of(record)
    return [row.created, row.experiment, row.state, row.damaged, list(row.cells), row.numbers,
            list(row.reported)]  # fmt: skip


def _row(run_id: str, kept: object) -> ListRow | None:
    """A row as load_derived keeps it, or None where its shape is not one (derived afresh)."""
    if type(kept) is not list or len(kept) != 7:
        return None
    created, experiment, state, damaged, cells, numbers, reported = kept
    if (
        type(created) is not str
        or not (experiment is None or type(experiment) is str)
        or type(state) is not str
        or type(cells) is not list
        or len(cells) != 6
        or type(reported) is not list
        or type(numbers) is not dict
        # One set of the types of every string the row holds (cells, names), one of its numbers.
        or not set(map(type, chain(cells, reported, numbers))) <= _STRING
        or not set(map(type, numbers.values())) <= _FLOAT
    ):
        return None
    return ListRow(run_id, created, experiment, state, damaged is True, tuple(cells), numbers,
                   tuple(reported))  # fmt: skip


_STRING, _FLOAT = frozenset({str}), frozenset({float})


def list_rows(root: Path) -> list[ListRow]:
    """Every run's row, oldest first (by claim time, then id, as load_runs orders records),
    kept beside the run's record under the same stat key, and all rows together under all
    runs' keys (runcache.load_derived_list)."""
    ids = run_ids(root)
    rows = []
    kept_rows = load_derived_list(root, ids, "runlist", _derive_row)
    for run_id, kept in zip(ids, kept_rows, strict=True):
        row = _row(run_id, kept)
        rows.append(row if row is not None else ListRow.of(load_run(root, run_id)))
    return sorted(rows, key=lambda r: (r.created, r.run_id))


@dataclass(frozen=True)
class RunList:
    """`strata runs list`: newest first; `unknown` says why a filter by experiment found none."""

    root: Path
    rows: tuple[ListRow, ...]  # oldest first
    unknown: str | None = None

    def text(self) -> str:
        return f"{self.unknown}\n" if self.unknown else format_list(self.rows)

    def document(self) -> list[dict[str, Any]]:
        """schemas/runs-list.schema.json."""
        records = load_all(self.root, [r.run_id for r in self.rows], whole=False)
        return [r.summary() for r in reversed(records)]


def list_runs(root: Path, *, experiment: str | None, status: str | None) -> RunList:
    rows = list_rows(root)
    found = tuple(
        r
        for r in rows
        if (experiment is None or r.experiment == experiment)
        and (status is None or r.state == status)
    )
    if found or experiment is None:
        return RunList(root, found)
    return RunList(root, (), unknown_experiment(rows, experiment))


def duration_text(value: object) -> str:
    number = as_number(value)
    if number is None:
        return "-"
    if number < 60:
        return f"{number:.3g} s"
    minutes, seconds = divmod(round(number), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def format_list(rows: Iterable[ListRow]) -> str:
    """The table of `strata runs list`, newest first, from rows oldest first."""
    shown = list(rows)
    if not shown:
        return "no runs\n"
    header = ["RUN", "EXPERIMENT", "STATUS", "CREATED", "DURATION", "METRICS"]
    lines = table(header, [list(r.cells) for r in reversed(shown)])
    damaged = sum(1 for r in shown if r.damaged)
    footer = f"{len(shown)} run{'s' if len(shown) != 1 else ''}"
    if damaged:
        footer += f"; {damaged} with an unreadable record (marked !; see `strata doctor runs`)"
    return "\n".join([*lines, footer]) + "\n"
