"""SIGKILL every writer at 200 points: files stay whole, old or new, and doctor names what is left.

The figures appear in the "evidence" section of pytest's report; `python tests/crash.py` prints them too.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from conftest import SAMPLE_EVERY, RunCli, record_evidence, require_tool
from crashkit import ATTEMPTS, TRIALS, WRITERS, crash_all, fork_of_template

# The in-between states each writer must be caught in when killed before each file change.
STATES = {"run.py": {"claimed", "abandoned", "unsealed"}, "strata checksum": {"between"},
          "index --site": {"site only"}, "start_run": {"claimed", "abandoned", "unsealed"}}  # fmt: skip
# At least this many changes to the file system in the repository per writer (measured, rounded).
CHANGES = {"run.py": 20, "strata checksum": 4, "strata sign": 8, "strata model promote": 10,
           "index --site": 15, "start_run": 40}  # fmt: skip


def test_every_writer_killed_at_200_points_leaves_no_half_written_file(tmp_path: Path) -> None:
    require_tool("git")
    require_tool("gpg")
    trials = TRIALS // SAMPLE_EVERY  # every boundary all the same, a share of the moments
    tallies = crash_all(functools.partial(fork_of_template, tmp_path), trials=trials)
    sampled = (
        f" ({trials} kill points: STRATA_SAMPLE_EVERY={SAMPLE_EVERY})" if SAMPLE_EVERY > 1 else ""
    )
    for tally in tallies:
        record_evidence(str(tally) + ("" if tally.at_changes else sampled))
    assert [(t.writer, t.at_changes) for t in tallies] == [
        (w, at_changes) for w in WRITERS for at_changes in (True, False)
    ]
    for tally in tallies:
        assert tally.problems == [], tally
        assert (tally.half_written, tally.unexpected) == (0, 0), tally
        assert "before" in tally.states, tally
        if tally.at_changes:  # every boundary visited, each kill before the writer ended
            assert tally.killed == tally.trials >= CHANGES[tally.writer], tally
            assert STATES.get(tally.writer, set()) <= set(tally.states), tally
        else:  # every clean run between the kills ends "after", and doctor agrees
            assert tally.killed == trials <= tally.trials <= ATTEMPTS * trials, tally


def test_leftovers_at_the_top_level_are_named_as_such(template: Path) -> None:
    from strataml.doctor.engine import run_doctor

    (template / ".index.json.k2v9x0aq.tmp").write_text("{")  # an interrupted --output index.json
    (template / ".site.c8e_1mzp.tmp").mkdir()  # a site build's staging copy
    (template / ".site.c8e_1mzp.tmp" / "data.js").write_text("window.")
    report = run_doctor(template)
    assert [(d.code, d.path, d.message, d.hint) for d in report.diagnostics] == [
        ("LAY015", ".index.json.k2v9x0aq.tmp",
         "temporary file of an interrupted write of index.json; index.json itself is whole "
         "(the old or the new version)", "delete it: rm .index.json.k2v9x0aq.tmp"),
        ("LAY015", ".site.c8e_1mzp.tmp",
         "temporary copy of an interrupted write of site; site itself is whole "
         "(the old or the new version)", "delete it: rm -r .site.c8e_1mzp.tmp"),
    ]  # fmt: skip


def test_a_site_is_replaced_whole_and_a_foreign_directory_refused(
    template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(template)
    assert strata("index", "--site", "site")[0] == 0
    (template / "site" / "runs" / "run-2020-01-01-gone00.js").write_text("stale")
    (template / ".site.ab12cd34.tmp").mkdir()  # left by a build that was killed
    before = {p.name for p in (template / "site" / "runs").iterdir()}
    code, out, err = strata("index", "--site", "site")
    # index.html, app.js, app.css, 4 views, 6 vendored files, data.js, index.json, 1 shard
    assert (code, out, err) == (0, "", "site/: 17 files; open site/index.html\n")
    assert {p.name for p in (template / "site" / "runs").iterdir()} == before - {
        "run-2020-01-01-gone00.js"
    }  # nothing of the old build survives
    assert sorted(p.name for p in template.glob(".site.*")) == []  # the staging copy is gone
    mine = template / "notes"
    mine.mkdir()
    (mine / "todo.txt").write_text("mine\n")
    assert strata("index", "--site", "notes") == (
        2, "", "strata: error: --site notes: not empty and not a built site; the build replaces "
        "it whole, so choose a new or empty directory\n",
    )  # fmt: skip
    assert [p.name for p in mine.iterdir()] == ["todo.txt"]


def test_a_name_shaped_like_a_leftover_never_hides_a_file(template: Path) -> None:
    """Where LAY015 is not reported (the runner's input check selects CHK; an ignore), the file
    is what else it is: unlisted in an artifact, unknown at the top level (TFC-0001 R12)."""
    from strataml.doctor.engine import run_doctor
    from strataml.doctor.intact import findings

    smuggled = "datasets/iris/v1/.iris.csv.a1b2c3d4.tmp"
    (template / smuggled).write_text("label\n1\n")
    (template / ".notes.e5f6g7h8.tmp").write_text("x")
    whole = [(d.code, d.path) for d in run_doctor(template).diagnostics]
    assert whole == [("LAY015", ".notes.e5f6g7h8.tmp"), ("LAY015", smuggled)]
    assert [(d.code, d.path) for d in findings(template, "datasets/iris/v1")] == [
        ("CHK004", smuggled)
    ]
    ignored = run_doctor(template, ignore=("LAY015",)).diagnostics
    assert [(d.code, d.path) for d in ignored] == [
        ("LAY001", ".notes.e5f6g7h8.tmp"), ("CHK004", smuggled), ("IMM002", smuggled),
    ]  # fmt: skip
