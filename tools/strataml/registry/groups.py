"""Runs grouped by parameters and each group summarised (TFC-0003 R18): what `strata runs
aggregate` prints and the catalogue's per-experiment aggregates hold (TFC-0007)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from strataml.jsonio import as_number
from strataml.registry.spread import Spread

_UNSET = "(unset)"


def flat_params(params: dict[str, Any], prefix: str = "") -> dict[str, object]:
    """Nested parameters as dotted names: {"optim": {"lr": 0.1}} -> {"optim.lr": 0.1}."""
    flat: dict[str, object] = {}
    for key, value in params.items():
        if isinstance(value, dict) and value:
            flat.update(flat_params(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _shown(value: object) -> str:
    return _UNSET if value is _MISSING else json.dumps(value, sort_keys=True, ensure_ascii=False)


_MISSING = object()


@dataclass(frozen=True, slots=True)
class Member:
    """What grouping needs of one run: its parameters (flat), its final metrics that are
    numbers, and its histories as [step, value] pairs (empty where not wanted)."""

    run_id: str
    params: dict[str, object]
    finals: dict[str, float]
    points: dict[str, list[list[object]]]

    @classmethod
    def of(cls, run_id: str, params: dict[str, Any], final: dict[str, Any],
           points: dict[str, list[list[object]]]) -> Member:  # fmt: skip
        numbers = {str(k): n for k, v in final.items() if (n := as_number(v)) is not None}
        return cls(run_id, flat_params(params), numbers, points)


@dataclass(frozen=True, slots=True)
class StepSpread:
    step: int
    spread: Spread

    def document(self) -> dict[str, object]:
        return {"step": self.step, **self.spread.document()}


@dataclass(frozen=True)
class Group:
    """Runs whose grouping parameters are equal: their values, the runs, what `--over` took in
    them, other parameters that differ among them, and the summaries."""

    key: tuple[tuple[str, str], ...]  # (parameter, its value as JSON text or "(unset)")
    run_ids: tuple[str, ...]
    over: dict[str, tuple[str, ...]]  # --over parameter -> the values seen, as JSON text
    mixed: tuple[str, ...]  # parameters outside --group-by and --over that vary in the group
    metrics: dict[str, Spread]
    histories: dict[str, tuple[StepSpread, ...]]

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.key) or "(all runs)"

    def document(self) -> dict[str, object]:
        return {
            "group": {k: None if v == _UNSET else json.loads(v) for k, v in self.key},
            "runs": list(self.run_ids),
            "over": {k: [json.loads(v) for v in vs] for k, vs in self.over.items()},
            "mixed": list(self.mixed),
            "metrics": {k: s.document() for k, s in self.metrics.items()},
            "histories": {k: [p.document() for p in ps] for k, ps in self.histories.items()},
        }


def group_members(
    members: Sequence[Member], by: tuple[str, ...], over: tuple[str, ...]
) -> tuple[Group, ...]:
    """The members grouped by the values of `by`, in the order of those values."""
    known = sorted({name for m in members for name in m.params})
    found: dict[tuple[tuple[str, str], ...], list[Member]] = {}
    for member in members:
        key = tuple((name, _shown(member.params.get(name, _MISSING))) for name in by)
        found.setdefault(key, []).append(member)
    return tuple(_group(key, group, by, over, known) for key, group in sorted(found.items()))


def _group(
    key: tuple[tuple[str, str], ...], members: list[Member], by: tuple[str, ...],
    over: tuple[str, ...], known: list[str],
) -> Group:  # fmt: skip
    values = {
        name: tuple(sorted({_shown(m.params.get(name, _MISSING)) for m in members}))
        for name in known
    }
    mixed = tuple(n for n in known if n not in by and n not in over and len(values[n]) > 1)
    finals: dict[str, list[float]] = {}
    for member in members:
        for name, number in member.finals.items():
            finals.setdefault(name, []).append(number)
    return Group(
        key, tuple(sorted(m.run_id for m in members)), {n: values[n] for n in over}, mixed,
        {name: Spread.of(found) for name, found in sorted(finals.items())},
        _histories(members),
    )  # fmt: skip


def _histories(members: Iterable[Member]) -> dict[str, tuple[StepSpread, ...]]:
    """Per metric and step, the spread of the values the group's runs logged at that step."""
    steps: dict[str, dict[int, list[float]]] = {}
    for member in members:
        for name, points in member.points.items():
            for step, value in points:
                number = as_number(value)
                if type(step) is int and number is not None:
                    steps.setdefault(name, {}).setdefault(step, []).append(number)
    return {
        name: tuple(StepSpread(step, Spread.of(found)) for step, found in sorted(by_step.items()))
        for name, by_step in sorted(steps.items())
    }
