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
    # a nested value after the plain ones: `a: {b: 2}` wins over a key spelled `a.b`
    for key, value in sorted(params.items(), key=lambda kv: isinstance(kv[1], dict)):
        if isinstance(value, dict) and value:
            flat.update(flat_params(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# json.dumps(value, sort_keys=True, ensure_ascii=False) without building an encoder per call
# (a catalogue of 10,000 runs shows 70,000 values).
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def _shown(value: object) -> str:
    """A parameter's value as the text groups compare (JSON with sorted keys, as canonical JSON
    writes it); a value JSON cannot sort (keys of mixed types, in a hand-edited record) as read."""
    if value is _MISSING:
        return _UNSET
    try:
        return _JSON.encode(value)
    except (TypeError, ValueError):
        return repr(value)


def _order(value: object) -> tuple[int, float, str]:
    """How groups sort by a value: numbers by size (0.00001 before 0.1), then the rest by text."""
    number = as_number(value)
    if number is not None:
        return 0, number, ""
    return 1, 0.0, _shown(value)


def is_seed(name: str) -> bool:
    """A parameter taken for a seed when --over is not given: `seed`, or a nested `data.seed`."""
    return name == "seed" or name.endswith(".seed")


def grouping(
    members: Sequence[Member], group_by: Sequence[str], over: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(by, over): `over` as given, else the seed parameters outside `group_by`; `group_by` as
    given, else every parameter outside `over`. The catalogue's grouping is this with neither."""
    known = sorted({name for m in members for name in m.params})
    chosen = tuple(over) or tuple(n for n in known if is_seed(n) and n not in group_by)
    return tuple(group_by) or tuple(n for n in known if n not in chosen), chosen


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
    values: dict[str, object]  # parameter -> its value (None where unset)
    run_ids: tuple[str, ...]
    over: dict[str, tuple[object, ...]]  # --over parameter -> the values seen
    mixed: tuple[str, ...]  # parameters outside --group-by and --over that vary in the group
    metrics: dict[str, Spread]
    histories: dict[str, tuple[StepSpread, ...]]

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.key) or "(all runs)"

    def document(self) -> dict[str, object]:
        return {
            "group": dict(self.values),
            "runs": list(self.run_ids),
            "over": {k: list(vs) for k, vs in self.over.items()},
            "mixed": list(self.mixed),
            "metrics": {k: s.document() for k, s in self.metrics.items()},
            "histories": {k: [p.document() for p in ps] for k, ps in self.histories.items()},
        }


def group_members(
    members: Sequence[Member], by: tuple[str, ...], over: tuple[str, ...]
) -> tuple[Group, ...]:
    """The members grouped by the values of `by`, numbers in order of size."""
    known = sorted({name for m in members for name in m.params})
    found: dict[tuple[tuple[str, str], ...], list[Member]] = {}
    for member in members:
        key = tuple((name, _shown(member.params.get(name, _MISSING))) for name in by)
        found.setdefault(key, []).append(member)
    groups = [_group(key, group, by, over, known) for key, group in found.items()]
    return tuple(sorted(groups, key=lambda g: [_order(g.values[name]) for name in by]))


def _group(
    key: tuple[tuple[str, str], ...], members: list[Member], by: tuple[str, ...],
    over: tuple[str, ...], known: list[str],
) -> Group:  # fmt: skip
    seen: dict[str, dict[str, object]] = {name: {} for name in known}  # name -> text -> value
    for member in members:
        for name in known:
            value = member.params.get(name, _MISSING)
            seen[name].setdefault(_shown(value), None if value is _MISSING else value)
    mixed = tuple(n for n in known if n not in by and n not in over and len(seen[n]) > 1)
    finals: dict[str, list[float]] = {}
    for member in members:
        for name, number in member.finals.items():
            finals.setdefault(name, []).append(number)
    first = members[0].params
    return Group(
        key, {name: first.get(name) for name in by}, tuple(sorted(m.run_id for m in members)),
        {n: tuple(v for _, v in sorted(seen[n].items(), key=lambda kv: _order(kv[1])))
         for n in over},
        mixed, {name: Spread.of(found) for name, found in sorted(finals.items())},
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
