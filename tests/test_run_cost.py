"""What the runner itself costs: the git processes of a run (TFC-0002 R30) and the slots of a
sweep (R29). Real runner, real Git: a `git` ahead on PATH logs its subcommand and runs the real one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from runkit import RUN_PY, load_record, run_py, runs, write_experiment

_CODE = ". :(exclude)datasets :(exclude)models :(exclude)runs"
FIRST = "rev-parse --is-inside-work-tree"


def expected_code_state(root: Path, *, dirty: bool = False) -> list[str]:
    """The untracked files are looked for only under what is at the top but the artifact
    trees (a registry's runs are never walked); the diff only when the code is dirty."""
    top = " ".join(
        f":(literal){p.name}" for p in sorted(root.iterdir())
        if p.name not in {"datasets", "models", "runs", ".git"}
    )  # fmt: skip
    return [
        FIRST,
        f"status --porcelain=v2 --branch -z -uno -- {_CODE}",
        f"ls-files -t -co --exclude-standard -z -- {top}",
        *([f"diff --binary HEAD -- {_CODE}"] if dirty else []),
    ]


# Prints when the command starts and ends, on the clock every process shares.
TIMED = (
    "command: [python, -c, \"import time; print('start', time.monotonic(), flush=True); "
    "time.sleep(0.3); print('end', time.monotonic())\"]\n"
)


def counted_git(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose `git` logs its subcommand to the returned file."""
    real = shutil.which("git")
    assert real is not None
    log, bin_dir = tmp_path / "git.log", tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, log


def started(log: Path) -> list[str]:
    subcommands = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return subcommands


def test_a_run_reads_its_code_state_with_three_git_processes_and_a_sweep_point_with_none(
    template: Path, tmp_path: Path
) -> None:
    one = write_experiment(
        template, "one", "command: [python, -c, 'pass']\ninputs:\n  data: datasets/iris@v1\n"
    )
    sweep = write_experiment(
        template, "grid",
        "command: [python, -c, 'pass']\nparams:\n  n: 0\ninputs:\n  data: datasets/iris@v1\n"
        "sweep:\n  grid:\n    n: [1, 2, 3, 4]\n",
    )  # fmt: skip
    env, log = counted_git(tmp_path)
    assert run_py(template, "--experiment", one, env=env).returncode == 0
    assert code_state(started(log)) == expected_code_state(template)
    done = run_py(template, "--experiment", sweep, "--jobs", "2", env=env)
    assert done.returncode == 0, done.stderr
    sweep_started = started(log)
    assert code_state(sweep_started) == expected_code_state(template)  # none for the points
    assert sum(s.startswith("check-attr ") for s in sweep_started) == 1  # inputs verified once
    (template / "notes.txt").write_text("untracked code\n")  # dirty: one more, for the diff
    assert run_py(template, "--experiment", one, env=env).returncode == 0
    assert code_state(started(log)) == expected_code_state(template, dirty=True)


def code_state(subcommands: list[str]) -> list[str]:
    """What a run starts from its code state on: the input's verification (doctor's, TFC-0006
    R20, which varies with doctor's caches) comes before."""
    return subcommands[subcommands.index(FIRST) :]


def test_jobs_caps_the_commands_running_at_once(template: Path) -> None:
    spec = write_experiment(
        template, "timed", f"{TIMED}params:\n  n: 0\nsweep:\n  grid:\n    n: [1, 2, 3, 4, 5, 6]\n"
    )
    done = run_py(template, "--experiment", spec, "--jobs", "2")
    assert done.returncode == 0, done.stderr
    events = []
    for run_id in runs(template):
        lines = (template / "runs" / run_id / "logs.txt").read_text().splitlines()
        moments = dict(line.split() for line in lines if line.startswith(("start ", "end ")))
        events += [(float(moments["start"]), 1), (float(moments["end"]), -1)]
    running, most = 0, 0
    for _, step in sorted(events):
        running += step
        most = max(most, running)
    assert (len(events), most) == (12, 2)


def test_ctrl_c_claims_no_point_waiting_for_a_slot(template: Path) -> None:
    spec = write_experiment(
        template, "sleepy",
        "command: [python, -c, \"import time; print('ready', flush=True); time.sleep(60)\"]\n"
        "params:\n  n: 0\nsweep:\n  grid:\n    n: [1, 2, 3, 4, 5, 6]\n",
    )  # fmt: skip
    runner = subprocess.Popen(
        [sys.executable, RUN_PY, "--experiment", spec, "--jobs", "2"], cwd=template,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while sum("ready" in _log(template, r) for r in runs(template)) < 2:
        assert time.monotonic() < deadline and runner.poll() is None
        time.sleep(0.05)
    runner.send_signal(signal.SIGINT)
    _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 128 + signal.SIGINT, stderr
    statuses = [load_record(template / "runs" / r)[1]["status"] for r in runs(template)]
    assert statuses == ["interrupted", "interrupted"]


def _log(repo: Path, run_id: str) -> str:
    try:
        return (repo / "runs" / run_id / "logs.txt").read_text()
    except FileNotFoundError:  # claimed, its log not yet written
        return ""
