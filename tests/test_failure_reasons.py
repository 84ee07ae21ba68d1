"""A run the runner records failed says why: on stderr, in system.json, in `strata runs show`;
a run whose runner is gone is listed abandoned (TFC-0002 R9, R16). Real runs via tools/run.py."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, RunCli, doctor_script
from runkit import assert_valid_record, load_record, run_py, runs, write_experiment


def _ended(stderr: str, run_id: str) -> str:
    """The runner's stderr with the one figure that varies, the duration, made `D`."""
    return re.sub(
        rf"\[strata\] {run_id} (\w+) in [0-9.]+ s: ", rf"[strata] {run_id} \1 in D s: ", stderr
    )


@pytest.mark.parametrize(
    ("body", "exit_code", "reason"),
    [
        ("command: [no-such-program-xyz]\n", 127, "command not found: no-such-program-xyz"),
        (
            "command: [experiments/not-executable]\n",
            127,
            "command not executable: experiments/not-executable (permission denied)",
        ),
        ("command: [sh, -c, 'exit 3']\n", 3, "command exited with status 3"),
        ("command: [sh, -c, 'exit 1']\n", 1, "command exited with status 1"),
        ("command: [sh, -c, 'kill -9 $$']\n", 137, "command was killed by signal 9 (SIGKILL)"),
        ("command: [sleep, '30']\ntimeout: 1s\n", 143, "timed out after 1 s"),
        (
            "command: [sh, -c, 'exit 0']\noutputs: [model.bin]\n",
            1,
            "declared output model.bin is missing from artifacts/",
        ),
        (
            "command: [sh, -c, 'exit 0']\noutputs: [a.bin, b.bin, c.bin]\n",
            1,
            "declared output a.bin is missing from artifacts/ (and 2 more in logs.txt)",
        ),
    ],
    ids=[
        "not-found", "not-executable", "status-3", "status-1", "killed", "timeout",
        "missing-output", "missing-outputs",
    ],
)  # fmt: skip
def test_a_failed_run_says_why_everywhere(
    template: Path,
    monkeypatch: pytest.MonkeyPatch,
    strata: RunCli,
    body: str,
    exit_code: int,
    reason: str,
) -> None:
    spec = write_experiment(
        template, "fails", body, {"experiments/not-executable": "#!/bin/sh\nexit 0\n"}
    )
    result = run_py(template, "--experiment", spec)
    [run_id] = runs(template)
    assert result.returncode == exit_code, result.stderr
    assert _ended(result.stderr, run_id) == (
        f"[strata] {run_id} started: runs/{run_id}/\n"
        f"[strata] {run_id} failed: {reason}\n"
        f"[strata] {run_id} failed in D s: runs/{run_id}/\n"
    )
    run_dir = template / "runs" / run_id
    assert_valid_record(run_dir)
    _, system, _ = load_record(run_dir)
    assert (system["status"], system["reason"]) == ("failed", reason)

    monkeypatch.chdir(template)
    code, out, err = strata("runs", "show", run_id)
    assert (code, err) == (0, "")
    assert out.splitlines()[:4] == [
        f"run         {run_id}  (runs/{run_id}/)",
        "experiment  fails",
        f"status      failed, exit code {system['exit_code'] if system['exit_code'] is not None else 'null'}",
        f"reason      {reason}",
    ]
    code, out, _ = strata("runs", "show", run_id, "--format", "json")
    assert (code, json.loads(out)["reason"]) == (0, reason)
    code, out, _ = strata("runs", "list", "--experiment", "fails", "--format", "json")
    assert [(r["status"], r["reason"]) for r in json.loads(out)] == [("failed", reason)]
    assert doctor_script(template, "--strict", f"runs/{run_id}").returncode == 0


def test_a_run_whose_runner_died_is_listed_abandoned(
    template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command kills its own runner (its parent) with SIGKILL: nothing records the end.
    spec = write_experiment(template, "orphan", "command: [sh, -c, 'kill -9 $PPID']\n")
    result = run_py(template, "--experiment", spec)
    assert result.returncode == -signal.SIGKILL
    [run_id] = runs(template)
    _, system, _ = load_record(template / "runs" / run_id)
    assert system["status"] == "running"
    created = load_record(template / "runs" / run_id)[0]["created"][:19].replace("T", " ")

    monkeypatch.chdir(template)
    code, out, err = strata("runs", "list", "--experiment", "orphan")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{'RUN':<{len(run_id)}}  EXPERIMENT  STATUS     CREATED              DURATION  METRICS",
        f"{run_id}  orphan      abandoned  {created}  -",
        "1 run",
    ]
    code, out, _ = strata("runs", "show", run_id)
    assert code == 0
    gone = f"its runner (pid {system['pid']}) is gone: the run was abandoned"
    assert out.splitlines()[2:4] == [
        "status      abandoned, exit code null, not sealed",
        f"reason      {gone}",
    ]
    code, out, _ = strata("runs", "list", "--status", "abandoned", "--format", "json")
    assert [(r["run_id"], r["status"], r["reason"]) for r in json.loads(out)] == [
        (run_id, "abandoned", gone)
    ]
    code, out, _ = strata("runs", "list", "--status", "running", "--format", "json")
    assert json.loads(out) == []
    report = doctor_script(template, f"runs/{run_id}")  # doctor agrees: the same decision
    assert "RUN006" in report.stdout and "RUN007" not in report.stdout


def test_a_run_whose_runner_lives_is_listed_running(
    template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write_experiment(template, "slow", "command: [sleep, '20']\n")
    runner = subprocess.Popen(
        [sys.executable, str(REPO / "tools" / "run.py"), "--experiment", spec], cwd=template,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert runner.stderr is not None
        assert " started: " in runner.stderr.readline()
        [run_id] = runs(template)
        monkeypatch.chdir(template)
        code, out, _ = strata("runs", "list", "--experiment", "slow", "--format", "json")
        assert [(r["run_id"], r["status"], r["reason"]) for r in json.loads(out)] == [
            (run_id, "running", None)
        ]
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=30)
        assert runner.stderr is not None
        runner.stderr.close()
    deadline = time.monotonic() + 5
    while load_record(template / "runs" / run_id)[1]["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    code, out, _ = strata("runs", "list", "--experiment", "slow", "--format", "json")
    assert code == 0
    assert [(r["status"], r["reason"]) for r in json.loads(out)] == [("interrupted", None)]
