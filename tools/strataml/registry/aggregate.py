"""`strata runs aggregate`: an experiment's succeeded runs grouped by parameters, each group's
final metrics and histories summarised (TFC-0003 R18). Read-only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from strataml.errors import UsageError
from strataml.metrichistory import HISTORY, read_chart_points
from strataml.registry.groups import Group, Member, group_members, grouping
from strataml.registry.runcache import load_all
from strataml.registry.runlist import list_rows, table, unknown_experiment
from strataml.registry.runrecord import RunRecord
from strataml.registry.spread import Spread
from strataml.safeopen import open_regular
from strataml.suggest import did_you_mean

STATS = ("mean", "min", "max", "low", "high")  # what `runs best --aggregate` may rank by


@dataclass(frozen=True)
class Aggregate:
    experiment: str
    group_by: tuple[str, ...]
    over: tuple[str, ...]
    groups: tuple[Group, ...]

    def text(self) -> str:
        runs = sum(len(g.run_ids) for g in self.groups)
        by = ", ".join(self.group_by) or "nothing"
        over = f" (over {', '.join(self.over)})" if self.over else ""
        lines = [f"{self.experiment}: {runs} succeeded runs in {len(self.groups)} "
                 f"group{'s' if len(self.groups) != 1 else ''} by {by}{over}"]  # fmt: skip
        rows = [
            [group.label, str(s.count), name, *_cells(s)]
            for group in self.groups
            for name, s in group.metrics.items()
        ]
        header = ["GROUP", "N", "METRIC", "MEAN", "STD", "MIN", "MAX", "95% CI"]
        lines += table(header, rows) if rows else ["no final metric that is a number"]
        for group in self.groups:
            if group.mixed:
                lines.append(f"note: {group.label} holds runs that also differ in "
                             f"{', '.join(group.mixed)}")  # fmt: skip
        steps = {n: len(ps) for g in self.groups for n, ps in g.histories.items()}
        if steps:
            shown = ", ".join(f"{n} ({k} steps)" for n, k in sorted(steps.items()))
            lines.append(f"histories: {shown}; per-step mean and band with --format json")
        return "\n".join(lines) + "\n"

    def document(self) -> dict[str, object]:
        """schemas/runs-aggregate.schema.json."""
        return {
            "experiment": self.experiment,
            "group_by": list(self.group_by),
            "over": list(self.over),
            "groups": [g.document() for g in self.groups],
        }


def _cells(s: Spread) -> list[str]:
    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    interval = "-" if s.low is None else f"[{number(s.low)}, {number(s.high)}]"
    return [number(s.mean), number(s.std), number(s.min), number(s.max), interval]


def aggregate_runs(
    root: Path, experiment: str, group_by: Sequence[str], over: Sequence[str]
) -> Aggregate:
    """Group `experiment`'s succeeded runs by `group_by` over `over` (defaults: `grouping`) and
    summarise each group."""
    rows = list_rows(root)
    if (why := unknown_experiment(rows, experiment)) is not None:
        raise UsageError(why)
    ids = [r.run_id for r in rows if r.experiment == experiment and r.state == "succeeded"]
    if not ids:
        raise UsageError(f"no succeeded run of experiment {experiment!r}")
    records = load_all(root, ids, whole=True)
    members = [Member.of(r.run_id, r.params, r.final, _points(root, r)) for r in records]
    known = sorted({name for m in members for name in m.params})
    for option, names in (("--group-by", group_by), ("--over", over)):
        for name in names:
            if name not in known:
                raise UsageError(f"{option} {name}: no run of {experiment!r} has that parameter"
                                 f"{did_you_mean(name, known)}")  # fmt: skip
    if both := sorted(set(group_by) & set(over)):
        raise UsageError(f"{', '.join(both)}: in both --group-by and --over")
    by, chosen = grouping(members, group_by, over)
    return Aggregate(experiment, by, chosen, group_members(members, by, chosen))


def _points(root: Path, record: RunRecord) -> dict[str, list[list[object]]]:
    """Every [step, value] a run logged: inline in metrics.json, or for a long history every
    line of its metrics.csv (TFC-0003 R15); what does not read as such is left out (doctor
    reports it)."""
    metrics = record.metrics
    if metrics.get("schema_version") == 2:
        series = metrics.get("series")
        counts = {
            str(name): brief["count"]
            for name, brief in (series.items() if isinstance(series, dict) else ())
            if isinstance(brief, dict) and type(brief.get("count")) is int and brief["count"] > 0
        }
        if not counts:
            return {}
        try:
            handle = open_regular(root / record.path / HISTORY)
        except OSError:
            return {}
        with handle:
            read = read_chart_points(handle, counts, per_metric=max(counts.values()))
        return {name: [[step, value] for step, value in kept] for name, kept in read.items()}
    history = metrics.get("history")
    return {
        str(name): [[p.get("step"), p.get("value")] for p in points if isinstance(p, dict)]
        for name, points in (history.items() if isinstance(history, dict) else ())
        if isinstance(points, list)
    }


@dataclass(frozen=True)
class BestGroup:
    """`strata runs best --aggregate STAT`: the group whose STAT of the metric is best."""

    aggregate: Aggregate
    metric: str
    stat: str
    minimize: bool
    best: Group
    value: float
    considered: int  # groups that report the metric with that statistic
    tied_with: tuple[Group, ...]

    def text(self) -> str:
        spread = self.best.metrics[self.metric]
        ties = "".join(f"\ntied with {g.label}" for g in self.tied_with)
        return (
            f"{self.best.label}: {self.metric} {self.stat} {self.value:.6g} over "
            f"{spread.count} run{'s' if spread.count != 1 else ''} "
            f"(best of {self.considered} groups; "
            f"{'lowest' if self.minimize else 'highest'} {self.stat} wins){ties}\n"
        )

    def document(self) -> dict[str, object]:
        """schemas/runs-best-group.schema.json."""
        return {
            "experiment": self.aggregate.experiment,
            "metric": self.metric,
            "aggregate": self.stat,
            "goal": "minimize" if self.minimize else "maximize",
            "value": self.value,
            "group_by": list(self.aggregate.group_by),
            "over": list(self.aggregate.over),
            "best": self.best.document(),
            "groups_considered": self.considered,
            "tied_with": [g.document()["group"] for g in self.tied_with],
        }


def best_group(aggregate: Aggregate, metric: str, stat: str, *, minimize: bool) -> BestGroup:
    """The group with the best `stat` of final `metric` (ties: every group with that value)."""
    if stat not in STATS:
        raise UsageError(f"--aggregate {stat}: choose from {', '.join(STATS)}")
    scored = [
        (value, group)
        for group in aggregate.groups
        if (spread := group.metrics.get(metric)) is not None
        and (value := spread.stat(stat)) is not None
    ]
    if not scored:
        reported = sorted({name for g in aggregate.groups for name in g.metrics})
        raise UsageError(
            f"no group of {aggregate.experiment!r} reports a {stat} of {metric!r}"
            + (" (a single run per group has no interval)" if stat in ("low", "high") else "")
            + did_you_mean(metric, reported)
        )
    best_value = (min if minimize else max)(value for value, _ in scored)
    winners = [group for value, group in scored if value == best_value]
    return BestGroup(aggregate, metric, stat, minimize, winners[0], best_value, len(scored),
                     tuple(winners[1:]))  # fmt: skip
