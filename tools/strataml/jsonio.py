"""JSON from files the tools did not write: every failure a ValueError, whatever the input."""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Python refuses to convert integers longer than 4,300 digits (CVE-2020-10735); a record's
# numbers are far shorter, so longer ones are refused here with a message of our own.
MAX_INT_DIGITS = 4000
MAX_INT_BITS = int(MAX_INT_DIGITS * 3.3219)  # log2(10) bits per digit


def _int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        raise ValueError(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


# A text with no run of digits this long holds no integer _int refuses: it is parsed without
# calling back into Python for every integer (a run's metrics hold thousands).
_LONG_DIGITS = re.compile(f"[0-9]{{{MAX_INT_DIGITS + 1}}}")


def load_json(raw: str | bytes) -> Any:
    """json.loads, with over-long integers and over-deep nesting as ValueError."""
    if isinstance(raw, bytes):  # as json.loads decodes bytes (UTF-8, -16 or -32)
        raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
    try:
        if _LONG_DIGITS.search(raw) is None:
            return json.loads(raw)
        return json.loads(raw, parse_int=_int)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def as_mapping(value: object) -> dict[str, Any]:
    """A document's mapping, or {} where it holds another type (the schema check reports it)."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """A document's list, or [] where it holds another type (the schema check reports it)."""
    return value if isinstance(value, list) else []


def as_number(value: object) -> float | None:
    """A document's number as a float, or None where it holds another type (a bool too), NaN,
    an infinity or an integer past what a float holds (float() and format() would raise)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


_PLAIN = frozenset({str, int, bool, type(None)})  # leaves finite returns as they are


def finite(value: object) -> object:
    """A value to print as JSON, which has no NaN or infinity: such values become null; keys
    become strings. (Leaves of the common types are not called for: a catalogue has millions.)"""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {
            k if type(k) is str else str(k): v if type(v) in _PLAIN else finite(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [v if type(v) in _PLAIN else finite(v) for v in value]
    return value


def first_non_finite(value: object) -> tuple[tuple[str | int, ...], str] | None:
    """The path and spelling (NaN, Infinity, -Infinity; `key NaN` for a mapping key) of the first
    number in `value` that no JSON document holds; None when there is none. A YAML document
    holds no other key JSON cannot write (yamlio reads dates as text). A walk without recursion."""
    todo: list[tuple[tuple[str | int, ...], object]] = [((), value)]
    while todo:
        path, item = todo.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path, _spelled(item)
        if isinstance(item, dict):
            for key in item:
                if isinstance(key, float) and not math.isfinite(key):
                    return path, f"key {_spelled(key)}"
            todo += [((*path, str(k)), v) for k, v in reversed(list(item.items()))]
        elif isinstance(item, list | tuple):
            todo += [((*path, i), v) for i, v in reversed(list(enumerate(item)))]
    return None


def _spelled(number: float) -> str:
    return "NaN" if number != number else ("-" if number < 0 else "") + "Infinity"
