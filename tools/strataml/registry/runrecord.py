"""One run's record as read from its directory (TFC-0003 R13): config.yaml, system.json,
metrics.json and reproduction.json. Read-only."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml.jsonio import load_json
from strataml.liveness import runner_liveness
from strataml.refs import is_run_id
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES, parse_yaml

RUNS = "runs"
# metrics.json written before TFC-0003 R15 may carry every step of every metric: allow far
# more than a metadata file.
_MAX_METRICS_BYTES = 256 * MAX_BYTES


@dataclass(frozen=True)
class RunRecord:
    """One run directory as recorded; parts that could not be read are empty and named in problems."""

    run_id: str
    config: dict[str, object] = field(default_factory=dict)
    system: dict[str, object] = field(default_factory=dict)
    metrics: dict[str, object] = field(default_factory=dict)
    sealed: bool = False
    problems: tuple[str, ...] = ()
    reproduction: dict[str, Any] = field(default_factory=dict)  # reproduction.json, if any
    # False: read for a listing, without system.json's `packages` and metrics.json's `history`
    whole: bool = True

    @property
    def path(self) -> str:
        return f"{RUNS}/{self.run_id}"

    @property
    def experiment(self) -> str | None:
        value = nested(self.config, "experiment", "name")
        return value if isinstance(value, str) else None

    @property
    def status(self) -> str:
        value = self.system.get("status")
        return value if isinstance(value, str) else "unknown"

    @functools.cached_property
    def state(self) -> str:
        """The status as a reader should see it: `abandoned` for a run recorded `running` whose
        runner is gone, as doctor's RUN006 tells it (TFC-0002 R9)."""
        running = self.status == "running" and not self.sealed
        return (
            "abandoned" if running and runner_liveness(self.system) == "abandoned" else self.status
        )

    @property
    def reason(self) -> str | None:
        """Why the run failed (system.json `reason`), or why it is abandoned."""
        if self.state == "abandoned":
            return f"its runner (pid {value_text(self.system.get('pid'))}) is gone: the run was abandoned"
        value = self.system.get("reason")
        return value if isinstance(value, str) else None

    @property
    def created(self) -> str:
        """Claim time, else start time: what orders runs (ids are random after the date)."""
        for value in (self.config.get("created"), self.system.get("started")):
            if isinstance(value, str):
                return value
        return ""

    @property
    def params(self) -> dict[str, Any]:
        value = self.config.get("params")
        return value if isinstance(value, dict) else {}

    @property
    def final(self) -> dict[str, Any]:
        value = self.metrics.get("final")
        return value if isinstance(value, dict) else {}

    @property
    def inputs(self) -> dict[str, str]:
        value = self.config.get("inputs")
        if not isinstance(value, dict):
            return {}
        return {
            str(name): str(entry.get("ref"))
            for name, entry in sorted(value.items(), key=lambda item: str(item[0]))
            if isinstance(entry, dict)
        }

    @property
    def upstream(self) -> list[str]:
        """The runs whose outputs this pipeline stage's run consumed (TFC-0002 R20), sorted."""
        return upstream_runs(self.config)

    @property
    def requested(self) -> dict[str, str]:
        """Input name -> the moving reference it was asked by (`@production`, `@latest`, an
        alias), where the run recorded one beside the pinned ref (TFC-0003 R11)."""
        value = self.config.get("inputs")
        if not isinstance(value, dict):
            return {}
        return {
            str(name): entry["requested"]
            for name, entry in sorted(value.items(), key=lambda item: str(item[0]))
            if isinstance(entry, dict) and isinstance(entry.get("requested"), str)
        }

    @property
    def tags(self) -> list[str]:
        value = self.config.get("tags")
        return [str(t) for t in value] if isinstance(value, list) else []

    def summary(self) -> dict[str, Any]:
        """The JSON form of `strata runs list`."""
        return {
            "run_id": self.run_id,
            "path": self.path,
            "experiment": self.experiment,
            "name": self.config.get("name"),
            "status": self.state,
            "reason": self.reason,
            "exit_code": self.system.get("exit_code"),
            "created": self.created or None,
            "duration_s": self.system.get("duration_s"),
            "fingerprint": self.config.get("fingerprint"),
            "params": self.params,
            "metrics": self.final,
            "inputs": self.inputs,
            "tags": self.tags,
            "sealed": self.sealed,
            "problems": list(self.problems),
            "reproduces": self.config.get("reproduces"),
            "verdict": self.reproduction.get("verdict"),
        }

    def document(self) -> dict[str, Any]:
        """The JSON form of `strata runs show`: the summary, then the three records whole."""
        if not self.whole:
            raise ValueError(f"{self.run_id} was read for a listing, not whole")
        records = {"config": self.config, "system": self.system, "metrics": self.metrics}
        return {**self.summary(), **records}


def nested(document: dict[str, Any], *keys: str) -> object:
    node: object = document
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _read_mapping(path: Path, limit: int, *, as_json: bool) -> tuple[dict[str, Any], str | None]:
    name = path.name
    try:
        raw = read_regular(path, limit + 1)
    except FileNotFoundError:
        return {}, f"no {name}"
    except OSError as exc:
        return {}, f"{name} cannot be read: {exc.strerror or exc}"
    if len(raw) > limit:
        return {}, f"{name} is larger than {limit} bytes"
    if as_json:
        try:
            data = load_json(raw)
        except ValueError as exc:  # UnicodeDecodeError included
            return {}, f"{name} is not JSON: {exc}"
    else:
        document = parse_yaml(raw)
        if not document.ok:
            return {}, f"{name} does not parse: {document.problems[0].message}"
        data = document.data
    if not isinstance(data, dict):
        return {}, f"{name} is not a mapping"
    return data, None


def load_run(root: Path, run_id: str) -> RunRecord:
    directory = root / RUNS / run_id
    config, p1 = _read_mapping(directory / "config.yaml", MAX_BYTES, as_json=False)
    system, p2 = _read_mapping(directory / "system.json", MAX_BYTES, as_json=True)
    metrics, p3 = _read_mapping(directory / "metrics.json", _MAX_METRICS_BYTES, as_json=True)
    running = system.get("status") == "running"
    problems = tuple(
        p for p in (p1, p2, None if running and p3 == "no metrics.json" else p3) if p is not None
    )
    sealed = (directory / "CHECKSUMS.txt").is_file()
    reproduction: dict[str, Any] = {}
    if isinstance(config.get("reproduces"), str) or os.path.lexists(
        directory / "reproduction.json"
    ):
        reproduction, p4 = _read_mapping(directory / "reproduction.json", MAX_BYTES, as_json=True)
        problems += (p4,) if p4 is not None and not running else ()
    return RunRecord(run_id, config, system, metrics, sealed, problems, reproduction)


MISSING = object()  # a field one of the compared runs lacks


def value_text(value: object) -> str:
    if value is MISSING:
        return "-"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def upstream_runs(config: dict[str, Any]) -> list[str]:
    """The run ids a config.yaml's `pipeline.upstream` pins, sorted, each once."""
    link = config.get("pipeline")
    pins = link.get("upstream") if isinstance(link, dict) else None
    found = {
        pin.get("run") for pin in (pins.values() if isinstance(pins, dict) else [])
        if isinstance(pin, dict)
    }  # fmt: skip
    return sorted(run for run in found if isinstance(run, str) and is_run_id(run))
