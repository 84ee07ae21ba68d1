"""The template as a team forks it: doctor passes, and each kind of damage is named exactly.

Every case runs the real entry point (`python tools/doctor.py`) in a separate process on a
Git copy of the template, so a traceback or a stray line would show.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import PIPELINE_RUNS, example_run, require_tool
from conftest import doctor_script as doctor

IRIS = "datasets/iris/v1"
OK_SUMMARY = "OK (strict): 0 errors, 0 warnings, 0 info; 6 artifacts checked, 31 files hashed\n"


def test_doctor_strict_passes_on_the_template(template: Path) -> None:
    result = doctor(template, "--strict")
    assert (result.returncode, result.stdout, result.stderr) == (0, OK_SUMMARY, "")


def test_b3sum_verifies_every_line_of_the_iris_checksums(template: Path) -> None:
    b3sum = require_tool("b3sum")
    version = template / IRIS
    listed = (version / "CHECKSUMS.txt").read_text(encoding="utf-8").splitlines()
    result = subprocess.run(
        [b3sum, "--check", "CHECKSUMS.txt"], cwd=version, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{line.split('  ', 1)[1]}: OK" for line in listed]
    assert [line.split("  ", 1)[1] for line in listed] == [
        "datasheet.md", "metadata.yaml", "test/iris.csv", "train/iris.csv", "val/iris.csv",
    ]  # fmt: skip


def _flip_byte(version: Path) -> None:
    path = version / "train" / "iris.csv"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _edit_checksums_line(version: Path) -> None:
    path = version / "CHECKSUMS.txt"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    digest, name = lines[2].split("  ", 1)
    lines[2] = ("0" if digest[0] != "0" else "1") + digest[1:] + "  " + name
    path.write_text("".join(lines), encoding="utf-8")


def _symlink_out(version: Path) -> None:
    (version / "train" / "more.csv").symlink_to("/etc/hostname")


# (id, damage, code, where, line reported)
CASES = [
    ("byte-flipped", _flip_byte, "CHK005", "train/iris.csv", None),
    ("data-file-deleted", lambda v: (v / "val" / "iris.csv").unlink(), "CHK003", "val/iris.csv", None),
    ("extra-unlisted-file", lambda v: (v / "test" / "notes.txt").write_text("hi\n"), "CHK004", "test/notes.txt", None),
    ("checksums-line-edited", _edit_checksums_line, "CHK005", "test/iris.csv", None),
    ("yaml-syntax-error", lambda v: _edit(v / "metadata.yaml", "format: csv", "format: [csv"), "SCH001", "metadata.yaml", 15),
    ("wrong-type", lambda v: _edit(v / "metadata.yaml", "rows: 105", "rows: many"), "SCH003", "metadata.yaml", 33),
    ("duplicate-key", lambda v: _edit(v / "metadata.yaml", "format: csv\n", "format: csv\nformat: tsv\n"), "SCH002", "metadata.yaml", 15),
    ("symlink-outside", _symlink_out, "LAY010", "train/more.csv", None),
    ("name-mismatch", lambda v: _edit(v / "metadata.yaml", "name: iris\n", "name: irises\n"), "DAT002", "metadata.yaml", 3),
]  # fmt: skip


@pytest.mark.parametrize(
    ("damage", "code", "where", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_kind_of_damage_fails_with_its_code(
    template: Path, damage, code: str, where: str, line: int | None
) -> None:  # type: ignore[no-untyped-def]
    damage(template / IRIS)
    result = doctor(template)
    location = f"  {where}:{line}: error {code} " if line else f"  {where}: error {code} "
    assert result.returncode == 1
    assert result.stderr == ""
    assert "Traceback" not in result.stdout
    assert f"{IRIS}\n" in result.stdout
    assert location in result.stdout, result.stdout
    assert result.stdout.splitlines()[-1].startswith("FAILED: ")


def test_version_directory_named_version1_fails(template: Path) -> None:
    (template / IRIS).rename(template / "datasets" / "iris" / "version1")
    result = doctor(template)
    assert (result.returncode, result.stderr) == (1, "")
    shipped = example_run()  # the example run and model read datasets/iris@v1, now gone
    [prepare] = [run for run, stage in PIPELINE_RUNS.items() if stage == "prepare"]
    gone = "dataset datasets/iris@v1 does not exist\n    hint: fix the reference\n"
    unresolved = (  # the experiments and the pipeline that read it: found before they run
        "datasets/iris@v1: datasets/iris holds no version\n    hint: name a version the "
        "registry holds, or restore the stage or alias it names; runs already made keep what "
        "they pinned\n"
    )
    assert result.stdout == (
        "datasets/iris/version1\n"
        "  error LAY004 version directory must be v<N> or v<MAJOR>.<MINOR>.<PATCH>\n"
        "    hint: rename it, e.g. v1\n"
        "\n"
        "models/iris-classifier/v1\n"
        "  metadata.yaml:17: error LIN001 training dataset datasets/iris@v1 does not exist\n"
        "    hint: restore that version, or fix the reference\n"
        f"  metrics.yaml:7: error LIN001 metric 'accuracy': {gone}"
        f"  metrics.yaml:12: error LIN001 metric 'loss': {gone}"
        f"  metrics.yaml:17: error LIN001 metric 'accuracy': {gone}"
        "\n"
        f"runs/{shipped}\n"
        "  config.yaml:36: error RUN010 input data: datasets/iris@v1 no longer exists (no directory datasets/iris/v1)\n"
        "    hint: restore that version; a run's inputs are kept as long as the run is\n"
        "\n"
        f"runs/{prepare}\n"  # the pipeline's prepare stage read it too; train and evaluate not
        "  config.yaml:23: error RUN010 input data: datasets/iris@v1 no longer exists (no directory datasets/iris/v1)\n"
        "    hint: restore that version; a run's inputs are kept as long as the run is\n"
        "\n"
        "repository\n"
        f"  experiments/my_experiment.yaml:14: warning LIN006 input data: {unresolved}"
        f"  experiments/sweep.yaml:15: warning LIN006 input data: {unresolved}"
        f"  pipelines/iris.yaml:9: warning LIN006 input prepare.data: {unresolved}"
        "\n"
        "FAILED: 7 errors, 3 warnings, 0 info; 5 artifacts checked, 26 files hashed\n"
    )
