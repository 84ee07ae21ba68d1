"""Metric history (TFC-0003 R15): inline in metrics.json while short, else in metrics.csv beside it.

metrics.csv is one point per line, in the order reported, under a fixed header:
`name,step,value,time,timestamp`. Names never hold a comma or a quote (their pattern forbids
both), so no line needs CSV quoting, and one regular expression reads a whole block of lines.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from strataml.atomic import fsync_path, write_text_atomic

HISTORY = "metrics.csv"
HEADER = b"name,step,value,time,timestamp\n"
# Up to this many points the history stays inline: at most ~100 bytes a point, metrics.json
# stays far below the 1 MiB that documents are read up to (TFC-0006 R6).
INLINE_POINTS = 5_000
CHART_POINTS = 1_000  # points per metric the index keeps for a chart
_BLOCK = 8 << 20
_MAX_LINE = 1024  # a name of 128 characters and four numbers fit many times over

_NAME = rb"[A-Za-z0-9_][A-Za-z0-9_./:@-]{0,127}"
_INT = rb"(?:0|[1-9][0-9]*)"
_FRACTION = rb"(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_ROW = re.compile(
    rb"^(" + _NAME + rb"),(" + _INT + rb"),(-?" + _INT + _FRACTION + rb"),(?:"
    + _INT + _FRACTION + rb")?,(?:" + _INT + rb")?\n",
    re.MULTILINE,
)  # fmt: skip
ROW_FORMAT = (
    "a metric name, a non-negative integer step, a finite number, and optionally "
    "seconds since the start and a Unix time in milliseconds"
)

Number = int | float


def number(text: bytes) -> Number:
    """A JSON number's text as JSON reads it: an int unless it has a fraction or exponent."""
    return float(text) if any(c in text for c in b".eE") else int(text)


@dataclass(frozen=True, slots=True)
class Series:
    """One metric's history in brief, as metrics.json records it next to metrics.csv."""

    count: int
    last_step: int
    last: Number
    min: Number
    max: Number

    def document(self) -> dict[str, Number]:
        return {
            "count": self.count, "last_step": self.last_step, "last": self.last,
            "min": self.min, "max": self.max,
        }  # fmt: skip

    def differences(self, other: Series) -> list[str]:
        """'field recorded/observed' for each field where two briefs disagree (compared as numbers)."""
        return [
            f"{key} {mine!r} but metrics.csv gives {theirs!r}"
            for key, mine in self.document().items()
            # Python compares an int and a float exactly; float() fails past 2**1024
            if mine != (theirs := other.document()[key])
        ]


def series_of(value: object) -> Series | None:
    """A Series from metrics.json, or None when it is not one (the schema check says why)."""
    if not isinstance(value, dict) or set(value) != set(Series.__slots__):
        return None
    numbers = [value[key] for key in Series.__slots__]
    if any(isinstance(n, bool) or not isinstance(n, int | float) for n in numbers):
        return None
    if not isinstance(value["count"], int) or not isinstance(value["last_step"], int):
        return None
    return Series(**value)


class _Tally:
    __slots__ = ("count", "high", "last", "last_step", "low")

    def __init__(self, step: int, value: Number) -> None:
        self.count, self.last_step, self.last, self.low, self.high = 1, step, value, value, value

    def add(self, step: int, value: Number) -> None:
        self.count += 1
        self.last_step, self.last = step, value
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value

    def series(self) -> Series:
        return Series(self.count, self.last_step, self.last, self.low, self.high)


def _text(value: Number | None) -> str:
    return "" if value is None else json.dumps(value, allow_nan=False)


