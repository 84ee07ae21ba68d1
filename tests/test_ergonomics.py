"""A fork's daily commands: no clobbered files, one way to name a version, hints that help (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import RunCli, doctor_script, git


@pytest.fixture
def repo(template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(template)
    return template


# 5. Outputs never clobber.


@pytest.mark.parametrize(
    "command",
    [
        ("export", "hf-card", "models/iris-classifier@v1"),
        ("export", "croissant", "datasets/iris@v1"),
        ("index",),
        ("bundle", "create", "main"),
    ],
)
def test_an_existing_output_is_refused_without_force(
    repo: Path, strata: RunCli, command: tuple[str, ...]
) -> None:
    readme = (repo / "README.md").read_bytes()
    assert strata(*command, "--output", "README.md") == (
        2, "", "strata: error: README.md exists; give --force to overwrite it\n",
    )  # fmt: skip
    assert (repo / "README.md").read_bytes() == readme
    assert strata(*command, "--output", "README.md", "--force")[0] == 0
    assert (repo / "README.md").read_bytes() != readme


def test_an_output_in_a_missing_directory_is_one_line(repo: Path, strata: RunCli) -> None:
    assert strata("export", "croissant", "datasets/iris@v1", "-o", "nowhere/c.json") == (
        2, "", "strata: error: nowhere: no such directory\n",
    )  # fmt: skip


def test_outputs_where_the_readme_puts_them_keep_doctor_strict_green(
    repo: Path, strata: RunCli
) -> None:
    (repo / "out").mkdir()
    assert strata("export", "hf-card", "models/iris-classifier@v1", "-o", "out/README.md")[0] == 0
    assert strata("export", "croissant", "datasets/iris@v1", "-o", "out/croissant.json")[0] == 0
    assert strata("index", "--output", "out/index.json")[0] == 0
    assert strata("bundle", "create", "main", "-o", "out/work.bundle")[0] == 0
    assert git(repo, "status", "--porcelain") == ""
    assert doctor_script(repo, "--strict").returncode == 0


def test_lay001_names_the_place_for_outputs(repo: Path, strata: RunCli) -> None:
    assert strata("export", "croissant", "datasets/iris@v1", "-o", "croissant.json")[0] == 0
    code, out, _ = strata("doctor", "--strict", "--select", "LAY001")
    assert (code, out.splitlines()[:3]) == (1, [
        "repository",
        "  croissant.json: warning LAY001 croissant.json is not part of the repository layout",
        "    hint: write generated files under out/ (ignored by Git) or outside the repository;"
        " if croissant.json belongs here, add it to allow-top-level in [tool.strataml.doctor]",
    ])  # fmt: skip
