"""A fork's daily commands: no clobbered files, one way to name a version, hints that help (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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


# 8. Hints never make it worse.


def test_chk005_on_a_committed_version_suggests_a_new_version(repo: Path, strata: RunCli) -> None:
    data = repo / "datasets/iris/v1/train/iris.csv"
    data.write_bytes(data.read_bytes().replace(b"5.1", b"5.2", 1))
    head = git(repo, "log", "-1", "--format=%H", "--", "datasets/iris/v1").strip()
    code, out, _ = strata("doctor", "--select", "CHK005")
    assert (code, out.splitlines()[1:3]) == (1, [
        "  train/iris.csv: error CHK005 content does not match CHECKSUMS.txt line 4"
        f" (blake3 {out.split('blake3 ')[1][:12]}…, listed {out.split('listed ')[1][:12]}…)",
        f"    hint: restore it (git checkout -- datasets/iris/v1); datasets/iris/v1 was committed in"
        f" {head[:12]} and never changes: put changed files in a new version"
        " (`strata dataset add NAME SRC`)",
    ])  # fmt: skip


def test_chk005_on_an_uncommitted_version_still_suggests_restamping(
    base_repo: Path, strata: RunCli
) -> None:
    data = base_repo / "datasets/toy/v1/train/data.csv"
    data.write_bytes(data.read_bytes() + b"9,9\n")
    code, out, _ = strata("doctor", str(base_repo), "--select", "CHK005")
    assert (code, out.splitlines()[2]) == (
        1,
        "    hint: restore it (git checkout -- datasets/toy/v1), or if the change is intended,"
        " run `strata checksum datasets/toy/v1`",
    )


def test_dataset_add_infers_numeric_column_types(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    source = tmp_path / "houses"
    for split, rows in {"train": "3,120.5,north\n4,80,south\n", "test": "2,95,\n"}.items():
        (source / split).mkdir(parents=True)
        (source / split / "houses.csv").write_text("rooms,area,zone\n" + rows, "utf-8")
    assert (
        strata(
            "dataset", "add", "houses", str(source), "--license", "CC0-1.0", "--source", "survey"
        )[0]
        == 0
    )
    metadata = yaml.safe_load((repo / "datasets/houses/v1/metadata.yaml").read_text("utf-8"))
    assert metadata["columns"] == [
        {"name": "rooms", "type": "integer"},
        {"name": "area", "type": "float"},  # 120.5 in train, 95 in test: the wider type
        {"name": "zone", "type": "string"},  # an empty cell says nothing
    ]
    assert doctor_script(repo, "--select", "SCH,DAT").returncode == 0
