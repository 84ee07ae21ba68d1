"""tools/run.py --reproduce: re-execute a recorded run and judge it PASS, DRIFT or FAIL (TFC-0002 R12-R14)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    COMPENSATED_SUM,
    REPO,
    commit_all,
    doctor_script,
    example_run,
    git,
    shipped_runs,
)
from strataml import schemas
from strataml.cli import run_main
from strataml.integrity.stamp import stamp_directory
from strataml.registry.verdict import compare_metrics, judge, read_tolerances
from strataml.yamlio import parse_yaml

RUN_PY = str(REPO / "tools" / "run.py")
SHIPPED = example_run()
METRICS = [
    "  test/accuracy  0.9565217391304348 -> 0.9565217391304348  delta +0  ok (abs 1e-09, rel 1e-09)",
    "  train/loss     0.1783234540568729 -> 0.1783234540568729  delta +0  ok (abs 1e-09, rel 1e-09)",
    "  val/accuracy   0.9090909090909091 -> 0.9090909090909091  delta +0  ok (abs 1e-09, rel 1e-09)",
]
COMMAND_FILES = "experiments/my_experiment.yaml, experiments/train.py"
# train/loss with the seed plus one (see COMPENSATED_SUM), as this interpreter computes it
SEED_PLUS_ONE_LOSS = 0.17834367717767674 if COMPENSATED_SUM else 0.1783436771776768
SEED_PLUS_ONE = (
    'rng = random.Random(int(params["seed"]))',
    'rng = random.Random(int(params["seed"]) + 1)',
)


def reproduce(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, RUN_PY, "--reproduce", *args], cwd=repo, capture_output=True,
        text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


Reproduce = Callable[..., Result]


@pytest.fixture
def here(
    template: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Reproduce:
    """tools/run.py in-process, in the template copy (the subprocess wiring is tested once)."""
    monkeypatch.chdir(template)

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = run_main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def new_runs(repo: Path) -> list[str]:
    made = {p.name for p in (repo / "runs").iterdir() if p.name.startswith("run-")}
    return sorted(made - shipped_runs())


def report(result: Result | subprocess.CompletedProcess[str]) -> list[str]:
    """The verdict report: stdout from its first line on (the command's own output comes first)."""
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("reproduction of "))
    return lines[start:]


def section(lines: list[str], title: str) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines)
    )
    return lines[start:end]


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def environment_lines(original: Path, reproduction: Path) -> list[str]:
    """What the environment section must say, worked out from the two system.json files."""
    old, new = read_json(original / "system.json"), read_json(reproduction / "system.json")

    def pair(key: str, a: str, b: str) -> str:
        return f"  {key}: {a}" + (" (same)" if a == b else f" -> {b}")

    def python(system: dict[str, Any]) -> str:
        return f"{system['python']['implementation']} {system['python']['version']}"

    lines = [
        "environment:",
        pair("python", python(old), python(new)),
        pair("os", old["host"]["os"], new["host"]["os"]),
        pair("kernel", old["host"]["kernel"], new["host"]["kernel"]),
    ]
    was, now = old["packages"], new["packages"]
    rows = sorted(
        [(n, f"    + {n} {now[n]}") for n in now.keys() - was.keys()]
        + [(n, f"    - {n} {was[n]}") for n in was.keys() - now.keys()]
        + [(n, f"    ~ {n} {was[n]} -> {now[n]}") for n in was.keys() & now.keys() if was[n] != now[n]]
    )  # fmt: skip
    if not rows:
        return [*lines, "  packages: same"]
    added, removed = len(now.keys() - was.keys()), len(was.keys() - now.keys())
    changed = len(rows) - added - removed
    lines.append(f"  packages: {added} added, {removed} removed, {changed} changed")
    lines += [row for _, row in rows[:10]]
    if len(rows) > 10:
        lines.append(f"    … and {len(rows) - 10} more (see reproduction.json)")
    return lines


def python_drift(original: Path) -> list[str]:
    """The verdict's Python reason when this interpreter is not the recorded one's minor version
    (TFC-0002 R14): the shipped run was recorded on one Python, the suite runs on every one the
    package supports."""
    recorded = read_json(original / "system.json")["python"]
    was = f"{recorded['implementation']} {recorded['version']}"
    now = f"{platform.python_implementation()} {platform.python_version()}"
    same = was.split(".")[:2] == now.split(".")[:2]  # implementation, major and minor
    return [] if same else [f"Python {was} -> {now}"]


def indented(reasons: list[str]) -> list[str]:
    return [f"  {reason}" for reason in reasons]


# --- acceptance: the shipped example reproduces --------------------------------------------------


