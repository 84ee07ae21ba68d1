"""The hash cache is only a cache (TFC-0008 R13), and --since narrows the check."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from conftest import commit_all, doctor_script, git, settle, write_prose
from strataml.doctor.engine import run_doctor
from strataml.integrity.cache import CACHE_DIR, CACHE_FILE
from strataml.integrity.cachefile import LOCK_FILE


@contextmanager
def database(path: Path) -> Iterator[sqlite3.Connection]:
    """The cache opened as another tool would, committed and closed on leaving: `with connect()`
    alone leaves it open, which Python 3.13 reports (an error under this suite's warning filter)."""
    with closing(sqlite3.connect(path)) as db, db:
        yield db


DATA = "datasets/iris/v1/train/iris.csv"


def cache_file(repo: Path) -> Path:
    return repo / CACHE_DIR / CACHE_FILE


def test_warm_runs_read_nothing_and_no_cache_reads_everything(template: Path) -> None:
    settle(template)
    cold = run_doctor(template)
    assert (cold.files_hashed, cold.files_read) == (31, 31)
    warm = run_doctor(template)
    assert (warm.files_hashed, warm.files_read, warm.diagnostics) == (31, 0, ())
    full = run_doctor(template, use_cache=False)
    assert (full.files_hashed, full.files_read) == (31, 31)


def test_a_corrupted_or_truncated_cache_is_ignored_and_everything_verified(template: Path) -> None:
    settle(template)
    run_doctor(template)
    for damage in (b"\x00garbage" * 100, cache_file(template).read_bytes()[:1000], b""):
        cache_file(template).write_bytes(damage)
        report = run_doctor(template)
        assert (report.files_hashed, report.files_read, report.diagnostics) == (31, 31, ())
        assert run_doctor(template).files_read == 0  # rebuilt, and trusted again
    with database(cache_file(template)) as db:  # another tool's database in its place
        db.execute("UPDATE meta SET value = 'something-else' WHERE key = 'format'")
    assert run_doctor(template).files_read == 31


def test_changed_bytes_are_caught_even_with_size_and_mtime_restored(template: Path) -> None:
    settle(template)
    run_doctor(template)
    path = template / DATA
    stat = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"5.1", b"5.2", 1))  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: only ctime moved
    report = run_doctor(template)
    codes = [d.code for d in report.diagnostics]
    # Git, comparing whole seconds of ctime, may still call the file clean (IMM002 then absent);
    # the cache keys on nanoseconds and the inode, so the content is read and caught.
    assert codes in (["CHK005"], ["CHK005", "IMM002"])
    assert report.files_read == 1


def test_a_stale_entry_misleads_only_until_no_cache(template: Path) -> None:
    settle(template)
    run_doctor(template)
    with database(cache_file(template)) as db:
        db.execute("UPDATE stat SET digest = ? WHERE path = ?", ("0" * 64, DATA))
        db.execute("DELETE FROM meta WHERE key LIKE 'note:%'")  # the listing-level verdict too
        db.execute("DELETE FROM verdict")  # and the whole tree's
    assert [d.code for d in run_doctor(template).diagnostics] == ["CHK005"]  # the cache's limit
    fresh = run_doctor(template, use_cache=False)
    assert (fresh.diagnostics, fresh.files_read) == ((), 31)
    assert run_doctor(template).diagnostics == ()  # --no-cache rewrote the entry


def test_a_fresh_clone_with_the_cache_restored_reads_nothing(
    template: Path, tmp_path: Path
) -> None:
    assert run_doctor(settle(template)).files_read == 31
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(template), str(clone))
    shutil.copytree(template / CACHE_DIR, clone / CACHE_DIR)  # as a CI cache restores it
    settle(clone)  # checked out a while ago, as before CI's doctor step
    report = run_doctor(clone)
    assert (report.diagnostics, report.files_hashed, report.files_read) == ((), 31, 0)
    (clone / DATA).write_bytes((clone / DATA).read_bytes().replace(b"5.1", b"5.2", 1))
    assert [d.code for d in run_doctor(clone).diagnostics] == [
        "CHK005",
        "IMM002",
    ]  # Git sees it dirty


