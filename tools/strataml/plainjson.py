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

# A key's closing quote, then white space, then ':'. YAML refuses a key whose ':' is on a later
# line; and where every key's ':' follows its quote, the keys written are counted in C.
_SPACED_KEY = re.compile(r'"[ \n]+:')
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


def _plain_text(text: str) -> bool:
    """ASCII with no escape sequence (a string then means the same to YAML), and none of the
    characters JSON lets through that YAML reads otherwise: a tab or carriage return (white
    space to JSON), DEL (a string's character to JSON, not printable to YAML). JSON refuses
    every other control character in a string, and outside one allows only white space."""
    return (
        text[:1] in ("{", "[")
        and text.isascii()
        and not any(c in text for c in ("\\", "\t", "\r", "\x7f"))
        and _SPACED_KEY.search(text) is None
    )


def plain_json(text: str, max_depth: int, max_nodes: int) -> Any:
    """The data of a JSON object or array on which YAML and JSON agree, else NOT_PLAIN: plain
    text (`_plain_text`), no NaN or Infinity, no duplicate or overlong key, short integers, and
    within the YAML readers' bounds (no collection opened at depth `max_depth` - 1 or deeper, at
    most `max_nodes` nodes, counted as they count them)."""
    if not _plain_text(text):
        return NOT_PLAIN
    try:
        data = json.loads(text, parse_int=_short_int, parse_constant=_refuse)
    except (NotPlainError, ValueError, RecursionError):
        return NOT_PLAIN
    nodes, keys, pending = 1, 0, [(data, 0)]  # the root counts
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            if value and max(map(len, value)) > _LONGEST_KEY:
                return NOT_PLAIN
            items = list(value.values())
            keys += len(items)
            nodes += 2 * len(items)
        elif isinstance(value, list):
            items = value
            nodes += len(items)
        else:
            continue
        if depth >= max_depth - 1 or nodes > max_nodes:
            return NOT_PLAIN
        pending += [(item, depth + 1) for item in items if isinstance(item, (dict, list))]
    # JSON keeps the last of two equal keys; YAML reports both. Every key written ends in '":'
    # here, and a string holds no quote: fewer kept than written is a duplicate (or a value that
    # opens with ':', counted too), left to the YAML readers.
    if keys != text.count('":'):
        return NOT_PLAIN
    return data
