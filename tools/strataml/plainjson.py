"""JSON records read by the JSON reader, where YAML would read them alike (yamlio.parse_yaml).

Doctor reads every document with its YAML reader, JSON records included (JSON is YAML here). On
text as JSON writers write it, Python's JSON reader, in C, builds the same data many times
faster; this module decides when it may: on every text it accepts, the YAML readers build equal
data and find no problem. Anything else goes to them.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Printable ASCII and line feeds, no escape sequence (a string then means the same to YAML), and
# no key whose ':' is on a later line (YAML refuses that).
_NOT_PLAIN = re.compile(r'[^\n\x20-\x7e]|\\|"[ \n]*\n[ \n]*:')
_SHORT_INT_DIGITS = 18  # longer integers are left to the YAML reader's bounds
_LONGEST_KEY = 1000  # YAML caps a key at 1,024 characters


class NotPlainError(Exception):
    """Raised inside json.loads: this text is for the YAML readers."""


NOT_PLAIN: Any = object()  # what plain_json answers for text it leaves to the YAML readers


def _refuse(_text: str) -> Any:
    raise NotPlainError  # NaN, Infinity: YAML reads these words as strings


def _short_int(text: str) -> int:
    if len(text) > _SHORT_INT_DIGITS:
        raise NotPlainError
    return int(text)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    # A duplicate is the YAML node reader's to report, with both lines.
    if len(mapping) != len(pairs) or any(len(key) > _LONGEST_KEY for key in mapping):
        raise NotPlainError
    return mapping


def plain_json(text: str, max_depth: int, max_nodes: int) -> Any:
    """The data of a JSON object or array on which YAML and JSON agree, else NOT_PLAIN: printable ASCII
    without escapes, no NaN or Infinity, no duplicate or overlong key, short integers, and within
    the YAML readers' bounds (no collection opened at depth `max_depth` - 1 or deeper, at most
    `max_nodes` nodes, counted as they count them)."""
    if text[:1] not in ("{", "[") or _NOT_PLAIN.search(text):
        return NOT_PLAIN
    try:
        data = json.loads(
            text, object_pairs_hook=_unique, parse_int=_short_int, parse_constant=_refuse
        )
    except (NotPlainError, ValueError, RecursionError):
        return NOT_PLAIN
    nodes, pending = 0, [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            items = list(value.values())
            nodes += 2 * len(items)
        elif isinstance(value, list):
            items = value
            nodes += len(items)
        else:
            continue
        if depth >= max_depth - 1 or nodes > max_nodes:
            return NOT_PLAIN
        pending += [(item, depth + 1) for item in items if isinstance(item, (dict, list))]
    return data
