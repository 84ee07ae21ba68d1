"""History checks judge every commit against each of its parents, merges included (TFC-0004 R8,
TFC-0005 R8): real Git repositories, real merges, doctor run in a fresh clone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import doctor_script, git
from strataml.doctor.checks.stagehistory import lost_entry
from strataml.integrity.stamp import stamp_directory

STAGES = "models/iris-classifier/stages.yaml"
DATASET = "datasets/iris/v1"
IMM_HINT = (
    "    hint: a committed version never changes: revert that commit's change to it and "
    "publish the new content as a new version"
)
STG_HINT = (
    "    hint: history is append-only; restore the earlier entries and add new ones at the end"
)
CLEAN_6 = "OK (strict): 0 errors, 0 warnings, 0 info; 6 artifacts checked, 31 files hashed"
FAILED_6 = "FAILED (strict): 1 error, 0 warnings, 0 info; 6 artifacts checked, 31 files hashed"
DEMOTION = """\
- version: v1
  from: production
  to: archived
  at: '2026-11-26T09:00:00+00:00'
  by: Security <security@strataml.invalid>
  reason: withdrawn after a security review
"""
STAGING_V2 = """\
- version: v2
  from: experimental
  to: staging
  at: '2026-11-26T10:00:00+00:00'
  by: Strata Test <test@strataml.invalid>
  reason: candidate for the next release
"""


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-edit", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def edit(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    text = target.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(repo: Path, path: str, text: str) -> None:
    with (repo / path).open("a", encoding="utf-8") as handle:
        handle.write(text)


def side_branch(repo: Path, name: str, path: str, text: str) -> str:
    """A branch off main with one commit that appends `text` to `path`; main stays checked out."""
    git(repo, "checkout", "-q", "-b", name, "main")
    append(repo, path, text)
    sha = commit(repo, f"{name}: edit {path}")
    git(repo, "checkout", "-q", "main")
    return sha


def move_main(repo: Path) -> None:
    """main moves on too, so that merging is a real merge, not a fast-forward."""
    readme = repo / "README.md"
    readme.write_text("<!-- fork notes -->\n" + readme.read_text(encoding="utf-8"), "utf-8")
    commit(repo, "main: a note at the top of the README")


def tamper_datasheet(repo: Path) -> None:
    """What a hostile merge resolution does: a committed dataset's datasheet edited and re-listed."""
    target = repo / DATASET / "datasheet.md"
    data = bytearray(target.read_bytes())
    data[-2] ^= 0x01
    target.write_bytes(bytes(data))
    stamp_directory(repo / DATASET)


def introduced(repo: Path, path: str) -> str:
    return git(repo, "rev-list", "--reverse", "HEAD", "--", path).split()[0]


def demote(repo: Path) -> None:
    edit(repo, STAGES, "production: v1", "production: null")
    edit(repo, STAGES, "archived: []", "archived: [v1]")
    append(repo, STAGES, DEMOTION)


def add_v2(repo: Path) -> None:
    """A second, unsigned, experimental model version, committed on the current branch."""
    source, target = repo / "models/iris-classifier/v1", repo / "models/iris-classifier/v2"
    target.mkdir()
    for item in source.iterdir():
        if item.name != "SIGNATURE.asc":
            (target / item.name).write_bytes(item.read_bytes())
    edit(repo, "models/iris-classifier/v2/metadata.yaml", "version: v1", "version: v2")
    stamp_directory(target)
    commit(repo, "models/iris-classifier/v2")