def test_reproducing_the_shipped_run_passes(template: Path) -> None:
    """PASS on the Python minor version that recorded it; on another, DRIFT naming only that."""
    result = reproduce(template, SHIPPED)
    assert result.returncode == 0, result.stdout + result.stderr
    [run_id] = new_runs(template)
    new = template / "runs" / run_id
    original = template / "runs" / SHIPPED
    drift = python_drift(original)
    expected = "DRIFT" if drift else "PASS"
    head = git(template, "rev-parse", "HEAD").strip()
    recorded = parse_yaml((original / "config.yaml").read_bytes()).data["code"]["commit"]
    assert report(result) == [
        f"reproduction of {SHIPPED}: {run_id} (succeeded)",
        "metrics (tolerance: default):",
        *METRICS,
        "inputs:",
        "  data  datasets/iris@v1  same bytes",
        *environment_lines(original, new),
        "code:",
        f"  commit: {recorded[:12]} (clean) -> {head[:12]} (clean)",
        f"  command files: same ({COMMAND_FILES})",
        f"verdict: {expected}",
        *indented(drift),
    ]
    assert result.stderr.splitlines() == [
        f"[strata] {run_id} started: runs/{run_id}/",
        f"[strata] {run_id} succeeded in {read_json(new / 'system.json')['duration_s']:g} s: "
        f"runs/{run_id}/",
    ]
    # A new, sealed run that names the original; the original is untouched.
    config = parse_yaml((new / "config.yaml").read_bytes()).data
    assert config["reproduces"] == SHIPPED
    assert config["params"] == parse_yaml((original / "config.yaml").read_bytes()).data["params"]
    verdict = read_json(new / "reproduction.json")
    assert schemas.validate("run-reproduction", verdict) == []
    assert (verdict["verdict"], verdict["reasons"], verdict["reproduces"], verdict["run_id"]) == (
        expected, drift, SHIPPED, run_id,
    )  # fmt: skip
    assert "reproduction.json" in (new / "CHECKSUMS.txt").read_text()
    assert git(template, "status", "--porcelain", "--", f"runs/{SHIPPED}") == ""
    assert not (template / ".strata" / "reproduce").exists()
    checked = doctor_script(template, "--strict", f"runs/{run_id}")
    assert checked.returncode == 0, checked.stdout
    shown = shown_run(template, run_id)
    because = "".join(f": {reason}" for reason in drift)
    assert f"reproduces  {SHIPPED}, verdict {expected}{because}" in shown.splitlines()
    listed = json.loads(shown_run(template, run_id, "--format", "json"))
    assert (listed["reproduces"], listed["verdict"]) == (SHIPPED, expected)


def test_a_run_recorded_here_reproduces_with_pass(template: Path) -> None:
    """PASS itself, on whichever Python runs the suite: a run recorded by this interpreter."""
    first = subprocess.run(
        [sys.executable, RUN_PY, "--experiment", "experiments/my_experiment.yaml"], cwd=template,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    [recorded] = new_runs(template)
    commit_all(template, f"run {recorded}")
    result = reproduce(template, recorded)
    assert result.returncode == 0, result.stdout + result.stderr
    [run_id] = sorted(set(new_runs(template)) - {recorded})
    lines = report(result)
    assert lines[0] == f"reproduction of {recorded}: {run_id} (succeeded)"
    assert section(lines, "metrics")[1:] == METRICS
    assert section(lines, "verdict") == ["verdict: PASS"]
    assert read_json(template / "runs" / run_id / "reproduction.json")["verdict"] == "PASS"


def shown_run(repo: Path, run_id: str, *args: str) -> str:
    """`strata runs show` as a user runs it."""
    code = "import sys; from strataml.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "runs", "show", run_id, *args],
        cwd=repo, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "tools")},  # this checkout's library
    )  # fmt: skip
    return done.stdout


# --- FAIL and DRIFT ------------------------------------------------------------------------------


def test_changed_training_code_fails_with_the_metric_delta(template: Path, here: Reproduce) -> None:
    train = template / "experiments" / "train.py"
    train.write_text(train.read_text().replace(*SEED_PLUS_ONE))
    result = here("--reproduce", SHIPPED)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = report(result)
    assert section(lines, "metrics") == [
        "metrics (tolerance: default):",
        METRICS[0],
        f"  train/loss     0.1783234540568729 -> {SEED_PLUS_ONE_LOSS!r}  delta +2.02e-05  OUT (abs 1e-09, rel 1e-09)",
        METRICS[2],
    ]
    assert section(lines, "code")[-1] == "  command files changed: experiments/train.py"
    drift = python_drift(template / "runs" / SHIPPED)
    assert section(lines, "verdict") == [
        "verdict: FAIL",
        "  metric train/loss is out of tolerance",
        *indented(drift),
        "  code changed since the run: experiments/train.py",
    ]
    [run_id] = new_runs(template)
    verdict = read_json(template / "runs" / run_id / "reproduction.json")
    assert verdict["metrics"]["train/loss"] == {
        "recorded": 0.1783234540568729,
        "reproduced": SEED_PLUS_ONE_LOSS,
        "delta": SEED_PLUS_ONE_LOSS - 0.1783234540568729,
        "tolerance": {"abs": 1e-09, "rel": 1e-09},
        "within": False,
    }
    assert verdict["code"]["changed_files"] == ["experiments/train.py"]
    reasons = [
        "metric train/loss is out of tolerance",
        *drift,
        "code changed since the run: experiments/train.py",
    ]
    assert (
        f"reproduces  {SHIPPED}, verdict FAIL: {'; '.join(reasons)}"
        in shown_run(template, run_id).splitlines()
    )


