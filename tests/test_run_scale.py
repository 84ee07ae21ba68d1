"""Runs that must still be sealed soundly: a million metric points, a log past its cap, a full
disk (TFC-0003 R15, R16; TFC-0002 R15). Real runner, real Git, a real tmpfs."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import TEMPLATE_ENTRIES, commit_all, copy_tree, doctor_script, git, require_tool
from runkit import assert_valid_record, load_record, run_py, runs, write_experiment
from strataml.metrichistory import HEADER
from strataml.runlog import LOG_CAP

# Writes N points of `loss` (and of `acc` when asked), straight to the metrics file, in the
# line format `strataml.tracking` writes; value i is (i % 1000) + 0.5, so the last is known.
POINTS = """\
import os, sys
n, both = int(sys.argv[1]), sys.argv[2] == "both"
lines = []
for i in range(n):
    lines.append('{"name": "loss", "value": %d.5, "step": %d}\\n' % (i % 1000, i))
    if both:
        lines.append('{"name": "acc", "value": %d, "step": %d}\\n' % (i % 7, i))
with open(os.environ["STRATA_METRICS_FILE"], "a") as handle:
    handle.write("".join(lines))
open(os.path.join(os.environ["STRATA_OUTPUT_DIR"], "done.txt"), "w").write("done\\n")
"""


def series(count: int, last_step: int, last: float, low: float, high: float) -> dict[str, float]:
    return {"count": count, "last_step": last_step, "last": last, "min": low, "max": high}


def cloned(repo: Path, where: Path) -> Path:
    commit_all(repo, "record the run")
    git(where, "clone", "-q", str(repo), str(where / "clone"))
    return where / "clone"


def test_a_million_points_are_recorded_sealed_and_accepted_after_a_clone(
    template: Path, tmp_path: Path
) -> None:
    spec = write_experiment(
        template, "points", "command: [python, experiments/points.py, '1000000', one]\n",
        {"experiments/points.py": POINTS},
    )  # fmt: skip
    began = time.monotonic()
    result = run_py(template, "--experiment", spec)
    assert result.returncode == 0, result.stderr
    [run_id] = runs(template)
    run_dir = template / "runs" / run_id
    assert_valid_record(run_dir)
    _, system, metrics = load_record(run_dir)
    assert system["status"] == "succeeded"
    assert metrics == {
        "schema_version": 2,
        "final": {"loss": 999.5},
        "series": {"loss": series(1_000_000, 999_999, 999.5, 0.5, 999.5)},
    }
    assert (run_dir / "metrics.json").stat().st_size < 1000
    with (run_dir / "metrics.csv").open("rb") as handle:
        assert [handle.readline() for _ in range(3)] == [
            HEADER, b"loss,0,0.5,,\n", b"loss,1,1.5,,\n",
        ]  # fmt: skip
        assert sum(1 for _ in handle) == 1_000_000 - 2
    report = doctor_script(cloned(template, tmp_path), "--strict")
    assert (report.returncode, report.stderr) == (0, ""), report.stdout
    assert report.stdout.startswith("OK (strict): 0 errors, 0 warnings, 0 info;")
    assert time.monotonic() - began < 30  # measured ~12 s on two cores


@pytest.mark.hostile_pr("unsealable-run")
def test_sixty_thousand_points_of_two_metrics_pass_doctor(template: Path, tmp_path: Path) -> None:
    """The run that used to be sealed `succeeded` with a metrics.json doctor rejected (SCH005)."""
    spec = write_experiment(
        template, "points", "command: [python, experiments/points.py, '30000', both]\n",
        {"experiments/points.py": POINTS},
    )  # fmt: skip
    assert run_py(template, "--experiment", spec).returncode == 0
    [run_id] = runs(template)
    _, _, metrics = load_record(template / "runs" / run_id)
    assert metrics["series"] == {
        "acc": series(30_000, 29_999, 29_999 % 7, 0, 6),
        "loss": series(30_000, 29_999, 999.5, 0.5, 999.5),
    }
    report = doctor_script(cloned(template, tmp_path), "--strict")
    assert (report.returncode, report.stderr) == (0, ""), report.stdout


def test_an_edited_history_is_caught_against_its_summary(template: Path, tmp_path: Path) -> None:
    spec = write_experiment(
        template, "points", "command: [python, experiments/points.py, '6000', one]\n",
        {"experiments/points.py": POINTS},
    )  # fmt: skip
    assert run_py(template, "--experiment", spec).returncode == 0
    [run_id] = runs(template)
    history = template / "runs" / run_id / "metrics.csv"
    history.write_bytes(history.read_bytes().replace(b"loss,5999,999.5,,\n", b""))
    report = doctor_script(template, "--strict", "--ignore", "CHK005", f"runs/{run_id}")
    assert (report.returncode, report.stdout) == (
        1,
        f"runs/{run_id}\n"
        "  metrics.json:6: error RUN016 series loss: count 6000 but metrics.csv gives 5999; "
        "last_step 5999 but metrics.csv gives 5998; last 999.5 but metrics.csv gives 998.5\n"
        "    hint: records are never edited: restore the run from Git\n\n"
        f"FAILED (strict): 1 error, 0 warnings, 0 info; 1 artifact checked under runs/{run_id}, "
        "6 files hashed\n",
    )


# --- logs.txt past its cap ----------------------------------------------------------------------

NOISY = """\
import os, sys
line = b"0123456789abcdef" * 4 + b"\\n"  # 65 bytes
for i in range(int(sys.argv[1])):
    sys.stdout.buffer.write(b"%08d " % i + line)
