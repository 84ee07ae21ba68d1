"""The hash cache shared by processes (TFC-0008 R13): each holds its lock file shared while it
uses the cache; only one alone with it discards what lies beside it, so a live writer's journal is
never deleted from under it, and a journal nobody vouches for is never read."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from conftest import settle
from strataml.doctor.engine import run_doctor
from strataml.integrity.cache import CACHE_DIR, CACHE_FILE, HashCache
from strataml.integrity.cachefile import LOCK_FILE, WAIT_S

JOURNAL = f"{CACHE_FILE}-journal"


def listing(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / CACHE_DIR).iterdir())


def test_a_live_writers_journal_is_left_to_it(template: Path) -> None:
    """One process writes (its journal beside the database); another opening the cache then goes
    without it and deletes nothing, and the writer's work lands in the cache everyone reads."""
    settle(template)
    assert run_doctor(template).files_read == 31
    writer = HashCache(template)
    assert writer.db is not None
    inode = (template / CACHE_DIR / CACHE_FILE).stat().st_ino
    writer.db.execute("BEGIN IMMEDIATE")
    writer.db.execute("INSERT OR REPLACE INTO meta VALUES ('written-by', 'the writer')")
    assert listing(template) == sorted([CACHE_FILE, JOURNAL, LOCK_FILE])
    beside = HashCache(template)
    assert beside.db is None
    assert listing(template) == sorted([CACHE_FILE, JOURNAL, LOCK_FILE])
    assert (template / CACHE_DIR / CACHE_FILE).stat().st_ino == inode
    report = run_doctor(template)  # a whole doctor run beside the writer: right, and uncached
    assert (report.files_read, report.diagnostics) == (31, ())
    writer.db.execute("COMMIT")
    writer.close()
    assert (template / CACHE_DIR / CACHE_FILE).stat().st_ino == inode
    assert run_doctor(template).files_read == 0  # what the first run remembered is all there
    reader = HashCache(template)
    assert reader.db is not None
    row = reader.db.execute("SELECT value FROM meta WHERE key = 'written-by'").fetchone()
    assert row == ("the writer",)
    reader.close()


def test_processes_reading_side_by_side_each_use_it(template: Path) -> None:
    settle(template)
    run_doctor(template)
    holder = HashCache(template)
    assert holder.db is not None
    assert run_doctor(template).files_read == 0  # opened beside the holder, nothing beside
    holder.close()


def test_a_journal_nobody_vouches_for_is_never_read(template: Path) -> None:
    """A journal left beside the database (a crash, a restored CI cache, a stray copy) while
    another process holds the cache: not read (a hot journal would be rolled into the database)
    and not deleted; the first process alone with it discards it and starts again."""
    settle(template)
    run_doctor(template)
    holder = HashCache(template)
    journal = template / CACHE_DIR / JOURNAL
    journal.write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + b"\0" * 504)  # a journal header
    report = run_doctor(template)
    assert (report.files_read, report.diagnostics) == (31, ())
    assert journal.exists()
    holder.close()
    assert run_doctor(template).files_read == 31  # alone: discarded, started again
    assert listing(template) == sorted([CACHE_FILE, LOCK_FILE])
    assert run_doctor(template).files_read == 0


def test_a_lock_file_replaced_by_a_link_or_a_directory_is_made_again(
    template: Path, tmp_path: Path
) -> None:
    settle(template)
    run_doctor(template)
    lock = template / CACHE_DIR / LOCK_FILE
    outside = tmp_path / "outside.txt"
    outside.write_text("not the cache's\n")
    for replace in ("link", "directory"):
        lock.unlink()
        if replace == "link":
            lock.symlink_to(outside)
        else:
            lock.mkdir()
            (lock / "inside").write_text("x")
        report = run_doctor(template)
        assert (report.files_read, report.diagnostics) == (0, ()), replace
        assert lock.is_file() and not lock.is_symlink(), replace
    assert outside.read_text() == "not the cache's\n"


def test_a_damaged_cache_another_process_holds_is_not_deleted(template: Path) -> None:
    """Damage met by a query: the run stops using the cache; the file is deleted for the next run
    to start again only where no other process holds it."""
    settle(template)
    run_doctor(template)
    path = template / CACHE_DIR / CACHE_FILE
    holder = HashCache(template)
    damaged = HashCache(template)
    damaged._give_up(ValueError("met damage"))  # what a query meeting damage does
    assert path.exists() and damaged.db is None
    alone = HashCache(template)
    holder.close()
    alone._give_up(ValueError("met damage"))  # alone now (holder gone): deleted
    assert listing(template) == [LOCK_FILE]
    assert run_doctor(template).files_read == 31
    assert path.stat().st_size > 0


def test_a_process_opening_the_cache_is_waited_for_a_while(template: Path) -> None:
    """A process holding the lock exclusively is opening the cache (it lets go within
    milliseconds): another waits for it, up to the time SQLite waits on its own lock, and then
    goes without the cache, deleting nothing."""
    settle(template)
    run_doctor(template)
    held = os.open(template / CACHE_DIR / LOCK_FILE, os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)
    started = time.monotonic()
    assert HashCache(template).db is None
    assert time.monotonic() - started >= WAIT_S
    assert listing(template) == sorted([CACHE_FILE, LOCK_FILE])
    release = threading.Timer(0.3, os.close, (held,))
    release.start()
    waited = HashCache(template)
    release.join()
    assert waited.db is not None
    waited.close()
    assert run_doctor(template).files_read == 0
