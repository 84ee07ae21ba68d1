"""The hash cache in .strata/: only ever a cache (TFC-0008 R13).

Two keys find a digest without reading the file:
- the file's path with its size, mtime, ctime and inode, as they were when it was hashed;
- the blob id Git holds for a clean tracked file (for an LFS file: the blob of its pointer, which
  names the content by its SHA-256), so a fresh clone with a restored cache reads nothing.
A cache that is corrupt, truncated, from another version or simply wrong is dropped and rebuilt;
one another process has locked goes unused for the run, left whole. A digest is never taken from
it unless a key matches exactly.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from strataml.confine import symlink_on_the_way
from strataml.integrity.cachefile import CacheFile, open_cache
from strataml.integrity.digest import is_hex_digest
from strataml.integrity.hashing import hash_bytes

CACHE_DIR = ".strata/cache"
CACHE_FILE = "hashes-v1.sqlite"
PARSED_PENDING = 2000  # parse rows written together


# A file changed within this long of being looked at could change again within the same tick of a
# coarse file-system clock (ext3 and FAT keep whole seconds, FAT's mtime two) and keep every part
# of its stat key: such a key proves nothing yet, so nothing is remembered under it (TFC-0008 R13).
RACY_NS = 2_000_000_000


_SEAL = 64  # hex characters of a stored value's BLAKE3, in front of its body


@functools.cache
def package_source() -> bytes:
    """The BLAKE3 of every module of the package, by path: what a kept value names of the code
    that made it, when any module may have had a hand in it."""
    package = Path(__file__).resolve().parents[1]
    parts = []
    for path in sorted(package.rglob("*.py")):
        parts += [str(path.relative_to(package)).encode(), path.read_bytes()]
    return hash_bytes(b"\0".join(parts)).encode()


def seal(body: bytes) -> bytes:
    """A value to store: its body behind the body's BLAKE3, so that damage is told on reading."""
    return hash_bytes(body).encode() + body


def unseal(value: object) -> bytes | None:
    """The body of a value `seal` wrote, or None for anything else (damaged, cut, not bytes)."""
    if not isinstance(value, bytes):
        return None
    body = value[_SEAL:]
    return body if value[:_SEAL] == hash_bytes(body).encode() else None


def settled_before() -> int:
    """Stat keys whose ctime is older than this may be remembered: a later change moves ctime."""
    return time.time_ns() - RACY_NS


@dataclass(frozen=True, slots=True)
class StatKey:
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


