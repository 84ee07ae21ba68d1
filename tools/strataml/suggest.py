"""'did you mean': the closest known names to a mistyped one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, known: Iterable[str], *, limit: int = 3) -> list[str]:
    """Up to `limit` known names most like `word`, best first; case does not count."""
    by_folded: dict[str, str] = {}
    for name in sorted(known):
        by_folded.setdefault(name.casefold(), name)
    found = difflib.get_close_matches(word.casefold(), list(by_folded), n=limit, cutoff=0.6)
    return [by_folded[f] for f in found]


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """' (did you mean a or b?)', or '' when nothing is close."""
    found = closest(word, known)
    if not found:
        return ""
    return f" (did you mean {' or '.join(found)}?)"