open(os.path.join(os.environ["STRATA_OUTPUT_DIR"], "done.txt"), "w").write("done\\n")
"""


def test_a_log_over_the_cap_keeps_head_and_tail_and_the_whole_log_goes_to_lfs(
    template: Path, tmp_path: Path
) -> None:
    require_tool("git-lfs")
    lines = 180_000  # 74 bytes each: 13.3 MB of output
    spec = write_experiment(
        template, "noisy", f"command: [python, experiments/noisy.py, '{lines}']\n",
        {"experiments/noisy.py": NOISY},
    )  # fmt: skip
    result = run_py(template, "--experiment", spec)
    assert result.returncode == 0, result.stderr
    [run_id] = runs(template)
    run_dir = template / "runs" / run_id
    full = (run_dir / "artifacts" / "logs.full.txt").read_bytes()
    assert full.count(b"\n") == lines + 2  # the runner's first and last lines too
    assert f"[strata] {run_id} succeeded (exit code 0) after ".encode() in full[-200:]
    half, cut = LOG_CAP // 2, len(full) - LOG_CAP
    marker = f"[strata: {cut} bytes cut here; the full log is artifacts/logs.full.txt]\n"
    head = full[:half]
    newline = b"" if head.endswith(b"\n") else b"\n"
    assert (run_dir / "logs.txt").read_bytes() == head + newline + marker.encode() + full[-half:]
    assert f"logs.txt kept to {LOG_CAP} bytes; the whole log is artifacts/logs.full.txt" in (
        result.stderr
    )
    git(template, "lfs", "install", "--local")
    clone = cloned(template, tmp_path)
    assert git(template, "lfs", "ls-files", "--name-only").split() == [
        f"runs/{run_id}/artifacts/logs.full.txt"
    ]
    report = doctor_script(template, "--strict")
    assert (report.returncode, report.stderr) == (0, ""), report.stdout
    assert "RUN017" not in doctor_script(clone).stdout


# --- a full disk ----------------------------------------------------------------------------------

FILL = """\
import os, sys
out = os.environ["STRATA_OUTPUT_DIR"]
for i in range(int(sys.argv[1])):  # small files first: their listing is what sealing writes
    os.makedirs(os.path.join(out, "many"), exist_ok=True)
    open(os.path.join(out, "many", "f%05d.txt" % i), "w").close()
