"""Experiment specs: load, validate, override parameters, expand sweeps (TFC-0002 R3, R4)."""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml import schemas
from strataml.errors import UsageError
from strataml.jsonio import first_non_finite
from strataml.refs import Reference
from strataml.safeopen import read_regular
from strataml.suggest import did_you_mean
from strataml.workspace import relative
from strataml.yamlio import MAX_BYTES, parse_yaml
from strataml.yamltext import parse_scalar

_DURATION = re.compile(r"^([0-9]+)(s|m|h)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600}
_SET = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)=(.*)$", re.DOTALL)


class SpecError(UsageError):
    """The experiment spec or an override is wrong; nothing was created."""


@dataclass(frozen=True, slots=True)
class Resources:
    """What one run needs (TFC-0002 R22), as the spec says; each executor maps it."""

    cpus: int | None = None
    memory: str | None = None  # e.g. 4G; Slurm's --mem takes it as written
    gpus: int | None = None
    time_s: int | None = None

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Resources:
        given = spec.get("resources", {})
        return cls(
            given.get("cpus"), given.get("memory"), given.get("gpus"), _seconds(given.get("time"))
        )


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    path: str  # repository-relative
    spec: dict[str, Any]  # as written, validated
    command: tuple[str, ...] | str
    params: dict[str, Any]
    inputs: dict[str, Reference]  # as the spec asks; resolved at use (runner.inputs)
    outputs: tuple[str, ...]
    timeout_s: int | None
    tags: tuple[str, ...]
    grid: dict[str, list[Any]]
    resources: Resources = field(default_factory=lambda: Resources())


def _nearby(path: Path) -> str:
    """' (did you mean x.yaml?)' for a mistyped experiment file name."""
    try:
        names = [p.name for p in path.parent.iterdir() if p.suffix in (".yaml", ".yml")]
    except OSError:
        return ""
    return did_you_mean(path.name, names)


def load_experiment(root: Path, path: Path) -> Experiment:
    where = relative(root, path.resolve())
    try:
        raw = read_regular(path, MAX_BYTES + 1)
    except OSError as exc:
        close = _nearby(path) if isinstance(exc, FileNotFoundError) else ""
        raise SpecError(
            f"{where}: cannot read the experiment: {exc.strerror or exc}{close}"
        ) from exc
    document = parse_yaml(raw)
    if document.problems:
        problem = document.problems[0]
        at = f"{where}:{problem.line}" if problem.line else where
        raise SpecError(f"{at}: {problem.message}")
    data = document.data
    if (
        isinstance(data, dict)
        and isinstance(data.get("command"), str)
        and data.get("shell") is not True
    ):
        line = document.line_of(("command",))
        raise SpecError(
            f"{where}:{line}: command is a string; write it as a list, or set shell: true"
        )
    violations = schemas.validate("experiment", data)
    if violations:
        first = violations[0]
        line = document.line_of(first.path)
        raise SpecError(f"{where}:{line}: {first.message}" if line else f"{where}: {first.message}")
    return experiment_from_spec(where, document.data)


def experiment_from_spec(where: str, spec: dict[str, Any]) -> Experiment:
    """An Experiment from a spec that validates (a file's, or one recorded in config.yaml)."""
    command = spec["command"]
    if isinstance(command, list) and spec.get("shell", False):
        raise SpecError(f"{where}: shell: true needs command as one string")
    return Experiment(
        name=spec["name"],
        path=where,
        spec=spec,
        command=command if isinstance(command, str) else tuple(command),
        params=copy.deepcopy(spec.get("params", {})),
        inputs={name: Reference.parse(ref) for name, ref in spec.get("inputs", {}).items()},
        outputs=tuple(spec.get("outputs", ())),
        timeout_s=_seconds(spec.get("timeout")),
        tags=tuple(spec.get("tags", ())),
        grid=dict(spec.get("sweep", {}).get("grid", {})),
        resources=Resources.from_spec(spec),
    )


def _seconds(value: int | str | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    match = _DURATION.fullmatch(value)
    assert match is not None  # the schema's pattern
    return int(match.group(1)) * _SECONDS[match.group(2)]


def parse_override(text: str) -> tuple[str, object]:
    """'a.b=3' -> ('a.b', 3); the value is read as a YAML scalar or flow collection."""
    match = _SET.fullmatch(text)
    if match is None:
        raise SpecError(
            f"--set {text!r}: expected key=value, the key a parameter name (dots for nesting)"
        )
    try:
        value = parse_scalar(match.group(2))
    except ValueError as exc:
        raise SpecError(f"--set {text!r}: the value is not valid YAML: {exc}") from exc
    if (found := first_non_finite(value)) is not None:
        raise SpecError(f"--set {text!r}: {found[1]} is not a number JSON can hold: give a finite "
                        "number")  # fmt: skip
    return match.group(1), value


def apply_override(params: dict[str, Any], key: str, value: object) -> None:
    """Set params[key] in place; the key must exist and the value keep its type (TFC-0002 R4)."""
    *parents, leaf = key.split(".")
    node: Any = params
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or leaf not in node:
        raise SpecError(f"--set {key}: the experiment has no parameter {key!r}")
    node[leaf] = _coerce(key, node[leaf], value)


def _coerce(key: str, current: object, value: object) -> object:
    if current is None or value is None or type(current) is type(value):
        return value
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(current, (dict, list)) and isinstance(value, type(current)):
        return value
    raise SpecError(
        f"--set {key}: {value!r} is {_kind(value)} but the parameter is {_kind(current)} ({current!r})"
    )


def _kind(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }
    return names.get(type(value), type(value).__name__)


def expand(experiment: Experiment, overrides: list[tuple[str, object]]) -> list[dict[str, Any]]:
    """The parameter sets to run: overrides applied, then one per sweep combination."""
    base = copy.deepcopy(experiment.params)
    for key, value in overrides:
        apply_override(base, key, value)
    if not experiment.grid:
        return [base]
    keys = list(experiment.grid)
    points = []
    for combination in itertools.product(*(experiment.grid[k] for k in keys)):
        params = copy.deepcopy(base)
        for key, value in zip(keys, combination, strict=True):
            apply_override(params, key, value)
        points.append(params)
    return points
