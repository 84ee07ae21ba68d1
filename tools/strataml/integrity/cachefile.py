"""The hash cache's database file, opened so that no process spoils another's (TFC-0008 R13).

Every process that uses the cache holds a lock file beside it shared (`flock`), for as long as it
uses it. One that finds itself alone (it gets the lock exclusively) may discard the database where
anything lies beside it (a journal, a WAL, a stray file: anything that could change what the
database reads) or where it is damaged, and start again from nothing. One that finds others there
deletes nothing: what lies beside the database may be a live writer's journal, and where anything
does, it goes without the cache for the run (a journal nobody vouches for is never read).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "hashes-v1.lock"
WAIT_S = 2.0  # as long as a connection waits for SQLite's own lock
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS stat (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
    "mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, digest TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS blob (blob TEXT PRIMARY KEY, digest TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS verdict (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS record (name TEXT PRIMARY KEY, key TEXT NOT NULL, "
    "value BLOB NOT NULL);"
)
FORMAT = "strataml-hash-cache-1"


@dataclass(slots=True)
class CacheFile:
    """An open cache database and the lock this process holds shared while it uses it."""

    path: Path
    db: sqlite3.Connection
    created: bool  # made by this opening: nothing was there to find
    lock: int

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        with contextlib.suppress(OSError):
            os.close(self.lock)  # the lock goes with the descriptor

    def give_up(self, damaged: bool) -> None:
        """Closed for the rest of the run. A damaged database is deleted for the next run to
        start again, but only where no other process uses it (it may be writing it now)."""
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        if damaged and _try(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB):
            _clear(self.path)
        self.close()


def open_cache(path: Path) -> CacheFile | None:
    """The database at `path`, checked whole and of this format, with the lock held shared; None
    where it cannot be used this run (locked by another process, damaged while others use it,
    anything beside it while others use it, a file system that refuses)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    lock = _lock_file(path.parent / LOCK_FILE)
    if lock is None:
        return None
    alone = _try(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    if not alone and not _shared_soon(lock):
        os.close(lock)  # another process held it exclusively all that while
        return None
    opened = _open_alone(path, lock) if alone else _open_beside_others(path, lock)
    if opened is None:
        os.close(lock)
    return opened


def _open_alone(path: Path, lock: int) -> CacheFile | None:
    if _beside(path):  # a journal no process vouches for (a crash?), a stray: start from nothing
        _clear(path)
    for attempt in range(2):
        try:
            db, created = _connect(path)
        except sqlite3.OperationalError:
            return None  # locked by a process outside this protocol (sqlite itself): left whole
        except (sqlite3.Error, OSError):
            if attempt == 1:
                return None
            _clear(path)  # corrupt, cut off or foreign: start again
            continue
        if not _try(lock, fcntl.LOCK_SH):  # others may now use it beside this process
            db.close()  # the lock was let go of in the change: unused, as if locked
            return None
        return CacheFile(path, db, created, lock)
    return None


def _open_beside_others(path: Path, lock: int) -> CacheFile | None:
    if _beside(path):
        return None
    try:
        db, created = _connect(path)
    except (sqlite3.Error, OSError):
        return None
    return CacheFile(path, db, created, lock)


def _connect(path: Path) -> tuple[sqlite3.Connection, bool]:
    created = not path.exists()
    db = sqlite3.connect(path, timeout=WAIT_S, isolation_level=None)
    try:
        db.executescript(SCHEMA)
        row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT,))
        elif row[0] != FORMAT:
            raise sqlite3.DatabaseError("foreign cache format")
        # A whole-file check costs a read of every page on every run; a cut-off file is caught
        # here by its length, damage inside by the query that meets it (HashCache._give_up).
        # Under a read lock: no other process writes pages while the size is compared.
        db.execute("BEGIN")
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        whole = path.stat().st_size == pages * page_size
        db.execute("COMMIT")
        if not whole:
            raise sqlite3.DatabaseError("cache file is cut off")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.close()
        raise
    return db, created


def _beside(path: Path) -> bool:
    """Whether anything but the database (a regular file) and the lock lies in its directory."""
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return True
    for entry in entries:
        if entry.name == LOCK_FILE:
            continue
        if entry.name != path.name or not entry.is_file(follow_symlinks=False):
            return True
    return False


def _clear(path: Path) -> None:
    """Everything in the cache's directory removed but the lock file: only ever under the
    exclusive lock."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if entry.name == LOCK_FILE:
                continue
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    Path(entry.path).unlink()


def _lock_file(path: Path) -> int | None:
    """The lock file, opened (and made where missing); a link, a directory or anything else put in
    its place is removed once. Never deleted: a process holding the old one would be alone with
    it, and so would one with a new one."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    for attempt in range(2):
        try:
            fd = os.open(path, flags, 0o644)
        except OSError:
            if attempt == 1:
                return None
            with contextlib.suppress(OSError):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            continue
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
        os.close(fd)
        if attempt == 1:
            return None
        with contextlib.suppress(OSError):
            path.unlink()
    return None


def _shared_soon(lock: int) -> bool:
    """The lock shared, waiting a while (as SQLite waits on its own lock) for a process that holds
    it exclusively: one opening the cache, which lets go within milliseconds."""
    deadline = time.monotonic() + WAIT_S
    while not _try(lock, fcntl.LOCK_SH | fcntl.LOCK_NB):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _try(lock: int, operation: int) -> bool:
    try:
        fcntl.flock(lock, operation)
    except OSError:
        return False
    return True