def doctor_in_clone(repo: Path, tmp_path: Path, *, runs: int = 1) -> tuple[int, str]:
    """`doctor --strict` where CI runs it: in a fresh clone (the same answer on every run)."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    done = [doctor_script(clone, "--strict") for _ in range(runs)]
    assert {(d.returncode, d.stdout) for d in done} == {(done[0].returncode, done[0].stdout)}
    return done[0].returncode, done[0].stdout


def imm001(path: str, by: str, first: str) -> list[str]:
    return [
        DATASET,
        f"  {path}: error IMM001 modified by {by}, after {DATASET} was committed in {first[:12]}",
        IMM_HINT,
        "",
        FAILED_6,
    ]


def stg006(where: str, entry: int) -> list[str]:
    return [
        "models/iris-classifier",
        f"  stages.yaml: error STG006 history rewritten in {where}: entry {entry} of the earlier "
        "history was changed or removed",
        STG_HINT,
        "",
        FAILED_6,
    ]


# --- immutability -------------------------------------------------------------------------------


@pytest.mark.hostile_pr("merge-history")
def test_a_merge_that_edits_a_committed_version_is_named(template: Path, tmp_path: Path) -> None:
    side_branch(template, "side", ".gitignore", "# side\n")
    move_main(template)
    git(template, "merge", "-q", "--no-ff", "--no-commit", "side")
    tamper_datasheet(template)
    merge = commit(template, "Merge branch 'side'")
    assert len(git(template, "rev-parse", f"{merge}^@").split()) == 2

    code, out = doctor_in_clone(template, tmp_path, runs=2)  # the second run reads the cache

    first = introduced(template, DATASET)
    assert (code, out.splitlines()) == (
        1,
        imm001("CHECKSUMS.txt", f"merge commit {merge[:12]}", first),
    )


@pytest.mark.hostile_pr("merge-history")
def test_an_octopus_merge_that_edits_a_committed_version_is_named(
    template: Path, tmp_path: Path
) -> None:
    side_branch(template, "one", ".gitignore", "# one\n")
    side_branch(template, "two", "README.md", "\nTwo.\n")
    move_main(template)
    git(template, "merge", "-q", "--no-ff", "--no-commit", "one", "two")
    tamper_datasheet(template)
    merge = commit(template, "Merge branches 'one' and 'two'")
    assert len(git(template, "rev-parse", f"{merge}^@").split()) == 3

    code, out = doctor_in_clone(template, tmp_path)

    first = introduced(template, DATASET)
    assert (code, out.splitlines()) == (
        1,
        imm001("CHECKSUMS.txt", f"merge commit {merge[:12]}", first),
    )


@pytest.mark.parametrize("octopus", [False, True])
def test_a_merge_that_brings_in_a_new_version_is_clean(
    template: Path, tmp_path: Path, octopus: bool
) -> None:
    git(template, "checkout", "-q", "-b", "side")
    add_v2(template)  # new against main, committed unchanged on side
    git(template, "checkout", "-q", "main")
    others = [side_branch(template, "docs", ".gitignore", "# docs\n")] if octopus else []
    move_main(template)
    git(template, "merge", "-q", "--no-ff", "--no-edit", "side", *(["docs"] if others else []))
    assert len(git(template, "rev-parse", "HEAD^@").split()) == (3 if octopus else 2)

    code, out = doctor_in_clone(template, tmp_path)

    assert (code, out.splitlines()) == (
        0,
        ["OK (strict): 0 errors, 0 warnings, 0 info; 7 artifacts checked, 35 files hashed"],
    )


def test_a_linear_edit_is_named_as_before(template: Path, tmp_path: Path) -> None:
    tamper_datasheet(template)
    sha = commit(template, "an ordinary commit edits the datasheet")

    code, out = doctor_in_clone(template, tmp_path)

    first = introduced(template, DATASET)
    assert (code, out.splitlines()) == (1, imm001("CHECKSUMS.txt", f"commit {sha[:12]}", first))


# --- stage history ------------------------------------------------------------------------------


@pytest.mark.hostile_pr("merge-history")
def test_a_merge_taking_the_stale_stages_drops_a_demotion(template: Path, tmp_path: Path) -> None:
    git(template, "checkout", "-q", "-b", "security")
    demote(template)
    commit(template, "security: withdraw v1")
    git(template, "checkout", "-q", "main")
    move_main(template)
    git(template, "merge", "-q", "--no-ff", "--no-commit", "security")
    git(template, "checkout", "HEAD", "--", STAGES)  # the stale side: no demotion
    merge = commit(template, "Merge branch 'security'")

    code, out = doctor_in_clone(template, tmp_path, runs=2)

    assert (code, out.splitlines()) == (1, stg006(f"merge commit {merge[:12]}", 2))


@pytest.mark.hostile_pr("merge-history")
def test_an_octopus_merge_taking_the_stale_stages_is_named(template: Path, tmp_path: Path) -> None:
    git(template, "checkout", "-q", "-b", "security")
    demote(template)
    commit(template, "security: withdraw v1")
    side_branch(template, "docs", ".gitignore", "# docs\n")
    move_main(template)
    git(template, "merge", "-q", "--no-ff", "--no-commit", "docs", "security")
    git(template, "checkout", "HEAD", "--", STAGES)
    merge = commit(template, "Merge branches 'docs' and 'security'")
    assert len(git(template, "rev-parse", f"{merge}^@").split()) == 3

    code, out = doctor_in_clone(template, tmp_path)

    assert (code, out.splitlines()) == (1, stg006(f"merge commit {merge[:12]}", 2))


@pytest.mark.parametrize("order", ["demotion first", "staging first"])
def test_a_merge_keeping_both_sides_appended_entries_is_clean(
    template: Path, tmp_path: Path, order: str
) -> None:
    add_v2(template)
    git(template, "checkout", "-q", "-b", "security")
    demote(template)
    commit(template, "security: withdraw v1")
    git(template, "checkout", "-q", "main")
    base = (template / STAGES).read_text(encoding="utf-8")
    edit(template, STAGES, "staging: null", "staging: v2")
    append(template, STAGES, STAGING_V2)
    commit(template, "v2 to staging")
    done = git_merge(template, "security")
    assert done != 0  # both sides appended at the end of the file: Git cannot merge them alone
    entries = [DEMOTION, STAGING_V2] if order == "demotion first" else [STAGING_V2, DEMOTION]
    merged = base.replace("production: v1", "production: null").replace(
        "staging: null", "staging: v2"
    )
    merged = merged.replace("archived: []", "archived: [v1]") + "".join(entries)
    (template / STAGES).write_text(merged, encoding="utf-8")
    commit(template, "Merge branch 'security'")

    code, out = doctor_in_clone(template, tmp_path)

    assert (code, out.splitlines()) == (
        0,
        ["OK (strict): 0 errors, 0 warnings, 0 info; 7 artifacts checked, 35 files hashed"],
    )


def git_merge(repo: Path, *branches: str) -> int:
    """`git merge --no-commit`, which may stop at a conflict (exit 1) for the test to resolve."""
    return subprocess.run(
        ["git", "merge", "-q", "--no-ff", "--no-commit", *branches],
        cwd=repo, capture_output=True, check=False,
    ).returncode  # fmt: skip


def test_fast_forward_and_rebased_histories_are_clean(template: Path, tmp_path: Path) -> None:
    start = git(template, "rev-parse", "HEAD").strip()  # the template's own history may merge
    git(template, "checkout", "-q", "-b", "security")
    demote(template)
    commit(template, "security: withdraw v1")
    git(template, "checkout", "-q", "main")
    move_main(template)
    git(template, "checkout", "-q", "security")
    git(template, "rebase", "-q", "main")  # rebase-style: a linear history
    git(template, "checkout", "-q", "main")
    git(template, "merge", "-q", "--ff-only", "security")
    assert git(template, "rev-list", "--merges", f"{start}..HEAD") == ""

    code, out = doctor_in_clone(template, tmp_path)

    assert (code, out.splitlines()) == (0, [CLEAN_6])


def test_a_linear_rewrite_of_stage_history_is_named_as_before(
    template: Path, tmp_path: Path
) -> None:
    edit(template, STAGES, "First model of the example", "The first model of the example")
    sha = commit(template, "a committed history entry reworded")

    code, out = doctor_in_clone(template, tmp_path)

    assert (code, out.splitlines()) == (1, stg006(f"commit {sha[:12]}", 1))


# --- the rule itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "parents", "lost"),
    [
        (["a", "b"], [["a"]], None),  # appended
        (["a"], [["a"]], None),
        (["b"], [["a"]], 0),  # changed
        ([], [["a"]], 0),  # emptied (or the file deleted)
        (["a", "c", "b"], [["a", "b"]], 1),  # inserted before an entry
        (["a", "b", "c"], [["a", "b"], ["a", "c"]], None),  # both sides kept
        (["a", "c", "b"], [["a", "b"], ["a", "c"]], None),  # either order
        (["a", "c", "b", "d"], [["a", "b"], ["a", "c"]], None),  # then the merge's own
        (["a", "b"], [["a", "b"], ["a", "c"]], 1),  # one side dropped: its entry 2
        (["a", "d", "b", "c"], [["a", "b"], ["a", "c"]], 1),  # a new entry before theirs
        (["a", "c", "b"], [["a", "b", "c"]], 1),  # reordered
        (["b", "a", "c"], [["a", "b"], ["a", "c"]], 0),  # the shared start moved
        (["a", "b", "c"], [["a", "b"], ["a", "b"], ["a", "c"]], None),  # octopus
        (["a", "b"], [["a", "b"], ["a"], ["a", "c"]], 1),  # octopus, one side dropped
        (["a", "x"], [["a", "x"], ["a", "x"]], None),  # the same entry on both sides: once
        (["a"], [[], ["a"]], None),  # a side that had no file yet
    ],
)
def test_lost_entry(history: list[str], parents: list[list[str]], lost: int | None) -> None:
    assert lost_entry(history, parents) == lost