def test_tolerance_from_the_experiment_spec_turns_the_delta_into_drift(
    template: Path, here: Reproduce
) -> None:
    train = template / "experiments" / "train.py"
    train.write_text(train.read_text().replace(*SEED_PLUS_ONE))
    spec = template / "experiments" / "my_experiment.yaml"
    spec.write_text(
        spec.read_text()
        + "reproduce:\n  tolerance:\n    default: {abs: 0.001}\n    test/accuracy: 0\n"
    )
    commit_all(template, "looser tolerance, another seed")
    result = here("--reproduce", "sunrtb")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = report(result)
    assert section(lines, "metrics") == [
        "metrics (tolerance: experiments/my_experiment.yaml):",
        "  test/accuracy  0.9565217391304348 -> 0.9565217391304348  delta +0  ok (abs 0, rel 0)",
        f"  train/loss     0.1783234540568729 -> {SEED_PLUS_ONE_LOSS!r}  delta +2.02e-05  ok (abs 0.001, rel 0)",
        "  val/accuracy   0.9090909090909091 -> 0.9090909090909091  delta +0  ok (abs 0.001, rel 0)",
    ]
    assert section(lines, "verdict") == [
        "verdict: DRIFT",
        *indented(python_drift(template / "runs" / SHIPPED)),
        f"  code changed since the run: {COMMAND_FILES}",
    ]