def test_attributes_git_cannot_give_take_no_file_on_its_blob(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where `git check-attr` fails, what checkout does to a file's bytes is unknown: no digest
    is taken on a blob id (fail closed), every file is read, and the findings are the same."""
    from strataml.doctor import context

    assert run_doctor(settle(template)).files_read == 31
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(template), str(clone))
    shutil.copytree(template / CACHE_DIR, clone / CACHE_DIR)
    settle(clone)
    saved = tmp_path / "saved-cache"
    shutil.copytree(clone / CACHE_DIR, saved)
    assert (run_doctor(clone).files_read, run_doctor(clone, use_cache=False).diagnostics) == (0, ())
    shutil.rmtree(clone / CACHE_DIR)
    shutil.copytree(saved, clone / CACHE_DIR)  # as restored, again
    # What checkout_attributes_later answers where Git failed (tests/test_attributes.py).
    monkeypatch.setattr(context, "checkout_attributes_later", lambda root, paths: lambda: None)
    report = run_doctor(clone)
    assert (report.diagnostics, report.files_hashed, report.files_read) == ((), 31, 31)


def test_a_large_file_where_git_cannot_give_attributes_names_the_cause(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown attributes fail closed on the size limit too, naming why, and no clean note is
    taken for them (TFC-0008 R12, R13)."""
    from strataml.doctor import context

    with (template / "pyproject.toml").open("a") as handle:
        handle.write("\n[tool.strataml.lfs]\nmax-plain-bytes = 2500\n")
    commit_all(settle(template), "lfs limit")
    known = {(d.path, d.message) for d in run_doctor(template).diagnostics if d.code == "LFS001"}
    large = sorted(path for path, _ in known)
    assert large and all(m.endswith("and no LFS attribute covers it") for _, m in known)
    monkeypatch.setattr(context, "checkout_attributes_later", lambda root, paths: lambda: None)
    for cached in (True, False):
        unknown = [
            (d.path, d.message, d.hint)
            for d in run_doctor(template, use_cache=cached).diagnostics
            if d.code == "LFS001"
        ]
        assert unknown == [
            (
                path,
                f"{(template / path).stat().st_size} bytes, over the 2500-byte limit for plain Git "
                "files, and git check-attr failed: no LFS attribute is known to cover it",
                f"run git check-attr filter -- {path} to see why Git cannot read the attributes",
            )
            for path in large
        ]


def test_since_checks_only_what_changed(template: Path, tmp_path: Path) -> None:
    base = git(template, "rev-parse", "HEAD").strip()
    source = tmp_path / "extra"
    source.mkdir()
    (source / "a.csv").write_text("x\n1\n")
    from strataml.registry.datasets import add_dataset

    add_dataset(template, "extra", source, license_id="CC0-1.0", sources=["test"])
    write_prose(template / "datasets/extra/v1")
    commit_all(template, "extra")
    report = doctor_script(template, "--since", base)
    assert report.stdout == (
        "OK: 0 errors, 0 warnings, 0 info; 1 artifact checked (of 7; only those changed since "
        f"{base}), 3 files hashed\n"
    )
    assert (
        doctor_script(template, "--since", "no-such-ref").stderr
        == "doctor: error: --since 'no-such-ref': no such commit\n"
    )


def test_damage_inside_the_cache_is_met_by_a_query_and_the_cache_rebuilt(template: Path) -> None:
    # The open checks only the file's length against its pages (a whole-file check would read
    # every page on every run); damage inside surfaces as "malformed" on the query that meets it.
    run_doctor(settle(template))
    with database(cache_file(template)) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        (root_page,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'stat'"
        ).fetchone()
    raw = bytearray(cache_file(template).read_bytes())
    start = (root_page - 1) * page_size
    raw[start : start + page_size] = b"\xa5" * page_size  # the stat table's page, all junk
    cache_file(template).write_bytes(bytes(raw))
    os.utime(template / DATA)  # a new stat key: the listing's verdict no longer applies
    report = run_doctor(template)
    assert (report.files_hashed, report.files_read, report.diagnostics) == (31, 31, ())
    assert not cache_file(template).exists()  # given up on, and deleted
    assert run_doctor(settle(template)).files_read == 31  # rebuilt from nothing
    assert run_doctor(template).files_read == 0  # and trusted again


def test_a_cache_cut_at_a_page_boundary_is_caught_when_opened(template: Path) -> None:
    settle(template)
    run_doctor(template)
    with database(cache_file(template)) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    raw = cache_file(template).read_bytes()
    assert len(raw) >= 3 * page_size
    cache_file(template).write_bytes(raw[: len(raw) - page_size])
    report = run_doctor(template)
    assert (report.files_hashed, report.files_read, report.diagnostics) == (31, 31, ())
    assert run_doctor(template).files_read == 0


def test_a_file_changed_within_the_racy_window_is_neither_remembered_nor_taken_from_git(
    template: Path,
) -> None:
    """A same-size rewrite inside one tick of a coarse clock keeps every part of the stat key, and
    Git may still call the file clean: within the window nothing is keyed on either (TFC-0008 R13)."""
    settle(template)
    path = template / DATA
    path.write_bytes(path.read_bytes())  # changed just now, same bytes
    assert run_doctor(template).files_read == 31  # first run: nothing cached yet
    assert run_doctor(template).files_read == 1  # the recent file is read again, the rest not
    settle(template)
    assert run_doctor(template).files_read == 1  # now remembered
    assert run_doctor(template).files_read == 0


def test_notes_read_ahead_answer_as_the_database_does(tmp_path: Path) -> None:
    """prefetch_notes reads a batch's notes in one query; get_note then answers from them, and a
    note set since is read from the database again (stored, once flushed), never from the batch."""
    from strataml.integrity.cache import HashCache

    first = HashCache(tmp_path)
    first.set_note("verified:runs/a", "state-a")
    first.set_note("lfs:runs/a", "clean")
    first.close()
    cache = HashCache(tmp_path)
    assert cache.db is not None
    queries: list[str] = []
    cache.db.set_trace_callback(queries.append)
    cache.prefetch_notes(["verified:runs/a", "lfs:runs/a", "verified:runs/b"])
    assert len(queries) == 1
    answers = [cache.get_note(k) for k in ("verified:runs/a", "lfs:runs/a", "verified:runs/b")]
    assert (answers, len(queries)) == (["state-a", "clean", None], 1)
    cache.set_note("verified:runs/a", "state-a2")
    assert cache.get_note("verified:runs/a") == "state-a"  # not flushed yet: as stored
    cache.flush()
    assert cache.get_note("verified:runs/a") == "state-a2"
    assert cache.get_note("other:runs/a") is None  # never read ahead: asked of the database
    cache.prefetch_notes(["verified:runs/b"])  # the next batch: runs/a's notes are let go of
    asked = len(queries)
    assert cache.get_note("lfs:runs/a") == "clean"
    assert len(queries) == asked + 1
    cache.close()


def test_a_cache_another_process_has_locked_is_left_whole(template: Path) -> None:
    """Locked by another process (a doctor about to write, a run's input check): this run goes
    without it, and neither deletes it nor starts a new one beside it."""
    from strataml.integrity.cache import HashCache

    settle(template)
    assert run_doctor(template).files_read == 31
    path = template / CACHE_DIR / CACHE_FILE
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        blocked = HashCache(template)
        listed = sorted(p.name for p in path.parent.iterdir())
        assert blocked.db is None and listed == sorted([CACHE_FILE, LOCK_FILE])
        other.execute("COMMIT")
    assert run_doctor(template).files_read == 0  # what the first run remembered is all there