try:
    with open(os.path.join(out, "fill.bin"), "wb") as handle:
        while True:
            handle.write(b"x" * 65536)
            handle.flush()
except OSError:
    sys.exit(1)  # quietly: the runner must tell on its own why
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs holding a copy of the template: a disk that fills up within a second."""
    require_tool("git")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        message = f"cannot mount a tmpfs: {done.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI runs as root to test a full disk")
        pytest.skip(message)
    try:
        repo = copy_tree(
            Path(__file__).resolve().parents[1],
            mount / "repo",
            tuple(e for e in TEMPLATE_ENTRIES if e not in (".github", ".vscode")),
        )
        yield repo
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill_experiment(repo: Path, files: int) -> str:
    shutil.rmtree(repo / "runs")
    (repo / "runs").mkdir()
    (repo / "runs" / ".gitkeep").touch()
    return write_experiment(
        repo, "fill", f"command: [python, experiments/fill.py, '{files}']\n",
        {"experiments/fill.py": FILL},
    )  # fmt: skip


@pytest.mark.hostile_pr("unsealable-run")
def test_a_full_disk_records_the_run_failed_with_the_reason(small_disk: Path) -> None:
    spec = _fill_experiment(small_disk, 0)
    result = run_py(small_disk, "--experiment", spec)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    [run_id] = runs(small_disk)
    reason = "no space left on device: the file system of runs/ was full when the command ended"
    assert f"[strata] {run_id} failed: {reason}\n" in result.stderr
    _, system, metrics = load_record(small_disk / "runs" / run_id)
    assert (system["status"], system["exit_code"], system["reason"]) == ("failed", 1, reason)
    assert metrics == {"schema_version": 1, "final": {}, "history": {}}
    assert (small_disk / "runs" / run_id / "CHECKSUMS.txt").is_file()
    report = doctor_script(small_disk, "--strict", "--no-cache", f"runs/{run_id}")
    assert (report.returncode, report.stderr, report.stdout) == (
        0, "", f"OK (strict): 0 errors, 0 warnings, 0 info; 1 artifact checked under runs/{run_id}, "
        "5 files hashed\n",
    )  # fmt: skip


@pytest.mark.hostile_pr("unsealable-run")
def test_a_seal_that_cannot_be_written_leaves_the_run_failed_and_unsealed(small_disk: Path) -> None:
    spec = _fill_experiment(small_disk, 5000)  # a listing of ~450 KB, past the reserve
    result = run_py(small_disk, "--experiment", spec)
    [run_id] = runs(small_disk)
    assert (result.returncode, result.stderr.splitlines()[-1]) == (
        2,
        f"run: error: no space left on device while sealing runs/{run_id}/: it is recorded "
        "failed but has no CHECKSUMS.txt, which doctor reports (RUN005)",
    )
    _, system, _ = load_record(small_disk / "runs" / run_id)
    assert system["status"] == "failed"
    assert not (small_disk / "runs" / run_id / "CHECKSUMS.txt").exists()
    assert [
        p.name for p in (small_disk / "runs" / run_id).iterdir() if p.name.startswith(".")
    ] == []
    report = doctor_script(small_disk, "--strict", "--no-cache", f"runs/{run_id}")
    assert (report.returncode, report.stdout) == (
        1,
        f"runs/{run_id}\n"
        "  CHECKSUMS.txt: error RUN005 run failed but was never sealed\n"
        "    hint: the runner stopped before writing CHECKSUMS.txt; after checking the record, "
        f"seal it with `strata checksum runs/{run_id}`\n\n"
        f"FAILED (strict): 1 error, 0 warnings, 0 info; 1 artifact checked under runs/{run_id}, "
        "0 files hashed\n",
    )
