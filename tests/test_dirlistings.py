"""Directory listings kept under each directory's stat key (TFC-0008 R13): a scan that takes them
sees exactly what a scan that lists every directory sees, and doctor's verdict does not change."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from conftest import example_run, settle
from strataml.doctor.engine import run_doctor
from strataml.integrity.cache import CACHE_DIR, CACHE_FILE, HashCache
from strataml.integrity.dirlistings import KeptDirListings
from strataml.integrity.tree import TreeScan, scan_tree
from strataml.workspace import scan_layout

FAR = 10**30  # a racy window that is long over: every stat key counts as settled


def build(top: Path) -> Path:
    """A tree with every kind of entry a scan tells apart."""
    (top / "a" / "b" / "c").mkdir(parents=True)
    (top / "empty").mkdir()
    (top / "one.txt").write_text("1\n")
    (top / "a" / "two.txt").write_text("2\n")
    (top / "a" / "b" / "c" / "three.txt").write_text("3\n")
    (top / "link").symlink_to("one.txt")
    os.mkfifo(top / "a" / "pipe")
    (top / "tab\there").write_text("unportable\n")
    os.close(os.open(os.fsencode(top / "a") + b"/\xff-undecodable", os.O_CREAT | os.O_WRONLY))
    return top


def fresh(tmp_path: Path, known: dict[str, object] | None = None) -> KeptDirListings:
    """Listings on a cache of their own, every key settled unless the test says otherwise."""
    listings = KeptDirListings(HashCache(tmp_path, enabled=False), dict(known or {}))
    listings.settled_before = FAR
    return listings


@contextmanager
def counting_listings() -> Iterator[list[str]]:
    """The directories `os.scandir` is asked to list while the block runs."""
    listed: list[str] = []
    real = os.scandir

    def scandir(path: str | int = ".") -> object:
        listed.append(f"fd {path}" if isinstance(path, int) else os.fspath(path))
        return real(path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "scandir", scandir)
        yield listed


def test_kept_listings_give_the_scan_that_lists_every_directory(tmp_path: Path) -> None:
    top = build(tmp_path / "tree")
    plain = scan_tree(top)
    assert plain.symlinks == ("link",) and plain.special == ("a/pipe",)
    assert plain.unportable == ("a/\udcff-undecodable", "tab\there")
    first = fresh(tmp_path)
    assert scan_tree(top, first, "t") == plain
    assert sorted(first.seen) == ["t", "t/a", "t/a/b", "t/a/b/c", "t/empty"]
    assert first.seen["t/empty"][1] == ()
    second = fresh(tmp_path, first.seen)
    with counting_listings() as listed:
        assert scan_tree(top, second, "t") == plain
    assert listed == []  # every directory taken from its kept listing
    assert second.seen == first.seen and not second.changed


# Each change a directory can undergo, and the directory it is made in.
CHANGES: dict[str, Callable[[Path], None]] = {
    "file added at the top": lambda t: (t / "new.txt").write_text("new\n"),
    "file added to an empty directory": lambda t: (t / "empty" / "new.txt").write_text("n\n"),
    "file added three levels down": lambda t: (t / "a" / "b" / "c" / "new").write_text("n\n"),
    "file removed": lambda t: (t / "a" / "two.txt").unlink(),
    "file renamed": lambda t: (t / "one.txt").rename(t / "uno.txt"),
    "file replaced by a directory": lambda t: ((t / "one.txt").unlink(), (t / "one.txt").mkdir()),
    "directory removed": lambda t: shutil.rmtree(t / "a" / "b"),
    "directory added": lambda t: (t / "a" / "b" / "new").mkdir(),
    "symlink added": lambda t: (t / "empty" / "out").symlink_to("/etc"),
    "hard link added": lambda t: os.link(t / "one.txt", t / "empty" / "same"),
    "file moved between directories": lambda t: (t / "a" / "two.txt").rename(t / "empty" / "2"),
}


def test_every_change_to_a_listed_directory_is_seen(tmp_path: Path) -> None:
    tops = {name: build(tmp_path / f"tree{i}") for i, name in enumerate(CHANGES)}
    settle(tmp_path)  # the listings are kept only once the directories' stat keys settled
    kept = {}
    for name, top in tops.items():
        listings = KeptDirListings(HashCache(tmp_path, enabled=False), {})
        scan_tree(top, listings, "t")
        assert len(listings.seen) == 5, name
        kept[name] = listings.seen
    for name, change in CHANGES.items():  # made at once: the clock has not moved on much
        change(tops[name])
    # At once, and again once the changes have settled too (then only the keys tell them).
    for moment in ("at once", "settled"):
        if moment == "settled":
            settle(tmp_path)
        for name, top in tops.items():
            listings = KeptDirListings(HashCache(tmp_path, enabled=False), kept[name])
            assert scan_tree(top, listings, "t") == scan_tree(top), (name, moment)


def test_a_directory_changed_within_the_racy_window_is_not_kept(tmp_path: Path) -> None:
    top = build(tmp_path / "tree")
    cache = HashCache(tmp_path, enabled=False)
    assert KeptDirListings(cache, {}).settled_before == cache.settled_before
    ctimes = sorted(p.lstat().st_ctime_ns for p in [top, *top.rglob("*")] if p.is_dir())
    # The cut-off at the oldest directory's ctime: none is older, so none is kept; one past the
    # newest: all are.
    for cutoff, kept in ((ctimes[0], 0), (ctimes[-1] + 1, 5)):
        listings = KeptDirListings(cache, {})
        listings.settled_before = cutoff
        assert scan_tree(top, listings, "t") == scan_tree(top)
        assert (len(listings.seen), listings.changed) == (kept, kept > 0)


def true_key(directory: Path) -> tuple[int, int, int, int]:
    st = os.lstat(directory)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@pytest.mark.parametrize(
    "names",
    [
        ("..",),
        ("../outside.txt",),
        ("a/two.txt",),
        ("",),
        (".",),
        ("x\0y",),
        "one.txt",  # a string, not a tuple of names
        (1, 2),
        ("one.txt", "ghost"),  # a name the directory does not hold: it is listed again
    ],
)
def test_a_kept_listing_never_leads_a_scan_astray(tmp_path: Path, names: object) -> None:
    top = build(tmp_path / "tree")
    (tmp_path / "outside.txt").write_text("outside\n")
    listings = fresh(tmp_path, {"t": (true_key(top), names)})
    with counting_listings() as listed:
        assert scan_tree(top, listings, "t") == scan_tree(top)
    assert listed[0] == os.fspath(top)  # the kept listing was refused, the directory listed


@pytest.mark.parametrize(
    "kept",
    [None, [], (1, 2, 3), ((1, 2, 3, 4), ("one.txt",)), ("key", ("one.txt",))],
    ids=["none", "list", "short", "other key", "bad key"],
)
def test_a_listing_under_another_key_is_not_taken(tmp_path: Path, kept: object) -> None:
    top = build(tmp_path / "tree")
    listings = fresh(tmp_path, {"t": kept})
    with counting_listings() as listed:
        scan: TreeScan = scan_tree(top, listings, "t")
    assert scan == scan_tree(top) and listed[0] == os.fspath(top)


# --- doctor ---------------------------------------------------------------------------------------


def record(repo: Path) -> bytes | None:
    with closing(sqlite3.connect(repo / CACHE_DIR / CACHE_FILE)) as db:
        row = db.execute("SELECT value FROM record WHERE name = 'dir-listings'").fetchone()
    return None if row is None else bytes(row[0])


def kept_labels(repo: Path) -> list[str]:
    with closing(HashCache(repo)) as cache:
        listings = KeptDirListings.load(cache, use=True)
        assert listings is not None
        return sorted(str(label) for label in listings.known)


def artifact_listings(repo: Path) -> list[str]:
    """The artifact directories a doctor run lists, by name."""
    with counting_listings() as listed:
        run_doctor(repo)
    artifacts = [f"{repo}/{a.path}" for a in scan_layout(repo).artifacts]
    assert len(artifacts) > 3
    inside = tuple(f"{a}/" for a in artifacts)
    return sorted(p for p in listed if p in artifacts or p.startswith(inside))


def test_a_warm_doctor_lists_no_artifact_directory(template: Path) -> None:
    run = f"runs/{example_run()}"
    run_doctor(settle(template))
    assert f"{run}/artifacts" in kept_labels(template)
    assert artifact_listings(template) == []
    shutil.rmtree(template / run)  # gone: forgotten by the next whole run
    run_doctor(template)
    assert not any(label.startswith(run) for label in kept_labels(template))


@pytest.mark.parametrize("wait", [False, True], ids=["at once", "settled"])
def test_a_file_added_where_a_listing_is_kept_is_found(template: Path, wait: bool) -> None:
    run = template / "runs" / example_run()
    run_doctor(settle(template))
    run_doctor(template)  # answers from the stored verdict
    (run / "artifacts" / "extra.bin").write_bytes(b"not listed")
    if wait:
        settle(template)
    cached, fresh_report = run_doctor(template), run_doctor(template, use_cache=False)
    assert cached.diagnostics == fresh_report.diagnostics
    unlisted = [(d.code, d.path) for d in cached.diagnostics if d.code == "CHK004"]
    assert unlisted == [("CHK004", f"runs/{example_run()}/artifacts/extra.bin")]


def test_a_narrowed_run_keeps_the_listings_as_they_were(template: Path) -> None:
    run_doctor(settle(template))
    before = record(template)
    assert before is not None
    with counting_listings() as listed:  # a narrowed run takes none either: it lists its own
        run_doctor(template / "datasets" / "iris" / "v1")
    assert f"{template}/datasets/iris/v1" in listed
    shutil.rmtree(template / "runs" / example_run())
    run_doctor(template / "datasets")
    run_doctor(template, since="HEAD")
    assert record(template) == before


@pytest.mark.parametrize("damage", ["flip", "cut", "foreign"])
def test_a_damaged_record_is_listed_afresh(template: Path, damage: str) -> None:
    run_doctor(settle(template))
    value = record(template)
    assert value is not None
    spoiled = {
        "flip": value[:-1] + bytes([value[-1] ^ 1]),
        "cut": value[: len(value) // 2],
        "foreign": b"not a record",
    }[damage]
    with closing(sqlite3.connect(template / CACHE_DIR / CACHE_FILE)) as db, db:
        db.execute("UPDATE record SET value = ? WHERE name = 'dir-listings'", (spoiled,))
    assert artifact_listings(template) != []  # nothing taken from it: every directory listed
    assert record(template) == value  # and the listings kept again, as they were