class MetricsWriter:
    """A run's metrics as reported, written as metrics.json, plus metrics.csv for a long history.

    Points stay in memory only up to INLINE_POINTS; past that they stream to metrics.csv, so
    memory does not grow with the history. Use it as a context manager: leaving the block
    without `write()` (or by an exception) leaves no file behind.
    """

    def __init__(self, run_dir: Path, *, final_from_history: bool = True) -> None:
        self.run_dir = run_dir
        self.final_from_history = final_from_history  # an importer's source says what is final
        self.final: dict[str, Number] = {}  # reported explicitly
        self._tallies: dict[str, _Tally] = {}
        self._inline: list[tuple[str, dict[str, Number]]] = []
        self._rows: list[str] = []
        self._csv: BinaryIO | None = None
        self._tmp: Path | None = None
        self.spilled = False  # the history went (or was going) to metrics.csv

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()

    def add(
        self, name: str, step: int, value: Number, *, time: float | None = None,
        timestamp: int | None = None,
    ) -> None:  # fmt: skip
        """One point of a metric's history, in the order reported."""
        tally = self._tallies.get(name)
        if tally is None:
            self._tallies[name] = _Tally(step, value)
        else:
            tally.add(step, value)
        if self._csv is None:
            point: dict[str, Number] = {"step": step, "value": value}
            if timestamp is not None:
                point["timestamp"] = timestamp
            if time is not None:
                point["time"] = time
            self._inline.append((name, point))
            if len(self._inline) > INLINE_POINTS:
                self._spill()
            return
        self._rows.append(f"{name},{step},{_text(value)},{_text(time)},{_text(timestamp)}\n")
        if len(self._rows) >= 4096:
            self._flush()

    def _spill(self) -> None:
        self.spilled = True
        fd, tmp = tempfile.mkstemp(dir=self.run_dir, prefix=f".{HISTORY}.", suffix=".tmp")
        self._tmp = Path(tmp)
        self._csv = os.fdopen(fd, "wb")
        self._csv.write(HEADER)
        for name, p in self._inline:
            time, timestamp = p.get("time"), p.get("timestamp")
            self._rows.append(
                f"{name},{p['step']},{_text(p['value'])},{_text(time)},{_text(timestamp)}\n"
            )
        self._inline = []
        self._flush()

    def _flush(self) -> None:
        assert self._csv is not None
        self._csv.write("".join(self._rows).encode("ascii"))
        self._rows = []

    def document(self) -> dict[str, Any]:
        """metrics.json (TFC-0003 R3): final = the explicit value, else the last point reported."""
        final: dict[str, Number] = {}
        if self.final_from_history:
            final.update((name, t.last) for name, t in self._tallies.items())
        final.update(self.final)
        document: dict[str, Any] = {"final": dict(sorted(final.items()))}
        if not self.spilled:
            history: dict[str, list[dict[str, Number]]] = {}
            for name, point in self._inline:
                history.setdefault(name, []).append(point)
            return {"schema_version": 1, **document, "history": dict(sorted(history.items()))}
        series = {name: t.series().document() for name, t in sorted(self._tallies.items())}
        return {"schema_version": 2, **document, "series": series}

    def write(self, metrics_json: Path) -> dict[str, Any]:
        """metrics.csv (when the history is long), then metrics.json; both atomically."""
        document = self.document()
        if self._csv is not None:
            assert self._tmp is not None
            self._flush()
            self._csv.flush()
            os.fsync(self._csv.fileno())
            self._csv.close()
            self._csv = None
            self._tmp.chmod(0o644)  # mkstemp creates 0600
            self._tmp.replace(self.run_dir / HISTORY)
            self._tmp = None
            fsync_path(self.run_dir)
        write_text_atomic(metrics_json, format_metrics(document))
        return document

    def discard(self) -> None:
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def format_metrics(document: dict[str, Any]) -> str:
    """metrics.json with one history point (or series) per line: readable and diffable."""

    def dumps(value: object) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)

    final = json.dumps(
        document["final"], indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False
    )
    if "series" in document:
        rows = [f"    {dumps(n)}: {dumps(s)}" for n, s in sorted(document["series"].items())]
        key, body = "series", ("{\n" + ",\n".join(rows) + "\n  }" if rows else "{}")
    else:
        lists = [
            f"    {dumps(name)}: [\n" + ",\n".join(f"      {dumps(p)}" for p in points) + "\n    ]"
            for name, points in sorted(document["history"].items())
        ]
        key, body = "history", ("{\n" + ",\n".join(lists) + "\n  }" if lists else "{}")
    text = (
        "{\n"
        f'  "final": {final.replace(chr(10), chr(10) + "  ")},\n'
        f'  "{key}": {body},\n'
        f'  "schema_version": {dumps(document["schema_version"])}\n'
        "}\n"
    )
    assert json.loads(text) == document  # the layout is cosmetic; the content is exact
    return text


# --- reading metrics.csv: bounded memory, one pass, the work done in C per block of lines ---


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class HistoryScan:
    """What metrics.csv holds, in brief; or the first line that breaks its format."""

    series: Mapping[str, Series]
    bad: BadLine | None = None
    stray: tuple[int, str] | None = None  # (line, name) of a metric metrics.json does not know


