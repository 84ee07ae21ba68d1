"""Directory listings kept between runs, each under its directory's stat key (TFC-0008 R13).

Creating, removing or renaming an entry moves its directory's mtime and ctime, and no one without
privileges sets a ctime: a directory whose stat key (size, mtime, ctime, inode) is the one taken
just before it was listed, and older than the racy window then, still holds the names listed.
Its entries are then asked for with one `lstat` each instead of opening and reading the
directory: half the system calls of a warm doctor on 10,000 runs, whose every run holds a
subdirectory. Entries' own stat keys are read as before; a name that cannot be asked about lists
the directory again.
"""

from __future__ import annotations

import marshal
import os

from strataml.integrity.cache import HashCache, seal, unseal
from strataml.integrity.tree import Entry, portable_name

DirKey = tuple[int, int, int, int]  # size, mtime, ctime, inode
_RECORD, _FORMAT = "dir-listings", "dir-listings-v1"


class KeptDirListings:
    """The listings a run may take (`known`) and those it took or made, to keep (`seen`)."""

    def __init__(self, cache: HashCache, known: dict[str, object]) -> None:
        self.cache = cache
        self.known = known
        self.settled_before = cache.settled_before
        self.seen: dict[str, tuple[DirKey, tuple[str, ...]]] = {}
        self.changed = False
        # ids of kept listings whose names are all plain -> whether some name is unportable
        self._checked: dict[int, bool] = {}

    @classmethod
    def load(cls, cache: HashCache | None, *, use: bool) -> KeptDirListings | None:
        """The listings `cache` keeps (none where not `use`: --no-cache lists every directory and
        refreshes them); None without a cache."""
        if cache is None or cache.db is None:
            return None
        known: object = None
        if use:
            row = next(cache.lookup_records(_RECORD, [""]))
            body = unseal(row[1]) if row is not None and row[0] == _FORMAT else None
            try:
                known = marshal.loads(body) if body is not None else None
            except (EOFError, ValueError, TypeError):
                known = None
        return cls(cache, known if type(known) is dict else {})

    def save(self) -> None:
        """Keep what this run listed or took, and nothing else: a directory gone is forgotten."""
        if self.changed or len(self.seen) != len(self.known):
            # Equal listings stored once (marshal refers back to an object it wrote): 10,000 runs
            # hold a handful of different ones, kept in a fraction of the bytes and read as fast.
            shared: dict[tuple[str, ...], tuple[str, ...]] = {}
            kept = {
                label: (key, shared.setdefault(names, names))
                for label, (key, names) in self.seen.items()
            }
            self.cache.remember_record(_RECORD, _FORMAT, seal(marshal.dumps(kept)))

    def entries(self, label: str, where: str, own: os.stat_result) -> list[Entry] | None:
        """Each name kept for directory `label` (at `where`) with its `lstat`, or None where no
        listing is kept under `own`'s stat key or a name cannot be asked about."""
        key = _key(own)
        kept = self.known.get(label)
        if (
            type(kept) is not tuple
            or len(kept) != 2
            or kept[0] != key
            or key[2] >= self.settled_before
        ):
            return None
        names = kept[1]
        each = self._checked.get(id(names))
        if each is None:  # a listing many directories share is looked at once
            if type(names) is not tuple or not all(type(n) is str and _plain(n) for n in names):
                return None
            each = self._checked[id(names)] = not portable_name("".join(names))
        found: list[Entry] = []
        for name in names:
            if each and not portable_name(name):
                found.append((name, None))
                continue
            try:
                found.append((name, os.lstat(f"{where}/{name}")))
            except OSError:
                return None
        self.seen[label] = (key, names)
        return found

    def listed(self, label: str, own: os.stat_result, names: tuple[str, ...]) -> None:
        """Directory `label`, whose stat key before listing was `own`'s, holds `names`."""
        key = _key(own)
        if key[2] < self.settled_before:
            self.seen[label] = (key, names)
            self.changed = True


def _key(own: os.stat_result) -> DirKey:
    return (own.st_size, own.st_mtime_ns, own.st_ctime_ns, own.st_ino)


def _plain(name: str) -> bool:
    """A name a directory can hold: a kept listing never leads a path out of its directory."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name
