"""The README is executable truth: every command block runs as written on a fresh clone, in order,
as a reader following it would, and prints what the README shows (tests/readme.py says how)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, git, require_tool
from readme import Block, command_blocks, matches, run_block, transcript

README = (REPO / "README.md").read_text(encoding="utf-8")
SETUP = "Set-up"  # the section whose two commands .ci/run runs itself, on this very machine
# Blocks the suite cannot run in a few seconds, each with why; the test below proves the list
# names exactly blocks that exist, so it cannot grow silently.
NOT_RUN_HERE = {
    "python benchmarks/perf.py": "the benchmarks take minutes and GiBs of disk; their --help runs",
}


def section_of(block: Block) -> str:
    heading = ""
    for line in README.splitlines()[: block.line]:
        if line.startswith("## "):
            heading = line[3:].strip()
    return heading


def fresh_clone(tmp_path: Path) -> Path:
    """A clone of this repository holding its working tree as a commit: what a fork starts from."""
    clone = tmp_path / "fork"
    git(tmp_path, "clone", "-q", "--shared", str(REPO), str(clone))
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    git(clone, "rm", "-q", "-r", "--cached", ".")
    for name in filter(None, listed.split("\0")):
        source, target = REPO / name, clone / name
        if source.is_file() and not source.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
        elif source.is_symlink():
            target.unlink(missing_ok=True)
            target.symlink_to(source.readlink())
    for name in filter(None, git(clone, "ls-files", "-z", "--others").split("\0")):
        if not (REPO / name).exists() and not (REPO / name).is_symlink():
            (clone / name).unlink()  # deleted in the working tree, not yet committed
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "--allow-empty", "-m", "the working tree")
    return clone


def reader_env() -> dict[str, str]:
    """The reader's shell: this interpreter's `python` and `strata` first on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path}


def test_every_command_block_runs_as_written_and_prints_what_the_readme_shows(
    tmp_path: Path,
) -> None:
    for tool in ("git", "b3sum", "gpg"):
        require_tool(tool)
    clone = fresh_clone(tmp_path)
    env = reader_env()
    problems, ran = [], 0
    for block in command_blocks(README):
        if section_of(block) == SETUP or block.text.splitlines()[0].split("  ")[0] in NOT_RUN_HERE:
            continue
        for outcome in run_block(block, clone, env):
            ran += 1
            if outcome.problem:
                problems.append(
                    f"{block.where}: {outcome.command!r}: {outcome.problem}\n{outcome.printed}"
                )
    assert "\n".join(problems) == ""
    assert ran >= 20  # the tour, the first week and the rest: not a README that lost its blocks


def test_the_setup_commands_are_what_ci_runs() -> None:
    setup = [b for b in command_blocks(README) if section_of(b) == SETUP]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert [b.text for b in setup] == [
        "python -m pip install -e . && python tools/doctor.py --strict",
        "python -m pip install -e '.[test]' && python -m pytest",
    ]
    for block in setup:
        assert block.text in ci, f"{block.where}: .ci/run does not run it as written"


def test_the_blocks_not_run_here_exist_and_their_scripts_answer_help() -> None:
    firsts = {b.text.splitlines()[0].split("  ")[0] for b in command_blocks(README)}
    assert set(NOT_RUN_HERE) <= firsts
    for script in ("benchmarks/perf.py", "benchmarks/dashboard.py"):
        done = subprocess.run(
            [sys.executable, script, "--help"], cwd=REPO, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert (done.returncode, done.stdout.startswith("usage: ")) == (0, True), done.stderr


@pytest.mark.parametrize(
    ("expected", "printed", "fits"),
    [
        (("a", "b"), ["a", "b"], True),
        (("a", "b"), ["a", "c"], False),
        (("a",), ["a", "b"], False),  # an extra line is drift too
        (("…any lines…", "end"), ["x", "y", "end"], True),
        (("…any lines…", "end"), ["end"], True),
        (("…any lines…", "end"), ["x"], False),
        (("took …, done",), ["took 12 ms, done"], True),
        (("took …, done",), ["took 12 ms, gone"], False),
        (("[strata] run-2026-11-24-k7q2xm in 1.9 s",), ["[strata] run-2031-01-02-a0b1c2 in 17 s"],
         True),
        (("5 files",), ["6 files"], False),
        (("…", "verdict: PASS"), ["a", "b", "verdict: PASS"], True),
        (("…", "verdict: PASS"), ["verdict: FAIL"], False),
    ],
)  # fmt: skip
def test_a_transcript_fits_only_what_it_shows(
    expected: tuple[str, ...], printed: list[str], fits: bool
) -> None:
    assert matches(expected, printed) is fits


def test_a_transcript_splits_into_commands_and_their_output() -> None:
    block = Block("console", 1, "$ one\nout 1\n\n$ two\n$ three\nout 3")
    assert [(s.command, s.expected) for s in transcript(block)] == [
        ("one", ("out 1", "")), ("two", ()), ("three", ("out 3",)),
    ]  # fmt: skip
