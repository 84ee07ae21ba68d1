"""Lineage graphs of any length are walked without recursion (TFC-0005 R5, EXAMPLES E7): a chain
of 10,000 dataset versions, closed into a cycle, is one LIN003 finding, never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import EXAMPLES, commit_all, doctor_script, installed_script, require_tool
from strataml.doctor.checks.lineage import _cycles

LINKS = 10_000
LINES = LINKS - 1  # `strata lineage` of the last version: one line per link


def chain(repo: Path, links: int, *, closed: bool) -> None:
    """datasets/chain/v1 … v<links>, each derived from the one before (v1 from the last when
    `closed`): metadata alone, so that doctor has a finding per version besides the lineage."""
    (repo / "pyproject.toml").write_bytes((EXAMPLES / "base" / "pyproject.toml").read_bytes())
    for number in range(1, links + 1):
        directory = repo / "datasets" / "chain" / f"v{number}"
        directory.mkdir(parents=True)
        parent = links if number == 1 else number - 1
        derived = (
            f"\n  derived_from:\n    - datasets/chain@v{parent}" if closed or number > 1 else ""
        )
        (directory / "metadata.yaml").write_text(
            f"schema_version: 1\nname: chain\nversion: v{number}\ndescription: One link.\n"
            f"license: CC0-1.0\ncreated: 2026-11-24\nprovenance:{derived or ' {}'}\n"
            "splits:\n  train:\n    path: train\n    files: 1\n    bytes: 1\n"
            f"content_hash: blake3:{'0' * 64}\n",
            encoding="utf-8",
        )


def test_a_cycle_through_ten_thousand_versions_is_one_finding(tmp_path: Path) -> None:
    require_tool("git")
    repo = tmp_path / "chain"
    repo.mkdir()
    chain(repo, LINKS, closed=True)
    commit_all(repo, "a long chain")
    done = doctor_script(repo, "--select", "LIN")
    shown = [f"datasets/chain@v{n}" for n in (1, 10000, 9999, 9998, 9997, 9996)]
    tail = [f"datasets/chain@v{n}" for n in (5, 4, 3, 2, 1)]
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.splitlines() == [
        "datasets/chain/v1",
        "  metadata.yaml:9: error LIN003 lineage cycle: "
        + " -> ".join([*shown, "(9990 more)", *tail]),
        "    hint: a version cannot descend from itself; fix the parent references",
        "",
        "FAILED: 1 error, 0 warnings, 0 info; 10000 artifacts checked, 0 files hashed",
    ]


def test_an_open_chain_of_ten_thousand_versions_has_no_cycle_and_its_lineage_prints(
    tmp_path: Path,
) -> None:
    require_tool("git")
    repo = tmp_path / "chain"
    repo.mkdir()
    chain(repo, LINKS, closed=False)
    commit_all(repo, "a long chain")
    assert doctor_script(repo, "--select", "LIN").stdout.splitlines()[-1] == (
        "OK: 0 errors, 0 warnings, 0 info; 10000 artifacts checked, 0 files hashed"
    )
    done = subprocess.run(
        [installed_script("strata"), "lineage", "datasets/chain@v10000"], cwd=repo,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert (len(lines), lines[-1]) == (
        LINES,
        "datasets/chain@v9999 -> datasets/chain@v10000  [derived_from]",
    )


def test_each_strongly_connected_component_gives_one_cycle_from_its_smallest_version() -> None:
    edges = {"a": ["b"], "b": ["a", "c"], "c": ["c"], "d": ["e"], "e": ["d", "a"], "f": ["a"]}
    assert _cycles(edges) == [["a", "b"], ["c"], ["d", "e"]]
    assert _cycles({"a": ["b"], "b": ["c"]}) == []
    assert _cycles({"x": ["y"], "y": ["z"], "z": ["y", "x"]}) == [["x", "y", "z"]]
