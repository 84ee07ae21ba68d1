"""tools/run.py from tests: run it as a user would, write experiments, find the runs a test made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, commit_all, shipped_runs
from strataml import schemas
from strataml.yamlio import parse_yaml

RUN_PY = str(REPO / "tools" / "run.py")

SLEEPER = """\
import sys, time
print("ready", flush=True)
time.sleep(60)
"""


def run_py(
    repo: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, RUN_PY, *args], cwd=repo, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def runs(repo: Path) -> list[str]:
    """Runs made by the test, not those the template ships with."""
    made = (p.name for p in (repo / "runs").iterdir() if p.name.startswith("run-"))
    return sorted(set(made) - shipped_runs())


def write_experiment(repo: Path, name: str, body: str, files: dict[str, str] | None = None) -> str:
    for path, text in (files or {}).items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        if path.endswith(".sh"):
            target.chmod(0o755)
    spec = repo / "experiments" / f"{name}.yaml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(f"schema_version: 1\nname: {name}\n{body}", encoding="utf-8")
    commit_all(repo, f"experiment {name}")
    return f"experiments/{name}.yaml"


def load_record(run_dir: Path) -> tuple[dict, dict, dict]:  # type: ignore[type-arg]
    config = parse_yaml((run_dir / "config.yaml").read_bytes()).data
    system = json.loads((run_dir / "system.json").read_text())
    metrics = (
        json.loads((run_dir / "metrics.json").read_text())
        if (run_dir / "metrics.json").exists()
        else {}
    )
    return config, system, metrics


def assert_valid_record(run_dir: Path) -> None:
    config, system, metrics = load_record(run_dir)
    assert schemas.validate("run-config", config) == []
    assert schemas.validate("run-system", system) == []
    if (run_dir / "metrics.json").exists():
        assert schemas.validate("run-metrics", metrics) == []
    assert config["run_id"] == run_dir.name
