"""Values a command keeps for the next one in the hash cache's record table (TFC-0008 R13).

Only ever a cache: a value is sealed with its BLAKE3 and kept under a key naming everything it
was worked out from, so a damaged, foreign or stale one is a miss, never an answer. A commit
that ships `.strata/` turns it off (TFC-0001 R13)."""

from __future__ import annotations

import contextlib
import marshal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from strataml.gitindex import tracked_local_state
from strataml.integrity.cache import HashCache, seal, unseal


@contextlib.contextmanager
def opened(
    root: Path, shipped: Callable[[], tuple[str, ...]] | None = None
) -> Iterator[HashCache | None]:
    """The hash cache, or None where there is none or a commit ships one (TFC-0001 R13).
    `shipped` is the answer of `tracked_local_state_later` where the caller asked already."""
    tracked = tracked_local_state(root) if shipped is None else shipped()
    cache = HashCache(root, enabled=not tracked)
    try:
        yield cache if cache.db is not None else None
    finally:
        cache.close()


def kept(cache: HashCache | None, name: str, key: str) -> object | None:
    """The value kept as `name` under `key`; None where there is none, or it is damaged, or
    another key's."""
    found = next(cache.lookup_records(name, [""])) if cache is not None else None
    if found is None or found[0] != key:
        return None
    body = unseal(found[1])
    try:
        return marshal.loads(body) if body is not None else None
    except (EOFError, ValueError, TypeError):
        return None


def keep(cache: HashCache | None, name: str, key: str, value: Any) -> None:
    """Keep `value` (marshal's types only) as `name` under `key`, written when the cache closes."""
    if cache is not None:
        with contextlib.suppress(ValueError):  # not marshal's: worked out every time
            cache.remember_record(name, key, seal(marshal.dumps(value)))
