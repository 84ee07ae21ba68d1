"""What the framework integrations share: a framework's parameters and metric points, written
into a run through start_run's API (TFC-0002 R17), so that its checks and refusals apply."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from strataml.runner.tracked import ActiveRun


def plain(value: Any) -> Any:
    """A JSON value for config.yaml: as it is when JSON can hold it, else its text (a dtype, an
    enum member, a callable); a non-finite float is text too, since a parameter must be finite."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        if isinstance(value, Mapping):
            return {str(key): plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        return str(getattr(value, "value", value))  # an Enum member: its value, as the CLI takes it


class Recorder:
    """Logs parameters once and metric points without repeats: frameworks report `epoch` beside
    every other metric, so one step would otherwise hold the same point twice."""

    def __init__(self, run: ActiveRun) -> None:
        self.run = run
        self._last: dict[str, tuple[int | None, int | float]] = {}

    def params(self, params: Mapping[str, Any]) -> None:
        for key, value in params.items():
            self.run.log_param(key, plain(value))

    def metrics(self, values: Mapping[str, Any], *, step: int | None) -> None:
        fresh = {}
        for name, value in values.items():
            number = _scalar(value)
            if number is None or self._last.get(name) == (step, number):
                continue
            self._last[name] = (step, number)
            fresh[name] = number
        if fresh:
            self.run.log_metrics(fresh, step=step)


def _scalar(value: Any) -> int | float | None:
    """A number, or a one-element tensor or numpy scalar as one; None for what is not a number.
    A NaN is kept, so that the run's metric check refuses it by name (TFC-0003)."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", 0) == 0:
        value = item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value
