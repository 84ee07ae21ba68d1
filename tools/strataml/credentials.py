"""Values shaped like credentials, wherever they appear in a record (TFC-0003 R9)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# (pattern, what it is): values that are credentials whatever field holds them.
_VALUES = (
    # Bounded repeats: an unbounded scheme made a 100 kB word take minutes (quadratic backtracking).
    (re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}://[^/?#@\s:]{0,256}:[^/?#@\s]{1,256}@"), "a URL with a password"),
    (re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"), "a private key"),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"), "a GitHub token"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), "a Hugging Face token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
)  # fmt: skip

Where = tuple[str | int, ...]


# Any of them, in one search: most strings hold none, and one C call rules all six out.
_ANY = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in _VALUES))


# The same patterns over a document's raw bytes. Bytes mode reads `\s` and `\b` as ASCII only, so
# it matches wherever the text patterns match a string the document's text holds, and more; a
# space may be any run of white space or line breaks there, since YAML folds a line break (NEL
# and the Unicode separators among them) and the indentation after it into one space.
_FOLDED = "(?:\\s|\x85|\u2028|\u2029)+"
_ANY_RAW = re.compile(_ANY.pattern.replace(" ", _FOLDED).encode())


_MARKERS = (b"://", b"-----BEGIN", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_",
            b"AKIA", b"ASIA", b"hf_", b"xox")  # fmt: skip


def may_hold_secrets(raw: bytes) -> bool:
    """Could a string parsed from this YAML or JSON text hold a credential? False only where the
    raw text holds no match and no parsed string can hold text the raw does not: no backslash
    (an escape builds characters; an escaped line break joins two lines) and no doubled single
    quote (which YAML reads as one). Folded lines are joined with whitespace, which ends every
    pattern; a document that is not UTF-8 is not parsed at all."""
    if b"\\" in raw or b"''" in raw:
        return True
    # Text every match holds: most records hold none, and looking for them is a scan in C.
    if not any(marker in raw for marker in _MARKERS):
        return False
    return _ANY_RAW.search(raw) is not None


def secret_kind(value: str) -> str | None:
    """What credential `value` holds ('a URL with a password', …), or None."""
    if _ANY.search(value) is None:
        return None
    return next((kind for pattern, kind in _VALUES if pattern.search(value)), None)


def iter_secrets(document: object, where: Where = ()) -> Iterator[tuple[Where, str]]:
    """(path, kind) of every string in a parsed YAML/JSON document that holds a credential."""
    if isinstance(document, str):
        kind = secret_kind(document)
        if kind is not None:
            yield where, kind
        return
    if not isinstance(document, (dict, list)):
        return
    # YAML aliases make one string object appear many times (50,000 aliases of a 100 kB anchor
    # are 5 GB to search): search each object once.
    searched: dict[int, str | None] = {}
    # Depth first in document order, as recursion would go, but with one frame for the walk
    # rather than a generator per value: (path, the container's items not yet visited).
    stack = [(where, _items(document))]
    while stack:
        base, items = stack[-1]
        for key, value in items:
            if isinstance(value, str):
                if id(value) not in searched:
                    searched[id(value)] = secret_kind(value)
                kind = searched[id(value)]
                if kind is not None:
                    yield (*base, key), kind
            elif isinstance(value, (dict, list)):
                stack.append(((*base, key), _items(value)))
                break
        else:
            stack.pop()


def _items(container: dict[Any, object] | list[object]) -> Iterator[tuple[str | int, object]]:
    if isinstance(container, dict):
        return ((str(key), value) for key, value in container.items())
    return enumerate(container)


def dotted(where: Where) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where).lstrip(".")
