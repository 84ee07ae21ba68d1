"""Many writers at once on one repository: the stages file loses no update (TFC-0005 R8)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml


def test_parallel_alias_and_promote_commands_lose_no_update(template: Path) -> None:
    names = [f"a{n}" for n in range(12)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "strataml", "model", "alias", "iris-classifier", name, "v1"],
            cwd=template, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in names
    ]  # fmt: skip
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    assert [r[2] for r in results] == [0] * len(names), [r[1] for r in results]
    stages = yaml.safe_load((template / "models/iris-classifier/stages.yaml").read_text())
    assert stages["aliases"] == dict.fromkeys(sorted(names), "v1")
    assert stages["production"] == "v1" and len(stages["history"]) == 1  # nothing else disturbed
    # Promotions racing each other: every transition that succeeded is in the history, in order.
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "strataml", "model", "promote", "iris-classifier", "v1", "--to", to],
            cwd=template, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for to in ("staging", "archived", "staging", "archived")
    ]  # fmt: skip
    outcomes = [(*r.communicate(timeout=120), r.returncode) for r in racers]
    won = [o for o in outcomes if o[2] == 0]
    assert all(o[2] in (0, 2) for o in outcomes) and won
    history = yaml.safe_load((template / "models/iris-classifier/stages.yaml").read_text())[
        "history"
    ]
    assert len(history) == 1 + len(won)
    replay = "production"
    for entry in history[1:]:
        assert entry["from"] == replay  # each writer saw the state the previous one left
        replay = entry["to"]


def test_eight_runs_and_promotions_at_once_collide_nowhere(template: Path) -> None:
    from conftest import REPO, doctor_script, shipped_runs

    run_py = [sys.executable, str(REPO / "tools" / "run.py"),
              "--experiment", "experiments/my_experiment.yaml", "--set", "epochs=5"]  # fmt: skip
    promote = [sys.executable, "-m", "strataml", "model", "promote", "iris-classifier", "v1"]
    procs = [*(subprocess.Popen(run_py, cwd=template, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(8)),
             *(subprocess.Popen([*promote, "--to", to], cwd=template, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for to in ("staging", "archived", "staging", "archived"))]  # fmt: skip
    outcomes = [(*p.communicate(timeout=300), p.returncode) for p in procs]
    assert [o[2] for o in outcomes[:8]] == [0] * 8, [o[1] for o in outcomes[:8]]
    runs = sorted({p.name for p in (template / "runs").iterdir()} - shipped_runs() - {".gitkeep"})
    assert len(runs) == 8  # eight claims, eight distinct directories
    for run in runs:
        system = yaml.safe_load((template / "runs" / run / "system.json").read_text())
        assert (
            system["status"] == "succeeded"
            and (template / "runs" / run / "CHECKSUMS.txt").is_file()
        )
    won = [o for o in outcomes[8:] if o[2] == 0]
    assert all(o[2] in (0, 2) for o in outcomes[8:]) and won
    history = yaml.safe_load((template / "models/iris-classifier/stages.yaml").read_text())[
        "history"
    ]
    assert len(history) == 1 + len(won)
    replay = "production"
    for entry in history[1:]:
        assert entry["from"] == replay  # every promotion saw the state the one before it left
        replay = entry["to"]
    report = doctor_script(template)
    assert report.returncode == 0, report.stdout  # all eight runs sealed and verifying