def test_environment_differences_are_reported_and_python_minor_drifts(
    template: Path, here: Reproduce
) -> None:
    original = template / "runs" / SHIPPED
    system = read_json(original / "system.json")
    # As if recorded on this interpreter, whichever runs the suite: only the packages differ.
    system["python"].update(
        implementation=platform.python_implementation(), version=platform.python_version()
    )
    system["packages"]["aaa-strata-extra"] = "1.0"
    (original / "system.json").write_text(json.dumps(system, indent=2, sort_keys=True) + "\n")
    stamp_directory(original)  # a test fixture: sealed runs are never re-stamped for real
    result = here("--reproduce", SHIPPED)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = report(result)
    environment = section(lines, "environment")
    assert "    - aaa-strata-extra 1.0" in environment
    [first] = new_runs(template)
    assert environment == environment_lines(original, template / "runs" / first)
    assert section(lines, "verdict") == ["verdict: PASS"]  # package changes alone never DRIFT
    verdict = read_json(template / "runs" / first / "reproduction.json")
    assert verdict["environment"]["packages"]["removed"]["aaa-strata-extra"] == "1.0"

    system["python"]["version"] = "3.10.9"
    (original / "system.json").write_text(json.dumps(system, indent=2, sort_keys=True) + "\n")
    stamp_directory(original)
    result = here("--reproduce", SHIPPED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert section(report(result), "verdict") == [
        "verdict: DRIFT",
        f"  Python CPython 3.10.9 -> CPython {platform.python_version()}",
    ]


# --- inputs --------------------------------------------------------------------------------------


def test_drifted_input_is_run_from_the_pinned_bytes_in_git(template: Path, here: Reproduce) -> None:
    data = template / "datasets/iris/v1/train/iris.csv"
    data.write_bytes(data.read_bytes().replace(b"5.1", b"5.2", 1))
    stamp_directory(template / "datasets/iris/v1")  # re-stamped: the version now claims other bytes
    last = git(template, "log", "-1", "--format=%H", "--", "datasets/iris/v1/metadata.yaml")
    result = here("--reproduce", SHIPPED)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = report(result)
    assert section(lines, "metrics")[1:] == METRICS  # the pinned bytes, not the edited ones
    assert section(lines, "inputs") == [
        "inputs:",
        f"  data  datasets/iris@v1  DRIFTED: pinned bytes restored from commit {last[:12]}",
    ]
    assert section(lines, "verdict") == [
        "verdict: DRIFT",
        *indented(python_drift(template / "runs" / SHIPPED)),
        f"  input data: datasets/iris/v1 no longer holds the pinned bytes (used them from {last[:12]})",
    ]
    assert not (template / ".strata" / "reproduce").exists()


def test_input_whose_pinned_bytes_are_gone_fails_and_runs_nothing(
    template: Path, here: Reproduce
) -> None:
    # A version never committed: once it changes, its pinned bytes exist nowhere.
    version = template / "datasets" / "iris" / "v1"
    (template / "experiments" / "count.yaml").write_text(
        "schema_version: 1\nname: count\ncommand: [python, -c, 'print(1)']\n"
        "inputs:\n  data: datasets/iris@v1\n"
    )
    commit_all(template, "count")
    git(template, "checkout", "-q", "--orphan", "fresh")
    git(template, "rm", "-q", "-r", "--cached", "datasets/iris/v1")
    git(template, "commit", "-q", "-m", "a history without the dataset")
    assert here("--experiment", "experiments/count.yaml").returncode == 0
    [made] = new_runs(template)
    data = version / "train" / "iris.csv"
    data.write_bytes(data.read_bytes().replace(b"5.1", b"5.2", 1))
    now = stamp_directory(version).content_hash
    result = here("--reproduce", made)
    assert result.returncode == 1, result.stdout + result.stderr
    assert report(result) == [
        f"reproduction of {made}: nothing run (not run)",
        "metrics: not compared (nothing was run)",
        "inputs:",
        f"  data  datasets/iris@v1  DRIFTED: datasets/iris/v1 holds {now}; pinned bytes not found",
        "verdict: FAIL",
        "  input data: pinned bytes not found",
    ]
    assert new_runs(template) == [made]


# --- refusals ------------------------------------------------------------------------------------


def test_refusals_exit_2_with_one_line_and_create_nothing(
    template: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(template)

    def refused(*args: str) -> tuple[int, str, str]:
        code = run_main(["--reproduce", *args])
        out, err = capsys.readouterr()
        return code, out, err

    assert refused("nope") == (
        2,
        "",
        "run: error: no run matches 'nope' (see `strata runs list`)\n",
    )
    assert refused("latest", "--set", "epochs=1") == (
        2, "", "run: error: --reproduce RUN takes no other option: it runs the recorded config\n",
    )  # fmt: skip
    metrics = template / "runs" / SHIPPED / "metrics.json"
    metrics.write_text(metrics.read_text().replace("0.9565217391304348", "0.99"))
    assert refused(SHIPPED) == (
        2, "", f"run: error: {SHIPPED}: the record does not match its CHECKSUMS.txt "
        f"(see `strata doctor runs/{SHIPPED}`)\n",
    )  # fmt: skip
    assert new_runs(template) == []


def test_json_exponent_floats_read_as_numbers() -> None:
    # The records are JSON; YAML 1.1 alone would read 1e-09 as a string (doctor reads with it).
    assert parse_yaml(b'{"abs": 1e-09, "big": 2E+5, "text": "1e3"}').data == {
        "abs": 1e-09, "big": 200000.0, "text": "1e3",
    }  # fmt: skip


def test_tolerances_missing_metrics_and_status_decide_fail() -> None:
    spec = {"reproduce": {"tolerance": {"default": {"rel": 0.1}, "loss": 0.5}}}
    tolerances = read_tolerances(spec, "experiments/x.yaml")
    rows = compare_metrics(
        {"acc": 0.5, "f1": 0.5, "loss": 2.0, "gone": 1.0},
        {"acc": 0.549, "f1": 0.56, "loss": 2.5, "new": 3.0},
        tolerances,
    )
    assert {name: row["within"] for name, row in rows.items()} == {
        "acc": True, "f1": False, "gone": False, "loss": True,
    }  # fmt: skip
    assert rows["gone"] == {
        "recorded": 1.0, "reproduced": None, "delta": None,
        "tolerance": {"abs": 0.0, "rel": 0.1}, "within": False,
    }  # fmt: skip
    same = {"recorded": "CPython 3.11.7", "now": "CPython 3.11.9"}
    environment = {"python": same, "os": {"recorded": "Linux a", "now": "Linux b"}}
    code = {"drift": None}
    assert judge(status="failed", metrics=rows, inputs={}, environment=environment, code=code) == (
        "FAIL",
        (
            "the reproduction did not succeed (failed)",
            "metric f1 is out of tolerance",
            "metric gone was not reported",
        ),
    )
    within = {"acc": rows["acc"], "loss": rows["loss"]}
    assert judge(
        status="succeeded", metrics=within, inputs={}, environment=environment, code=code
    ) == ("PASS", ())  # a Python patch release and an OS release are not drift
