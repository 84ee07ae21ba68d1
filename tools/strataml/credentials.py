"""Values shaped like credentials, wherever they appear in a record (TFC-0003 R9)."""

from __future__ import annotations

import re
from collections.abc import Iterator

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


def secret_kind(value: str) -> str | None:
    """What credential `value` holds ('a URL with a password', …), or None."""
    if _ANY.search(value) is None:
        return None
    return next((kind for pattern, kind in _VALUES if pattern.search(value)), None)


def iter_secrets(document: object, where: Where = ()) -> Iterator[tuple[Where, str]]:
    """(path, kind) of every string in a parsed YAML/JSON document that holds a credential."""
    # YAML aliases make one string object appear many times (50,000 aliases of a 100 kB anchor
    # are 5 GB to search): search each object once.
    return _iter_secrets(document, where, {})


def _iter_secrets(
    document: object, where: Where, searched: dict[int, str | None]
) -> Iterator[tuple[Where, str]]:
    if isinstance(document, str):
        if id(document) not in searched:
            searched[id(document)] = secret_kind(document)
        kind = searched[id(document)]
        if kind is not None:
            yield where, kind
    elif isinstance(document, dict):
        for key, value in document.items():
            yield from _iter_secrets(value, (*where, str(key)), searched)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _iter_secrets(value, (*where, index), searched)


def dotted(where: Where) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where).lstrip(".")
