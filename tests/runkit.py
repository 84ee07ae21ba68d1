"""tools/run.py from tests: run it as a user would, write experiments, find the runs a test made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, commit_all, fork_template, shipped_runs
from strataml import schemas
from strataml.yamlio import parse_yaml

RUN_PY = str(REPO / "tools" / "run.py")

SLEEPER = """\
import sys, time
print("ready", flush=True)
time.sleep(60)
"""


# A 20-point sweep whose best point is a=3, b=2 (score 0): tests/test_slurm.py, tests/test_ray.py.
SCORE = (
    "command: [python, -c, \"import json, os; p = json.loads(os.environ['STRATA_PARAMS']); "
    "open(os.environ['STRATA_METRICS_FILE'], 'a').write(json.dumps({'name': 'score', "
    "'value': -(p['a'] - 3) ** 2 - (p['b'] - 2) ** 2}) + chr(10))\"]\n"
    "params:\n  a: 0\n  b: 0\n"
    "sweep:\n  grid:\n    a: [0, 1, 2, 3, 4]\n    b: [0, 1, 2, 3]\n"
    "resources:\n  cpus: 1\n  memory: 200M\n  time: 5m\n"
)


def assert_best_as_run_here(repo: Path, local: Path) -> None:
    """SCORE's best in `repo` (run elsewhere) is the best of the same sweep run here, --jobs 2."""
    fork_template(local)
    spec = write_experiment(local, "score", SCORE)
    assert run_py(local, "--experiment", spec, "--jobs", "2").returncode == 0
    expected = {
        "experiment": "score", "metric": "score", "value": 0, "goal": "maximize",
        "runs_considered": 20, "tied_with": [],
    }  # fmt: skip
    assert best_score(repo) == best_score(local) == (expected, {"a": 3, "b": 2})


def best_score(repo: Path) -> tuple[dict[str, object], dict[str, object]]:
    """`strata runs best` of SCORE as JSON without the run's own id and path, and its params."""
    done = subprocess.run(
        [sys.executable, "-m", "strataml", "runs", "best", "--experiment", "score",
         "--metric", "score", "--format", "json"],
        cwd=repo, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "tools")},
    )  # fmt: skip
    best = json.loads(done.stdout)
    config, _, _ = load_record(repo / "runs" / best.pop("run_id"))
    del best["path"]
    return best, config["params"]


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
