"""index.json's text with each run's histories and package list encoded once: the site needs
them apart (the scripts a run's page loads) as well as in place (TFC-0007 R2)."""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from typing import Any, BinaryIO

# Where a hole is: a key followed by NaN, which a catalogue never holds (finite() made every
# other number finite), and which no string can spell (inside a string `"` is escaped).
_HOLE = re.compile(r'"(packages|history)":NaN')


# What json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")) builds on
# every call, built once: the site encodes a run's id, log and histories apart, 30,000 calls.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def value_text(value: object) -> str:
    """A value as index.json writes it (catalogue.dumps without the newline)."""
    return _ENCODER.encode(value)


@dataclass(frozen=True)
class Encoded:
    parts: tuple[str, ...]  # catalogue.dumps(index), byte for byte, once joined
    histories: tuple[str, ...]  # each run's `history`, in run order
    packages: tuple[str, ...]  # each run's environment `packages` ("null" where it has none)

    @functools.cached_property
    def text(self) -> str:
        return "".join(self.parts)

    def write(self, handle: BinaryIO) -> None:
        """The text, written piece by piece: 10,000 runs' catalogue is never one more string
        and one more bytes object in memory."""
        for part in self.parts:
            handle.write(part.encode("utf-8"))


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
        return Encoded((value_text(index) + "\n",), histories, packages)  # catalogue.dumps
    fills = iter(
        fill
        for run, history, listed in zip(runs, histories, packages, strict=True)
        for fill in ([listed] if "packages" in run["environment"] else []) + [history]
    )
    text = [pieces[0]]
    for name, rest in zip(pieces[1::2], pieces[2::2], strict=True):
        text += [f'"{name}":', next(fills), rest]
    return Encoded(tuple(text), histories, packages)


def release_histories(index: dict[str, Any]) -> None:
    """Drop each run's `history` from `index` once `encode` has its text: the site takes the
    histories from the encoding, so 10,000 runs' steps are held once, as text, not twice."""
    for run in index["runs"]:
        run.pop("history", None)
