"""Which Python a run's command gets, whatever PATH holds (TFC-0002 R5)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, commit_all, shipped_runs
from strataml.yamlio import parse_yaml

RUN_PY = str(REPO / "tools" / "run.py")
SHOW = "import sys; print(sys.executable)"
IMPOSTOR = "#!/bin/sh\necho impostor\n"


def _experiment(repo: Path, name: str, body: str) -> str:
    spec = repo / "experiments" / f"{name}.yaml"
    spec.write_text(f"schema_version: 1\nname: {name}\n{body}", encoding="utf-8")
    commit_all(repo, f"experiment {name}")
    return f"experiments/{name}.yaml"


def _run(repo: Path, spec: str, path: Path) -> tuple[str, dict[str, object], Path]:
    """tools/run.py with only `path` on PATH: (the command's first log line, system.json, run)."""
    before = {p.name for p in (repo / "runs").iterdir()} | shipped_runs()
    done = subprocess.run(
        [sys.executable, RUN_PY, "--experiment", spec], cwd=repo, capture_output=True,
        text=True, timeout=120, env={**os.environ, "PATH": str(path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [run_id] = {p.name for p in (repo / "runs").iterdir()} - before
    run_dir = repo / "runs" / run_id
    log = (run_dir / "logs.txt").read_text(encoding="utf-8").splitlines()
    system = json.loads((run_dir / "system.json").read_text(encoding="utf-8"))
    return log[1], system, run_dir


@pytest.fixture
def impostor_path(tmp_path: Path) -> Path:
    """A PATH whose `python`, `python3` and `python3.99` are not this interpreter, plus sh and git."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "python3", "python3.99"):
        (bin_dir / name).write_text(IMPOSTOR, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    return Path(f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")


@pytest.mark.parametrize("program", ["python", "python3"])
def test_a_leading_python_is_the_interpreter_running_the_runner(
    template: Path, impostor_path: Path, program: str
) -> None:
    spec = _experiment(template, "which", f"command: [{program}, -c, {json.dumps(SHOW)}]\n")
    first, system, run_dir = _run(template, spec, impostor_path)
    assert first == sys.executable
    assert system["python"] == {
        "executable": sys.executable,
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
    }
    # The record keeps the command as written: the mapping happens when the runner starts it.
    config = parse_yaml((run_dir / "config.yaml").read_bytes()).data
    assert config["experiment"]["spec"]["command"][0] == program


@pytest.mark.parametrize(
    "body",
    [
        'command: [python3.99, -c, "pass"]\n',  # another program: found through PATH
        'command: "python -c pass"\nshell: true\n',  # a shell finds its programs through PATH
    ],
    ids=["versioned-name", "shell"],
)
def test_any_other_program_is_found_through_path(
    template: Path, impostor_path: Path, body: str
) -> None:
    spec = _experiment(template, "other", body)
    first, _, _ = _run(template, spec, impostor_path)
    assert first == "impostor"
