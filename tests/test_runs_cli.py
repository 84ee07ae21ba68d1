"""`strata runs list/show/compare/best` over runs made by the real runner (TFC-0003 R13)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import COMPENSATED_SUM, RunCli
from runkit import run_py, runs, write_experiment

EXPERIMENT = "experiments/my_experiment.yaml"
# train/loss at learning_rate 0.1, as this interpreter computes it (see COMPENSATED_SUM)
LR_01_LOSS = 0.34174152845054395 if COMPENSATED_SUM else 0.3417415284505438


def make_run(repo: Path, *args: str, spec: str = EXPERIMENT) -> str:
    before = set(runs(repo))
    result = run_py(repo, "--experiment", spec, *args)
    [new] = set(runs(repo)) - before
    assert result.returncode in (0, 1), result.stderr
    return new


@pytest.fixture
def two_runs(template: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """The example at its defaults, then with one parameter changed; same code, same data."""
    monkeypatch.chdir(template)
    return template, make_run(template), make_run(template, "--set", "learning_rate=0.1")


def test_compare_shows_the_differing_param_and_metrics_only(
    two_runs: tuple[Path, str, str], strata: RunCli
) -> None:
    _, a, b = two_runs
    code, out, err = strata("runs", "compare", a, b)
    assert (code, err) == (0, "")
    *table, hidden = out.splitlines()
    pad = " " * (len(a) - len("0.956522"))
    assert table == [
        f"                 {a}  {b}",
        "params",
        f"  learning_rate  0.5{' ' * (len(a) - 3)}  0.1",
        "metrics",
        f"  test/accuracy  0.956522{pad}  0.826087 (-0.1304)",
        f"  train/loss     0.178323{pad}  0.341742 (+0.1634)",
    ]
    match = re.fullmatch(r"\((\d+) identical fields hidden; --all shows them\)", hidden)
    assert match is not None, hidden

    # --all hides nothing: every hidden field comes back, plus the per-execution record.
    code, out, _ = strata("runs", "compare", a, b, "--all", "--format", "json")
    document = json.loads(out)
    shown = sum(len(rows) for name, rows in document["sections"].items() if name != "record")
    assert shown == int(match.group(1)) + 3
    assert document["sections"]["metrics"]["val/accuracy"] == [0.9090909090909091] * 2
    assert (
        document["sections"]["record"]["fingerprint"][0]
        != document["sections"]["record"]["fingerprint"][1]
    )
    assert document["identical_hidden"] == 0


def test_compare_json_holds_only_differences(
    two_runs: tuple[Path, str, str], strata: RunCli
) -> None:
    _, a, b = two_runs
    code, out, _ = strata("runs", "compare", f"runs/{a}/", b, "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["runs"] == [a, b]
    assert document["sections"] == {
        "params": {"learning_rate": [0.5, 0.1]},
        "metrics": {
            "test/accuracy": [0.9565217391304348, 0.8260869565217391],
            "train/loss": [0.1783234540568729, LR_01_LOSS],
        },
    }


def test_list_show_and_best(two_runs: tuple[Path, str, str], strata: RunCli) -> None:
    _template, a, b = two_runs
    code, out, _ = strata("runs", "list", "--format", "json")
    assert code == 0
    listed = json.loads(out)
    mine = [r for r in listed if r["run_id"] in (a, b)]
    assert [r["run_id"] for r in mine] == [b, a]  # newest first
    assert [r["params"]["learning_rate"] for r in mine] == [0.1, 0.5]
    assert {r["status"] for r in mine} == {"succeeded"}
    assert {r["experiment"] for r in mine} == {"my_experiment"}
    assert all(r["sealed"] and r["problems"] == [] for r in mine)

    code, out, _ = strata("runs", "list", "--experiment", "nope")
    assert (code, out) == (0, "no run of experiment 'nope'\n")
    code, out, _ = strata("runs", "list", "--status", "succeeded")
    lines = out.splitlines()
    assert lines[0].split() == ["RUN", "EXPERIMENT", "STATUS", "CREATED", "DURATION", "METRICS"]
    assert lines[1].startswith(f"{b}  my_experiment  succeeded  ")
    assert lines[1].endswith("test/accuracy=0.826087 train/loss=0.341742 val/accuracy=0.909091")
    assert lines[-1] == f"{len(lines) - 2} runs"

    code, out, _ = strata("runs", "show", "latest")
    assert code == 0
    assert out.splitlines()[0] == f"run         {b}  (runs/{b}/)"
    assert "  learning_rate  0.1\n" in out and "history     train/loss (100 steps)\n" in out
    code, out, _ = strata("runs", "show", b[-6:], "--format", "json")
    assert json.loads(out)["config"]["run_id"] == b

    code, out, _ = strata(
        "runs", "best", "--experiment", "my_experiment", "--metric", "test/accuracy"
    )
    assert (code, out.split()[0]) == (0, a)
    code, out, _ = strata(
        "runs", "best", "--experiment", "my_experiment", "--metric", "train/loss", "--minimize",
        "--format", "json",
    )  # fmt: skip
    best = json.loads(out)
    assert (best["run_id"], best["value"], best["goal"]) == (a, 0.1783234540568729, "minimize")


def test_best_ignores_failed_runs_and_says_when_nothing_qualifies(
    template: Path, monkeypatch: pytest.MonkeyPatch, strata: RunCli
) -> None:
    monkeypatch.chdir(template)
    spec = write_experiment(
        template,
        "scored",
        "command: [sh, experiments/scored.sh]\nparams:\n  score: 1\n  fail: 0\n",
        {
            "experiments/scored.sh": '#!/bin/sh\nscore=$(echo "$STRATA_PARAMS" | sed \'s/.*"score": \\([0-9]*\\).*/\\1/\')\n'
            'echo "{\\"name\\": \\"score\\", \\"value\\": $score}" >> "$STRATA_METRICS_FILE"\n'
            'case "$STRATA_PARAMS" in *\'"fail": 1\'*) exit 1;; esac\n'
        },
    )
    low = make_run(template, "--set", "score=2", spec=spec)
    make_run(template, "--set", "score=9", "--set", "fail=1", spec=spec)
    mid = make_run(template, "--set", "score=5", spec=spec)
    code, out, _ = strata("runs", "best", "--experiment", "scored", "--metric", "score")
    assert (code, out) == (0, f"{mid}  score=5  (best of 2, highest)\n")
    code, out, _ = strata(
        "runs", "best", "--experiment", "scored", "--metric", "score", "--minimize"
    )
    assert (code, out) == (0, f"{low}  score=2  (best of 2, lowest)\n")
    code, out, err = strata("runs", "best", "--experiment", "scored", "--metric", "loss")
    assert (code, out, err) == (1, "", "strata: no succeeded run of 'scored' reports 'loss'\n")
    code, out, _ = strata("runs", "list", "--status", "failed", "--format", "json")
    assert [(r["status"], r["exit_code"], r["metrics"]) for r in json.loads(out)] == [
        ("failed", 1, {"score": 9})
    ]


def test_lookup_errors_and_damaged_records(two_runs: tuple[Path, str, str], strata: RunCli) -> None:
    template, a, _b = two_runs
    assert strata("runs", "show", "run-1999-01-01-zzzzzz") == (
        2, "", "strata: error: no run matches 'run-1999-01-01-zzzzzz' (see `strata runs list`)\n",
    )  # fmt: skip
    code, _, err = strata("runs", "show", "run-")
    assert code == 2 and re.fullmatch(r"strata: error: 'run-' matches \d+ runs: .*\n", err)
    assert strata("runs", "compare", a) == (
        2, "", "strata: error: compare needs at least two runs\n",
    )  # fmt: skip
    assert strata("runs", "list", "--format", "xml")[2] == (
        "strata: error: unknown format 'xml' (choose from text, json)\n"
    )

    (template / "runs" / a / "config.yaml").write_bytes(b"run_id: [unclosed\n\x00\xff")
    code, out, err = strata("runs", "list")
    assert (code, err) == (0, "")
    [row] = [line for line in out.splitlines() if line.startswith(a)]
    assert row.startswith(f"{a}  ?  ") and "  succeeded!  " in row
    assert out.splitlines()[-1].endswith(
        "1 with an unreadable record (marked !; see `strata doctor runs`)"
    )
    code, out, err = strata("runs", "show", a)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith("problem     config.yaml does not parse: ")
