"""Run records kept between commands are only a cache (TFC-0008 R13): a listing read through it
is the listing read from the files, whatever happened to them or to the cache."""

from __future__ import annotations

import json
import marshal
import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from conftest import commit_all, git, settle, without_pipeline_runs
from strataml.index.catalogue import build_index
from strataml.integrity.cache import CACHE_DIR, CACHE_FILE
from strataml.integrity.hashing import hash_bytes
from strataml.registry.runcache import light
from strataml.registry.runlist import ListRow, format_list, list_rows
from strataml.registry.runrecord import RunRecord, load_run
from strataml.registry.runs import load_runs, run_ids

RUN = "runs/run-2026-11-25-sunrtb"


@pytest.fixture
def template(template: Path) -> Path:
    """The template with its one example run: the cache's cases need no pipeline."""
    return without_pipeline_runs(template)


Reading = tuple[str, object, object, object, bool, tuple[str, ...], bool]


def readings(records: list[RunRecord]) -> list[Reading]:
    return [
        (r.run_id, r.config, r.system, r.metrics, r.sealed, r.problems, r.whole) for r in records
    ]


def fresh(repo: Path) -> list[Reading]:
    """What the files say, read without the cache, in load_runs' order: whole, then as listed."""
    records = sorted(
        (load_run(repo, i) for i in run_ids(repo)), key=lambda r: (r.created, r.run_id)
    )
    return readings(records) + readings([light(r) for r in records])


def listed(repo: Path) -> list[Reading]:
    """The same read through the cache."""
    return readings(load_runs(repo, whole=True)) + readings(load_runs(repo))


def listed_records(repo: Path) -> list[RunRecord]:
    return [*load_runs(repo, whole=True), *load_runs(repo)]


def rows(repo: Path) -> list[tuple[str, str, bytes]]:
    with closing(sqlite3.connect(repo / CACHE_DIR / CACHE_FILE)) as db:
        return list(db.execute("SELECT name, key, value FROM record"))