class HashCache:
    """Lookups and updates for one doctor run; every failure degrades to 'not cached'."""

    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.settled_before = settled_before()  # racy stat keys are not remembered
        self.path = root / CACHE_DIR / CACHE_FILE
        self.db: sqlite3.Connection | None = None
        self._pending_stat: list[tuple[str, int, int, int, int, str]] = []
        self._pending_blob: list[tuple[str, str]] = []
        self.changed_in_place: set[str] = set()
        self._pending_notes: list[tuple[str, str | None]] = []
        self._notes: dict[str, str | None] = {}  # one batch's, read ahead; None: no note
        self._pending_parsed: dict[str, bytes] = {}
        self._pending_verdict: tuple[str, bytes] | None = None
        self._pending_records: list[tuple[str, str, bytes]] = []
        self._file: CacheFile | None = None
        if enabled and symlink_on_the_way(root, self.path) is None:  # TFC-0001 R8
            self._file = open_cache(self.path)
            self.db = None if self._file is None else self._file.db

    @property
    def held_nothing(self) -> bool:
        """There was nothing to find when this run began: no database, or one this run made (a
        first run, or one after a damaged cache was discarded). What the run itself stores may
        be found later in it (a flush on the way)."""
        return self.db is None or self._file is None or self._file.created

    def lookup_stat(self, keys: dict[str, StatKey | None]) -> dict[str, tuple[StatKey, str]]:
        """Cached digests whose stat key still matches the file: path -> (key, digest).

        A path whose entry names the same inode but another key was changed in place: it is
        recorded in `self.changed_in_place`, and must be read (Git's clean verdict, which compares
        whole seconds on some builds, is not enough for it).
        """
        found: dict[str, tuple[StatKey, str]] = {}
        if self.db is None:
            return {}
        wanted = {
            p: (k.size, k.mtime_ns, k.ctime_ns, k.inode) for p, k in keys.items() if k is not None
        }
        prefix = os.path.commonpath(list(wanted)) if wanted else ""
        try:
            rows = self.db.execute(
                "SELECT path, size, mtime_ns, ctime_ns, inode, digest FROM stat WHERE path >= ? AND path < ?",
                (prefix, prefix + "\U0010ffff"),
            )
            for path, size, mtime, ctime, inode, digest in rows:
                key = wanted.get(path)
                if key is None:
                    continue
                if key == (size, mtime, ctime, inode) and is_hex_digest(digest):
                    found[path] = (keys[path], digest)  # type: ignore[assignment]
                elif key[3] == inode:
                    self.changed_in_place.add(path)
        except (sqlite3.Error, TypeError) as exc:
            self._give_up(exc)
        return found

    def _give_up(self, error: Exception) -> None:
        """Stop using the cache for this run; a damaged one is deleted, for the next to rebuild
        (locked or busy is not damage: another process holds it, nothing is wrong with it)."""
        self.db = None
        if self._file is not None:
            self._file.give_up(damaged=not isinstance(error, sqlite3.OperationalError))
            self._file = None

    def lookup_blobs(self, blobs: dict[str, str]) -> dict[str, str]:
        """path -> digest for paths whose clean Git identity (`<blob id>:<size>`) is cached."""
        if self.db is None or not blobs:
            return {}
        by_blob: dict[str, list[str]] = {}
        for path, blob in blobs.items():
            by_blob.setdefault(blob, []).append(path)
        found: dict[str, str] = {}
        try:
            for batch in _batches(list(by_blob)):
                marks = ",".join("?" * len(batch))
                for blob, digest in self.db.execute(
                    f"SELECT blob, digest FROM blob WHERE blob IN ({marks})", batch
                ):
                    if is_hex_digest(digest):
                        for path in by_blob[blob]:
                            found[path] = str(digest)
        except sqlite3.Error as exc:
            self._give_up(exc)
        return found

    def prefetch_notes(self, keys: Iterable[str]) -> None:
        """Read the notes under `keys` at once (a batch of artifacts' notes), so that `get_note`
        answers them without a query each; the batch before is let go of (its notes are asked
        of the database again, should they be asked)."""
        self._notes.clear()
        wanted = list(dict.fromkeys("note:" + key for key in keys))
        if self.db is None or not wanted:
            return
        found: dict[str, str] = {}
        try:
            for batch in _batches(wanted):
                marks = ",".join("?" * len(batch))
                for key, value in self.db.execute(
                    f"SELECT key, value FROM meta WHERE key IN ({marks})", batch
                ):
                    found[str(key)] = str(value)
        except sqlite3.Error as exc:
            self._give_up(exc)
            return
        for key in wanted:
            self._notes[key] = found.get(key)

    def get_note(self, key: str) -> str | None:
        """A small verdict cached under a key, e.g. that an artifact's listing verified."""
        if self.db is None:
            return None
        if (full := "note:" + key) in self._notes:
            return self._notes[full]
        try:
            row = self.db.execute(
                "SELECT value FROM meta WHERE key = ?", ("note:" + key,)
            ).fetchone()
        except sqlite3.Error as exc:
            self._give_up(exc)
            return None
        return str(row[0]) if row else None

    def set_note(self, key: str, value: str | None) -> None:
        self._notes.pop("note:" + key, None)  # asked again, it is read as stored
        self._pending_notes.append(("note:" + key, value))

    def lookup_parsed(self, keys: list[str]) -> dict[str, bytes]:
        """Stored parse results (`doctor/parsed.py` packs and checks them) under content keys."""
        if self.db is None or not keys:
            return {}
        found: dict[str, bytes] = {}
        try:
            for batch in _batches(list(dict.fromkeys(keys))):
                marks = ",".join("?" * len(batch))
                for key, value in self.db.execute(
                    f"SELECT key, value FROM parsed WHERE key IN ({marks})", batch
                ):
                    if isinstance(value, bytes):
                        found[str(key)] = value
        except sqlite3.Error as exc:
            self._give_up(exc)
        return found

    def remember_parsed(self, key: str, value: bytes) -> None:
        self._pending_parsed[key] = value
        if len(self._pending_parsed) >= PARSED_PENDING:  # a first run holds no registry's worth
            self.flush()

    def lookup_verdict(self, key: str) -> bytes | None:
        """The artifact checks' findings stored under a world key (`doctor/verdicts.py`)."""
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT value FROM verdict WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._give_up(exc)
            return None
        return row[0] if row and isinstance(row[0], bytes) else None

    def remember_verdict(self, key: str, value: bytes) -> None:
        """Keep this verdict and no other: one tree's state is kept, the last one checked."""
        self._pending_verdict = (key, value)

    def lookup_records(
        self, prefix: str, ids: Sequence[str], chunk: int = 512
    ) -> Iterator[tuple[str, bytes] | None]:
        """(key, value) of the record named `prefix` + id, for each of `ids` in order (None where
        none is kept). A few hundred names per query: a listing of 10,000 runs never holds every
        kept record in memory at once, and asks the database 20 times, not 10,000."""
        for start in range(0, len(ids), chunk):
            names = [prefix + i for i in ids[start : start + chunk]]
            found: dict[str, tuple[str, bytes]] = {}
            if self.db is not None:
                marks = ",".join("?" * len(names))
                try:
                    rows = self.db.execute(
                        f"SELECT name, key, value FROM record WHERE name IN ({marks})", names
                    ).fetchall()
                except sqlite3.Error as exc:
                    self._give_up(exc)
                    rows = []
                found = {str(n): (str(k), v) for n, k, v in rows if isinstance(v, bytes)}
            for name in names:
                yield found.pop(name, None)

    def remember_record(self, name: str, key: str, value: bytes) -> None:
        self._pending_records.append((name, key, value))

    def remember(self, path: str, key: StatKey | None, digest: str, blob: str | None) -> None:
        if key is not None and key.ctime_ns < self.settled_before:
            self._pending_stat.append(
                (path, key.size, key.mtime_ns, key.ctime_ns, key.inode, digest)
            )
        if blob is not None:
            self._pending_blob.append((blob, digest))

    def flush(self) -> None:
        pending = bool(
            self._pending_stat or self._pending_blob or self._pending_notes
            or self._pending_records or self._pending_verdict is not None
        )  # fmt: skip
        if self.db is None or not (pending or self._pending_parsed):
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
            for key, value in self._pending_notes:
                if value is None:
                    self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
                else:
                    self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            self.db.executemany(
                "INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?, ?)", self._pending_stat
            )
            self.db.executemany("INSERT OR REPLACE INTO blob VALUES (?, ?)", self._pending_blob)
            self.db.executemany(
                "INSERT OR REPLACE INTO parsed VALUES (?, ?)", self._pending_parsed.items()
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO record VALUES (?, ?, ?)", self._pending_records
            )
            if self._pending_verdict is not None:
                self.db.execute("DELETE FROM verdict")
                self.db.execute("INSERT INTO verdict VALUES (?, ?)", self._pending_verdict)
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            self._give_up(exc)
        self._pending_stat.clear()
        self._pending_blob.clear()
        self._pending_notes.clear()
        self._pending_parsed.clear()
        self._pending_verdict = None
        self._pending_records.clear()

    def close(self) -> None:
        self.flush()
        self.db = None
        if self._file is not None:
            self._file.close()
            self._file = None


def _batches(items: list[str], size: int = 900) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