def _blocks(handle: BinaryIO) -> Iterator[tuple[int, bytes] | BadLine]:
    """(line number of the block's first line, whole lines); the header line is checked here."""
    if handle.readline(len(HEADER) + 1) != HEADER:
        yield BadLine(1, f"the first line is not the header {HEADER.decode().strip()!r}")
        return
    line, carry = 2, b""
    while block := handle.read(_BLOCK):
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut:
            yield line, data[:cut]
            line += data.count(b"\n", 0, cut)
        carry = data[cut:]
        if len(carry) > _MAX_LINE:
            yield BadLine(line, f"line is longer than {_MAX_LINE} bytes")
            return
    if carry:
        yield BadLine(line, "the last line does not end with a newline")


def _first_bad(block: bytes) -> int:
    """Offset (in lines) of the first line of a block that is not a row."""
    for index, text in enumerate(block.split(b"\n")):
        if not _ROW.fullmatch(text + b"\n"):
            return index
    return 0


def scan_history(handle: BinaryIO, known: Collection[str]) -> HistoryScan:
    """Check every line of metrics.csv and sum it up per metric; stop at the first bad line or
    at the first metric outside `known` (so memory stays bounded by what metrics.json names)."""
    tallies: dict[str, _Tally] = {}
    names_known = {n.encode() for n in known}
    for item in _blocks(handle):
        if isinstance(item, BadLine):
            return HistoryScan(_series(tallies), bad=item)
        first, block = item
        rows = _ROW.findall(block)
        if len(rows) != block.count(b"\n"):
            return HistoryScan(_series(tallies), bad=BadLine(first + _first_bad(block), ROW_FORMAT))
        values = list(map(float, map(itemgetter(2), rows)))
        if not all(map(math.isfinite, values)):
            at = next(i for i, v in enumerate(values) if not math.isfinite(v))
            return HistoryScan(_series(tallies), bad=BadLine(first + at, "value is not finite"))
        counts = Counter(map(itemgetter(0), rows))
        stray = next((n for n in counts if n not in names_known), None)
        if stray is not None:
            at = next(i for i, row in enumerate(rows) if row[0] == stray)
            return HistoryScan(_series(tallies), stray=(first + at, stray.decode()))
        _tally_block(tallies, rows, values, counts)
    return HistoryScan(_series(tallies))


def _tally_block(
    tallies: dict[str, _Tally], rows: list[tuple[bytes, bytes, bytes]], values: list[float],
    counts: Counter[bytes],
) -> None:  # fmt: skip
    lasts = dict(zip(map(itemgetter(0), rows), rows, strict=True))
    if len(counts) == 1:
        bounds = {rows[0][0]: (min(values), max(values))}
    else:
        found: dict[bytes, list[float]] = {}
        for (key, _, _), value in zip(rows, values, strict=True):
            pair = found.get(key)
            if pair is None:
                found[key] = [value, value]
            elif value < pair[0]:
                pair[0] = value
            elif value > pair[1]:
                pair[1] = value
        bounds = {key: (pair[0], pair[1]) for key, pair in found.items()}
    for raw, count in counts.items():
        name, (_, step, value) = raw.decode(), lasts[raw]
        low, high = bounds[raw]
        tally = tallies.get(name)
        if tally is None:
            tally = tallies[name] = _Tally(int(step), number(value))
            tally.count = 0
        tally.count += count
        tally.last_step, tally.last = int(step), number(value)
        tally.low, tally.high = min(tally.low, low), max(tally.high, high)


def _series(tallies: dict[str, _Tally]) -> dict[str, Series]:
    return {name: tally.series() for name, tally in sorted(tallies.items())}


def read_chart_points(
    handle: BinaryIO, counts: Mapping[str, int], per_metric: int = CHART_POINTS
) -> dict[str, list[list[Number]]]:
    """[step, value] pairs for charts: every k-th point (k so that at most `per_metric` remain)
    and always the last. Lines that break the format end the reading (doctor reports them)."""
    # Integer ceiling: a count is metrics.json's, any int, and past 2**1024 no float holds it.
    strides = {name: max(1, -(-count // per_metric)) for name, count in counts.items()}
    seen: Counter[str] = Counter()
    points: dict[str, list[list[Number]]] = {name: [] for name in counts}
    for item in _blocks(handle):
        if isinstance(item, BadLine):
            break
        for raw, step, value in _ROW.findall(item[1]):
            name = raw.decode()
            stride = strides.get(name)
            if stride is None:
                continue
            index = seen[name]
            seen[name] = index + 1
            if index % stride == 0 or index == counts[name] - 1:
                points[name].append([int(step), number(value)])
    return {name: kept for name, kept in sorted(points.items()) if kept}