def edit_in_place(path: Path, old: bytes, new: bytes) -> None:
    """Same size, mtime restored: only ctime and the bytes move."""
    st = path.stat()
    data = path.read_bytes()
    assert len(old) == len(new) and old in data
    path.write_bytes(data.replace(old, new, 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_second_listing_comes_from_the_cache_and_matches_the_files(template: Path) -> None:
    settle(template)
    assert listed(template) == fresh(template)
    run_id = RUN.split("/")[1]
    assert sorted(name for name, _, _ in rows(template)) == [f"run:{run_id}", f"runhead:{run_id}"]
    assert listed(template) == fresh(template)
    # the listing leaves out the package list and the histories, and says so
    whole, shown = load_runs(template, whole=True)[0], load_runs(template)[0]
    assert "packages" in whole.system and "history" in whole.metrics
    assert shown.system == {k: v for k, v in whole.system.items() if k != "packages"}
    assert shown.metrics == {k: v for k, v in whole.metrics.items() if k != "history"}
    assert shown.summary() == whole.summary()
    with pytest.raises(ValueError, match="read for a listing"):
        shown.document()


@pytest.mark.parametrize("name", ["config.yaml", "system.json", "metrics.json"])
def test_an_edit_in_place_is_read_again(template: Path, name: str) -> None:
    settle(template)
    listed(template)
    path = template / RUN / name
    text = path.read_bytes()
    old = b'"schema_version": 1' if name.endswith(".json") else b"schema_version: 1"
    assert old in text
    edit_in_place(path, old, old.replace(b"1", b"7"))
    assert listed(template) == fresh(template)
    assert (load_runs(template)[0].config if name == "config.yaml" else
            getattr(load_runs(template)[0], name.split(".")[0]))["schema_version"] == 7  # fmt: skip


def test_a_file_that_appears_or_goes_is_seen(template: Path) -> None:
    settle(template)
    listed(template)
    (template / RUN / "CHECKSUMS.txt").unlink()  # no longer sealed
    assert [r.sealed for r in load_runs(template)] == [False]
    settle(template)
    listed(template)
    (template / RUN / "reproduction.json").write_text(json.dumps({"x": 1}))
    assert listed(template) == fresh(template)


def test_a_damaged_row_is_read_again(template: Path) -> None:
    settle(template)
    listed(template)
    shapes = [marshal.dumps(42), marshal.dumps((1, 2, 3, 4, 5, 6)), b"\xffnot marshal"]
    forged = [hash_bytes(body).encode() + body for body in shapes]  # checksums that hold
    for damage in (b"", b"0" * 64 + b"junk", None, *forged):
        with closing(sqlite3.connect(template / CACHE_DIR / CACHE_FILE)) as db, db:
            if damage is None:
                db.execute("UPDATE record SET value = 'text, not a blob'")
            else:
                db.execute("UPDATE record SET value = ?", (damage,))
        assert listed(template) == fresh(template)


def test_a_cache_shipped_in_the_repository_is_not_used(template: Path) -> None:
    settle(template)
    listed(template)
    shipped = rows(template)
    git(template, "add", "-f", "--", ".strata")  # a pull request that commits its own cache
    commit_all(template, "a cache of our own")
    edit_in_place(template / RUN / "metrics.json", b'"schema_version": 1', b'"schema_version": 7')
    with closing(sqlite3.connect(template / CACHE_DIR / CACHE_FILE)) as db, db:
        # the shipped row claims the edited file's stat key for the old reading
        stat = (template / RUN / "metrics.json").stat()
        for name, key, _ in shipped:
            parts = key.split(";")
            parts[3] = (f"metrics.json:{stat.st_mode}:{stat.st_size}:{stat.st_mtime_ns}:"
                        f"{stat.st_ctime_ns}:{stat.st_ino}")  # fmt: skip
            db.execute("UPDATE record SET key = ? WHERE name = ?", (";".join(parts), name))
    assert [r.metrics["schema_version"] for r in listed_records(template)] == [7, 7]


# --- the catalogue's run entries, kept the same way ---------------------------------------------


def fresh_index(repo: Path, scratch: Path) -> dict[str, object]:
    """The catalogue of a copy of `repo` that has no cache: every entry derived from the files."""
    copy = scratch / "fresh"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(repo, copy, symlinks=True, ignore=shutil.ignore_patterns(CACHE_DIR))
    return build_index(copy)


def test_the_catalogue_keeps_each_run_entry_and_reads_the_files_as_they_are(
    template: Path, tmp_path: Path
) -> None:
    run_id = RUN.split("/")[1]
    settle(template)
    first = build_index(template)
    assert f"runindex:{run_id}" in [name for name, _, _ in rows(template)]
    assert build_index(template) == first == fresh_index(template, tmp_path)
    assert first["runs"][0]["history"]["train/loss"][1] == [1, 0.73617702057881]  # type: ignore[index]
    # an edit in place of one history point: same size, mtime restored
    path = template / RUN / "metrics.json"
    edit_in_place(path, b'"value": 0.73617702057881}', b'"value": 0.73617702057882}')
    edited = build_index(template)
    assert edited["runs"][0]["history"]["train/loss"][1] == [1, 0.73617702057882]  # type: ignore[index]
    assert edited == fresh_index(template, tmp_path)
    # rows that do not hold an entry (forged with checksums that hold, or damaged) are derived again
    settle(template)
    build_index(template)
    shapes = [marshal.dumps(42), marshal.dumps([1, 2, 3]), marshal.dumps([{}, 5]), b"\xffjunk"]
    for damage in [hash_bytes(body).encode() + body for body in shapes] + [b"", b"0" * 64]:
        with closing(sqlite3.connect(template / CACHE_DIR / CACHE_FILE)) as db, db:
            db.execute("UPDATE record SET value = ? WHERE name LIKE 'runindex:%'", (damage,))
        assert build_index(template) == edited


# --- `strata runs list`'s rows, kept whole as well as run by run ---------------------------------


def listing(repo: Path) -> str:
    return format_list(list_rows(repo))


def fresh_listing(repo: Path) -> str:
    """The table read from the files alone, as without any cache."""
    found = (ListRow.of(load_run(repo, i)) for i in run_ids(repo))
    return format_list(sorted(found, key=lambda r: (r.created, r.run_id)))


def whole_listing(repo: Path) -> list[tuple[str, str, bytes]]:
    return [row for row in rows(repo) if row[0] == "runlist*:"]


def forge_whole_listing(repo: Path, status: str) -> None:
    """Rows that hold, under the key the whole listing has now, saying every run has `status`."""
    [(name, _, value)] = whole_listing(repo)
    kept = marshal.loads(value[64:])
    for row in kept:
        row[2], row[4][2] = status, status
    body = marshal.dumps(kept)
    with closing(sqlite3.connect(repo / CACHE_DIR / CACHE_FILE)) as db, db:
        db.execute(
            "UPDATE record SET value = ? WHERE name = ?", (hash_bytes(body).encode() + body, name)
        )


def test_the_whole_listing_is_kept_and_read_again_when_a_run_changes(template: Path) -> None:
    shown = fresh_listing(template)
    assert "succeeded" in shown
    assert listing(template) == shown
    assert whole_listing(template) == []  # the files are younger than the racy window
    settle(template)
    assert listing(template) == shown
    assert len(whole_listing(template)) == 1
    assert listing(template) == shown  # from the whole listing
    # an edit in place of a final metric: same size, mtime restored
    edit_in_place(template / RUN / "metrics.json", b'"val/accuracy": 0.9', b'"val/accuracy": 0.8')
    edited = listing(template)
    assert edited == fresh_listing(template) != shown
    # a new run, and a run gone
    shutil.copytree(template / RUN, template / "runs/run-2026-11-26-second")
    assert listing(template) == fresh_listing(template) != edited
    shutil.rmtree(template / "runs/run-2026-11-26-second")
    assert listing(template) == edited


def _reshaped(row: list[Any], at: int, inner: object, value: object) -> None:
    """Put `value` in place of the row's item `at` (of its item `inner` where not None)."""
    target: Any = row if inner is None else row[at]
    key: Any = at if inner is None else inner
    if key == "first key":  # a number's name
        name = next(iter(target))
        target[value] = target.pop(name)
    else:
        target[key] = value


@pytest.mark.parametrize(
    ("at", "inner", "value"),
    [
        (0, None, 20261125),  # created, not text
        (1, None, 7),  # experiment
        (2, None, None),  # state
        (4, None, ["only", "five", "cells", "of", "six"]),
        (4, 3, 2026),  # a cell that is not text
        (5, None, [["val/accuracy", 0.9]]),  # numbers, not a mapping
        (5, "val/accuracy", 1),  # a number that is not a float
        (5, "first key", 3),  # a number's name that is not text
        (6, None, ("val/accuracy",)),  # reported names, not a list
        (6, 0, b"val/accuracy"),  # a reported name that is not text
    ],
)
def test_a_kept_row_of_another_shape_is_derived_again(
    template: Path, at: int, inner: object, value: object
) -> None:
    """Rows sealed as the cache seals them, each off in one item: that row is read afresh."""
    settle(template)
    listing(template)
    shown = listing(template)
    [(name, _, kept_value)] = whole_listing(template)
    kept = marshal.loads(kept_value[64:])
    _reshaped(kept[0], at, inner, value)
    body = marshal.dumps(kept)
    with closing(sqlite3.connect(template / CACHE_DIR / CACHE_FILE)) as db, db:
        db.execute(
            "UPDATE record SET value = ? WHERE name = ?", (hash_bytes(body).encode() + body, name)
        )
    assert listing(template) == shown == fresh_listing(template)


def test_a_damaged_or_foreign_whole_listing_is_not_read(template: Path, tmp_path: Path) -> None:
    settle(template)
    listing(template)
    shown = listing(template)
    # rows of another shape, with checksums that hold, or damaged: derived again
    shapes = [marshal.dumps(42), marshal.dumps([]), marshal.dumps([[1], [2]]), b"\xffjunk"]
    for damage in [hash_bytes(body).encode() + body for body in shapes] + [b"", b"0" * 64]:
        with closing(sqlite3.connect(template / CACHE_DIR / CACHE_FILE)) as db, db:
            db.execute("UPDATE record SET value = ? WHERE name = 'runlist*:'", (damage,))
        assert listing(template) == shown
    # a cache filled elsewhere (another checkout's, restored into a fresh clone), its whole
    # listing forged to say every run failed: the clone's files have other stat keys
    settle(template)
    listing(template)
    forge_whole_listing(template, "failed")
    assert "failed" in listing(template)  # a forgery that would be read where it was made
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(template), str(clone))
    shutil.copytree(template / CACHE_DIR, clone / CACHE_DIR)
    settle(clone)
    assert listing(clone) == fresh_listing(clone) == shown
    assert "failed" not in listing(clone)
    # committed with the repository: not used at all
    git(template, "add", "-f", "--", ".strata")
    commit_all(template, "a cache of our own")
    forge_whole_listing(template, "failed")
    assert listing(template) == shown
