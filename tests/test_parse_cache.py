"""The parse cache is only a cache (TFC-0008 R13): it may speed a verdict up, never change it."""

from __future__ import annotations

import marshal
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path

from conftest import commit_all, example_run, git, settle
from strataml.doctor import parsed
from strataml.doctor.engine import Report, run_doctor
from strataml.integrity.cache import CACHE_DIR, CACHE_FILE
from strataml.integrity.hashing import hash_bytes
from strataml.yamlio import parse_yaml

META = "datasets/iris/v1/metadata.yaml"


@contextmanager
def database(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path)) as db, db:
        yield db


def cache_file(repo: Path) -> Path:
    return repo / CACHE_DIR / CACHE_FILE


def verdict(report: Report) -> list[tuple[str, str, int | None, str]]:
    return [(d.code, d.path, d.line, d.message) for d in report.diagnostics]


def break_in_place(repo: Path) -> None:
    """A schema violation of the same size, with mtime restored: only ctime and the bytes move."""
    path = repo / META
    stat = path.stat()
    path.write_bytes(path.read_bytes().replace(b"schema_version: 1", b"schema_version: 9", 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size


def test_a_warm_run_parses_nothing_and_no_cache_parses_everything(template: Path) -> None:
    settle(template)
    cold = run_doctor(template)
    assert cold.documents_parsed > 0
    warm = run_doctor(template)
    assert (warm.documents_parsed, warm.diagnostics) == (0, ())
    full = run_doctor(template, use_cache=False)
    assert (full.documents_parsed, full.diagnostics) == (cold.documents_parsed, ())


def test_an_edit_in_place_within_the_racy_window_is_parsed_again(template: Path) -> None:
    settle(template)
    run_doctor(template)
    break_in_place(template)  # just now, same size and mtime: the stat key barely moved
    report = run_doctor(template)
    assert report.documents_parsed == 1  # keyed on the bytes, not on the stat key
    assert ("SCH003", META, 2) in [(d.code, d.path, d.line) for d in report.diagnostics]
    assert verdict(report) == verdict(run_doctor(template, use_cache=False))
    again = run_doctor(template)  # the broken parse now comes from the cache: the line too
    assert (again.documents_parsed, verdict(again)) == (0, verdict(report))


def _damaged(value: bytes) -> Iterator[object]:
    yield value[:-1] + bytes([value[-1] ^ 1])  # one bit of the body
    yield value[:70]  # cut short
    yield b""
    yield "text, not a blob"
    for junk in (
        b"\xffnot marshal",
        marshal.dumps(42),
        marshal.dumps((None, [("x", 1, "m")], None)),
        marshal.dumps((None, [], "lines")),
    ):
        yield hash_bytes(junk).encode() + junk  # a checksum that holds over a body that does not


def test_a_damaged_row_is_parsed_again_and_the_verdict_kept(template: Path) -> None:
    settle(template)
    cold = run_doctor(template)
    with database(cache_file(template)) as db:
        rows = db.execute("SELECT key, value FROM parsed").fetchall()
    assert len(rows) == cold.documents_parsed
    for k in range(len(list(_damaged(rows[0][1])))):
        with database(cache_file(template)) as db:
            for key, value in rows:
                db.execute(
                    "UPDATE parsed SET value = ? WHERE key = ?", (list(_damaged(value))[k], key)
                )
            db.execute("DELETE FROM verdict")  # the whole tree's verdict would answer first
        report = run_doctor(template)
        assert (report.documents_parsed, report.diagnostics) == (cold.documents_parsed, ())
        with database(cache_file(template)) as db:
            db.execute("DELETE FROM verdict")
        assert run_doctor(template).documents_parsed == 0  # rewritten, and trusted again


def _poison(repo: Path, lie: Callable[[bytes], bytes]) -> None:
    """Store, under the digest of the file's bytes, the parse of other bytes that are valid."""
    raw = (repo / META).read_bytes()
    document = parse_yaml(lie(raw))
    value = parsed.pack(document, parsed.find_secrets(document))
    with database(cache_file(repo)) as db:
        db.execute(
            "INSERT OR REPLACE INTO parsed VALUES (?, ?)", (parsed.key(hash_bytes(raw)), value)
        )


def test_a_poisoned_row_misleads_only_until_no_cache(template: Path) -> None:
    settle(template)
    run_doctor(template)
    break_in_place(template)
    honest = verdict(run_doctor(template, use_cache=False))
    _poison(template, lambda raw: raw.replace(b"schema_version: 9", b"schema_version: 1"))
    lied = verdict(run_doctor(template))
    assert "SCH003" in [c for c, *_ in honest] and "SCH003" not in [c for c, *_ in lied]
    assert verdict(run_doctor(template, use_cache=False)) == honest  # --no-cache rewrote it
    assert verdict(run_doctor(template)) == honest


def test_a_cache_shipped_in_the_repository_is_not_used(template: Path) -> None:
    settle(template)
    run_doctor(template)
    break_in_place(template)
    honest = verdict(run_doctor(template, use_cache=False))
    _poison(template, lambda raw: raw.replace(b"schema_version: 9", b"schema_version: 1"))
    git(template, "add", "-f", "--", ".strata")  # a pull request that commits its own cache
    commit_all(template, "a cache of our own")
    report = run_doctor(template)
    codes = {d.code for d in report.diagnostics}
    assert "LAY017" in codes
    # Committing the change adds IMM findings; every other finding is the honest one.
    assert [v for v in verdict(report) if not v[0].startswith(("LAY017", "IMM"))] == [
        v for v in honest if not v[0].startswith("IMM")
    ]
    assert report.documents_parsed > 0


def test_a_line_is_not_taken_from_bytes_that_were_not_parsed(template: Path) -> None:
    settle(template)
    break_in_place(template)
    run_doctor(template)
    document = parse_yaml((template / META).read_bytes())
    assert document.lines is None and document.line_of(("schema_version",)) == 2
    gone = parse_yaml((template / META).read_bytes())
    gone = replace(gone, source=None, reread=lambda: None)  # the file changed since
    assert gone.line_of(("schema_version",)) is None


def test_credentials_found_from_the_cache_are_those_found_by_parsing(template: Path) -> None:
    config = template / "runs" / example_run() / "config.yaml"
    text = config.read_text()
    config.write_text(text.replace("\n", "\nnote: postgres://me:hunter2@db.example.org/x\n", 1))
    settle(template)
    cold = run_doctor(template)
    assert "RUN015" in [d.code for d in cold.diagnostics]
    warm = run_doctor(template)
    assert (warm.documents_parsed, verdict(warm)) == (0, verdict(cold))
    assert verdict(run_doctor(template, use_cache=False)) == verdict(cold)
