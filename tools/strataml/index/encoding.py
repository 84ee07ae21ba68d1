"""index.json's text with each run's histories and package list encoded once: the site needs
them apart (the scripts a run's page loads) as well as in place (TFC-0007 R2)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

# Where a hole is: a key followed by NaN, which a catalogue never holds (finite() made every
# other number finite), and which no string can spell (inside a string `"` is escaped).
_HOLE = re.compile(r'"(packages|history)":NaN')


def value_text(value: object) -> str:
    """A value as index.json writes it (catalogue.dumps without the newline)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Encoded:
    text: str  # catalogue.dumps(index), byte for byte
    histories: tuple[str, ...]  # each run's `history`, in run order
    packages: tuple[str, ...]  # each run's environment `packages` ("null" where it has none)


def encode(index: dict[str, Any]) -> Encoded:
    """The catalogue's JSON, each run's histories and packages encoded once and put in place."""
    runs = index["runs"]
    histories = tuple(value_text(run["history"]) for run in runs)
    # Runs share one package list where they had equal ones (catalogue._shared): encoded once.
    texts: dict[int, str] = {}
    packages = tuple(
        texts.get(id(listed)) or texts.setdefault(id(listed), value_text(listed))
        for listed in (run["environment"].get("packages") for run in runs)
    )
    holed, expected = [], []
    for run in runs:
        environment = run["environment"]
        if "packages" in environment:
            environment = {**environment, "packages": math.nan}
            expected.append("packages")
        holed.append({**run, "environment": environment, "history": math.nan})
        expected.append("history")
    pieces = _HOLE.split(value_text({**index, "runs": holed}) + "\n")
    if pieces[1::2] != expected:  # a NaN where none should be: encode it whole instead
        return Encoded(value_text(index) + "\n", histories, packages)  # catalogue.dumps
    fills = iter(
        fill
        for run, history, listed in zip(runs, histories, packages, strict=True)
        for fill in ([listed] if "packages" in run["environment"] else []) + [history]
    )
    text = [pieces[0]]
    for name, rest in zip(pieces[1::2], pieces[2::2], strict=True):
        text += [f'"{name}":', next(fills), rest]
    return Encoded("".join(text), histories, packages)
