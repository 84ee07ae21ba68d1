"""tools/run.py end to end, in real Git repositories, through the real entry point (TFC-0002, TFC-0003)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import commit_all, doctor_script, example_run, git, require_tool
from runkit import RUN_PY, SLEEPER, assert_valid_record, load_record, run_py, runs, write_experiment
from strataml.yamlio import parse_yaml

RECORD_FILES = [
    "CHECKSUMS.txt",
    "artifacts",
    "config.yaml",
    "logs.txt",
    "metrics.json",
    "system.json",
]


# --- the worked example -------------------------------------------------------------------------


def test_example_runs_twice_then_reuses(template: Path) -> None:
    first = run_py(template, "--experiment", "experiments/my_experiment.yaml")
    assert first.returncode == 0, first.stderr
    [run_a] = runs(template)
    assert f"[strata] {run_a} started: runs/{run_a}/\n" in first.stderr
    assert f"[strata] {run_a} succeeded in " in first.stderr
    assert sorted(p.name for p in (template / "runs" / run_a).iterdir()) == RECORD_FILES
    assert_valid_record(template / "runs" / run_a)
    config, system, metrics = load_record(template / "runs" / run_a)
    assert (system["status"], system["exit_code"]) == ("succeeded", 0)
    assert config["inputs"]["data"]["ref"].startswith("datasets/iris@v1#blake3:")
    assert config["code"]["dirty"] is False
    assert config["code"]["commit"] == git(template, "rev-parse", "HEAD").strip()
    assert metrics["final"]["test/accuracy"] >= 0.9
    assert len(metrics["history"]["train/loss"]) == config["params"]["epochs"]
    assert (template / "runs" / run_a / "artifacts" / "model.json").is_file()
    logs = (template / "runs" / run_a / "logs.txt").read_text()
    assert logs.startswith(f"[strata] {run_a} started at ")
    assert logs.endswith("s\n") and f"[strata] {run_a} succeeded (exit code 0) after " in logs

    second = run_py(template, "--experiment", "experiments/my_experiment.yaml")
    assert second.returncode == 0, second.stderr
    run_b = next(r for r in runs(template) if r != run_a)
    assert load_record(template / "runs" / run_b)[0]["fingerprint"] == config["fingerprint"]

    third = run_py(template, "--experiment", "experiments/my_experiment.yaml", "--reuse")
    assert third.returncode == 0, third.stderr
    assert runs(template) == sorted([run_a, run_b])
    latest = max([run_a, run_b], key=lambda r: load_record(template / "runs" / r)[0]["created"])
    assert third.stderr.startswith(f"[strata] {latest} reused: same fingerprint blake3:")
    assert third.stdout == ""


def test_finished_run_verifies_with_b3sum_and_doctor(template: Path) -> None:
    b3sum = require_tool("b3sum")
    assert run_py(template, "--experiment", "experiments/my_experiment.yaml").returncode == 0
    [run_id] = runs(template)
    check = subprocess.run(
        [b3sum, "--check", "CHECKSUMS.txt"],
        cwd=template / "runs" / run_id,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.splitlines() == [
        "artifacts/model.json: OK", "config.yaml: OK", "logs.txt: OK", "metrics.json: OK", "system.json: OK",
    ]  # fmt: skip
    commit_all(template, "record the run")
    report = doctor_script(template, "--strict")
    assert (report.returncode, report.stderr) == (0, ""), report.stdout
    assert (
        report.stdout
        == "OK (strict): 0 errors, 0 warnings, 0 info; 7 artifacts checked, 36 files hashed\n"
    )


# --- bad specs and overrides create nothing -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "args", "message"),
    [
        ("command: [sh, -c, 'exit 0']\nsurprise: 1\n", (), "run: error: experiments/bad.yaml:4: unexpected key 'surprise'\n"),
        ("command: [sh, -c, 'exit 0']\ninputs:\n  data: datasets/nope@v1\n", (), "run: error: input data: datasets/nope@v1 does not exist (no directory datasets/nope/v1)\n"),
        ("command: [sh, -c, 'exit 0']\nparams:\n  epochs: 3\n", ("--set", "epochs"), "run: error: --set 'epochs': expected key=value, the key a parameter name (dots for nesting)\n"),
        ("command: [sh, -c, 'exit 0']\nparams:\n  epochs: 3\n", ("--set", "epochs=many"), "run: error: --set epochs: 'many' is a string but the parameter is an integer (3)\n"),
        ("command: [sh, -c, 'exit 0']\nparams:\n  epochs: 3\n", ("--set", "epoch=4"), "run: error: --set epoch: the experiment has no parameter 'epoch'\n"),
        ("command: echo hi\n", (), "run: error: experiments/bad.yaml:3: command is a string; write it as a list, or set shell: true\n"),
        ("command: [sh, -c, 'exit 0']\ntimeout: soon\n", (), "run: error: experiments/bad.yaml:4: timeout: 'soon' does not match '^[0-9]+(s|m|h)$'\n"),
    ],
    ids=["unknown-key", "missing-input", "set-without-value", "set-wrong-type", "set-unknown-param", "string-command", "bad-timeout"],
)  # fmt: skip
def test_bad_spec_exits_2_with_one_line_and_creates_nothing(
    template: Path, body: str, args: tuple[str, ...], message: str
) -> None:
    spec = write_experiment(template, "bad", body)
    result = run_py(template, "--experiment", spec, *args)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)
    assert runs(template) == []
    assert not (template / ".strata").exists()


def test_pinned_input_that_does_not_match_exits_2(template: Path) -> None:
    spec = write_experiment(
        template,
        "pinned",
        "command: [sh, -c, 'exit 0']\ninputs:\n  data: datasets/iris@v1#blake3:" + "0" * 64 + "\n",
    )
    result = run_py(template, "--experiment", spec)
    actual = parse_yaml((template / "datasets/iris/v1/metadata.yaml").read_bytes()).data[
        "content_hash"
    ]
    assert (result.returncode, result.stderr) == (
        2,
        f"run: error: input data: datasets/iris@v1#blake3:{'0' * 64} is pinned to blake3:{'0' * 64} but datasets/iris/v1 holds {actual}\n",
    )
    assert runs(template) == []


def test_tampered_input_refuses_to_run(template: Path) -> None:
    data = template / "datasets/iris/v1/train/iris.csv"
    data.write_bytes(data.read_bytes().replace(b"5.1", b"5.2", 1))
    spec = write_experiment(
        template, "reads", "command: [sh, -c, 'exit 0']\ninputs:\n  data: datasets/iris@v1\n"
    )
    result = run_py(template, "--experiment", spec)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "run: error: input data: datasets/iris/v1/train/iris.csv: CHK005 content does not match CHECKSUMS.txt line 4"
    )
    assert runs(template) == []


def test_dry_run_prints_the_config_and_creates_nothing(template: Path) -> None:
    result = run_py(
        template, "--experiment", "experiments/my_experiment.yaml", "--dry-run", "--set", "epochs=7"
    )
    assert result.returncode == 0, result.stderr
    config = parse_yaml(result.stdout.encode()).data
    assert config["run_id"] == "<claimed at start>"
    assert config["params"]["epochs"] == 7
    assert config["experiment"]["spec"]["params"]["epochs"] == 7
    assert config["fingerprint"].startswith("blake3:")
    assert runs(template) == []


# --- how commands end ---------------------------------------------------------------------------


def test_shell_script_metrics_by_json_lines(template: Path) -> None:
    script = """#!/bin/sh
for step in 0 1 2; do
  echo "{\\"name\\": \\"loss\\", \\"value\\": 0.$((9 - step)), \\"step\\": $step}" >> "$STRATA_METRICS_FILE"
done
echo '{"name": "accuracy", "value": 0.75}' >> "$STRATA_METRICS_FILE"
echo 'not json' >> "$STRATA_METRICS_FILE"
echo "params: $STRATA_PARAMS"
echo done > "$STRATA_OUTPUT_DIR/out.txt"
"""
    spec = write_experiment(
        template,
        "shell",
        "command: [sh, experiments/metrics.sh]\nparams:\n  k: 2\noutputs: [out.txt]\n",
        {"experiments/metrics.sh": script},
    )
    result = run_py(template, "--experiment", spec)
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'params: {"k": 2}\n'
    [run_id] = runs(template)
    _, _, metrics = load_record(template / "runs" / run_id)
    assert metrics == {
        "schema_version": 1,
        "final": {"accuracy": 0.75, "loss": 0.7},
        "history": {
            "loss": [
                {"step": 0, "value": 0.9},
                {"step": 1, "value": 0.8},
                {"step": 2, "value": 0.7},
            ]
        },
    }
    assert (
        "[strata] metrics line 5: not a JSON object"
        in (template / "runs" / run_id / "logs.txt").read_text()
    )


@pytest.mark.parametrize(
    ("command", "outputs", "exit_code", "status"),
    [
        ("[sh, -c, 'exit 3']", "[]", 3, "failed"),
        ("[sh, -c, 'exit 0']", "[model.bin]", 1, "failed"),
        ("[/nonexistent/program]", "[]", 127, "failed"),
        ("[sh, -c, 'kill -9 $$']", "[]", 137, "failed"),
    ],
    ids=["non-zero", "missing-output", "cannot-start", "killed-by-signal"],
)  # fmt: skip
def test_failures_are_recorded_and_sealed(
    template: Path, command: str, outputs: str, exit_code: int, status: str
) -> None:
    spec = write_experiment(template, "fails", f"command: {command}\noutputs: {outputs}\n")
    result = run_py(template, "--experiment", spec)
    assert result.returncode == exit_code, result.stderr
    [run_id] = runs(template)
    run_dir = template / "runs" / run_id
    no_outputs = [name for name in RECORD_FILES if name != "artifacts"]  # TFC-0003 R1
    assert sorted(p.name for p in run_dir.iterdir()) == no_outputs
    assert_valid_record(run_dir)
    assert load_record(run_dir)[1]["status"] == status


def test_timeout_stops_the_command_group(template: Path) -> None:
    spec = write_experiment(
        template,
        "slow",
        "command: [python, experiments/sleeper.py]\ntimeout: 1s\n",
        {"experiments/sleeper.py": SLEEPER},
    )
    started = time.monotonic()
    result = run_py(template, "--experiment", spec)
    assert time.monotonic() - started < 15
    assert result.returncode == 128 + signal.SIGTERM
    [run_id] = runs(template)
    _config, system, _ = load_record(template / "runs" / run_id)
    assert (system["status"], system["exit_code"]) == ("failed", -signal.SIGTERM)
    logs = (template / "runs" / run_id / "logs.txt").read_text()
    assert "ready\n[strata] timeout after 1 s: sending SIGTERM\n" in logs


def test_sigint_records_interrupted_and_keeps_logs(template: Path) -> None:
    spec = write_experiment(
        template,
        "slow",
        "command: [python, experiments/sleeper.py]\n",
        {"experiments/sleeper.py": SLEEPER},
    )
    proc = subprocess.Popen(
        [sys.executable, RUN_PY, "--experiment", spec],
        cwd=template,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    [run_id] = runs(template)
    run_dir = template / "runs" / run_id
    _, system, _ = load_record(run_dir)
    assert system["status"] == "interrupted"
    assert "ready\n" in (run_dir / "logs.txt").read_text()
    assert (run_dir / "CHECKSUMS.txt").is_file()
    assert_valid_record(run_dir)


def test_sigkill_of_the_runner_leaves_a_run_doctor_reports(template: Path) -> None:
    spec = write_experiment(
        template,
        "slow",
        "command: [python, experiments/sleeper.py]\n",
        {"experiments/sleeper.py": SLEEPER},
    )
    proc = subprocess.Popen(
        [sys.executable, RUN_PY, "--experiment", spec],
        cwd=template,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its command, like a power cut
    proc.communicate(timeout=30)
    [run_id] = runs(template)
    run_dir = template / "runs" / run_id
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "artifacts",
        "config.yaml",
        "logs.txt",
        "system.json",
    ]
    assert_valid_record(run_dir)  # every file whole
    report = doctor_script(template)
    assert report.returncode == 1
    assert report.stderr == "" and "Traceback" not in report.stdout
    assert f"runs/{run_id}\n" in report.stdout
    assert " RUN" in report.stdout


def test_no_secrets_in_the_record(template: Path) -> None:
    secret = "s3cr3t-value-9f8e7d"
    result = run_py(
        template,
        "--experiment",
        "experiments/my_experiment.yaml",
        env={"API_TOKEN": secret, "DB_PASSWORD": secret},
    )
    assert result.returncode == 0, result.stderr
    [run_id] = runs(template)
    for path in (template / "runs" / run_id).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


# --- fingerprints -------------------------------------------------------------------------------


def test_changed_input_misses_reuse_and_doctor_flags_the_pin(template: Path) -> None:
    assert run_py(template, "--experiment", "experiments/my_experiment.yaml").returncode == 0
    [run_id] = runs(template)
    commit_all(template, "the run")
    data = template / "datasets/iris/v1/train/iris.csv"
    data.write_bytes(data.read_bytes().replace(b"5.1", b"5.2", 1))
    from strataml.integrity.stamp import stamp_directory

    stamp_directory(template / "datasets/iris/v1")  # the user re-stamps the changed data
    again = run_py(template, "--experiment", "experiments/my_experiment.yaml", "--reuse")
    assert again.returncode == 0, again.stderr
    assert "reused" not in again.stderr
    assert len(runs(template)) == 2
    report = doctor_script(template)
    assert report.returncode == 1
    pin_lines = [
        line
        for line in report.stdout.splitlines()
        if line.startswith("  config.yaml") and " RUN" in line
    ]
    assert pin_lines and "datasets/iris@v1" in pin_lines[0], report.stdout
    assert report.stdout.index(f"runs/{run_id}\n") >= 0


def test_changed_params_or_code_change_the_fingerprint(template: Path) -> None:
    def fingerprint(*args: str) -> str:
        out = run_py(template, "--experiment", "experiments/my_experiment.yaml", "--dry-run", *args)
        assert out.returncode == 0, out.stderr
        return str(parse_yaml(out.stdout.encode()).data["fingerprint"])

    base = fingerprint()
    assert fingerprint() == base
    assert fingerprint("--set", "epochs=7") != base
    assert fingerprint("--tag", "x", "--name", "label") == base  # labels are not the computation
    (template / "experiments" / "train.py").write_text(
        (template / "experiments" / "train.py").read_text() + "\n# edit\n"
    )
    assert fingerprint() != base


def test_the_record_names_the_branch_the_commit_and_whether_code_changed(template: Path) -> None:
    """system.json's git facts come from the git binary: a branch with a slash, a detached HEAD,
    and an edited code file."""

    def git_facts() -> dict[str, object]:
        out = run_py(template, "--experiment", "experiments/my_experiment.yaml")
        assert out.returncode == 0, out.stderr
        [newest] = runs(template)[-1:]
        facts = json.loads((template / "runs" / newest / "system.json").read_text())["git"]
        shutil.rmtree(template / "runs" / newest)
        return dict(facts)

    head = git(template, "rev-parse", "HEAD").strip()
    git(template, "checkout", "-q", "-b", "feature/x")
    assert git_facts() == {"commit": head, "branch": "feature/x", "dirty": False}
    git(template, "checkout", "-q", "--detach")
    assert git_facts() == {"commit": head, "branch": None, "dirty": False}
    with (template / "experiments" / "train.py").open("a") as script:
        script.write("\n# edit\n")
    assert git_facts() == {"commit": head, "branch": None, "dirty": True}


# --- many at once -------------------------------------------------------------------------------


def test_twenty_parallel_runs_get_twenty_distinct_complete_directories(template: Path) -> None:
    spec = write_experiment(
        template,
        "quick",
        "command: [sh, -c, 'echo $STRATA_RUN_ID > $STRATA_OUTPUT_DIR/id.txt']\noutputs: [id.txt]\n",
    )
    procs = [
        subprocess.Popen([sys.executable, RUN_PY, "--experiment", spec], cwd=template, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(20)
    ]  # fmt: skip
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 20, errors
    found = runs(template)
    assert len(found) == 20
    for run_id in found:
        run_dir = template / "runs" / run_id
        assert sorted(p.name for p in run_dir.iterdir()) == RECORD_FILES
        assert (run_dir / "artifacts" / "id.txt").read_text() == f"{run_id}\n"
    commit_all(template, "twenty runs")
    report = doctor_script(template, "--strict")
    assert report.returncode == 0, report.stdout


def test_sweep_runs_every_point_with_jobs(template: Path) -> None:
    spec = write_experiment(
        template,
        "grid",
        'command: [sh, -c, \'echo {\\"name\\": \\"a\\", \\"value\\": 1} >> $STRATA_METRICS_FILE\']\nparams:\n  lr: 0.1\n  depth: 1\nsweep:\n  grid:\n    lr: [0.1, 0.2]\n    depth: [1, 2, 3]\n',
    )
    result = run_py(template, "--experiment", spec, "--jobs", "2")
    assert result.returncode == 0, result.stderr
    found = runs(template)
    assert len(found) == 6
    points = sorted(
        (c["params"]["lr"], c["params"]["depth"])
        for c in (load_record(template / "runs" / r)[0] for r in found)
    )
    assert points == [(0.1, 1), (0.1, 2), (0.1, 3), (0.2, 1), (0.2, 2), (0.2, 3)]
    assert "sweep: 6 of 6 points ran or were reused\n" in result.stderr
    assert result.stderr.endswith("  6 succeeded\n")


def test_a_new_run_sweeps_the_scratch_of_runs_that_are_sealed_or_gone(template: Path) -> None:
    scratch = template / ".strata" / "runs"
    shipped = example_run()
    live = "run-2026-01-02-live01"  # unsealed: maybe running, maybe killed with salvageable metrics
    (template / "runs" / live).mkdir()
    for name in (shipped, "run-2026-01-01-gone01", live, "not-a-run"):
        (scratch / name).mkdir(parents=True)
        (scratch / name / "metrics.jsonl").write_text('{"step": 0}\n')
    done = run_py(template, "--experiment", "experiments/my_experiment.yaml")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in scratch.iterdir()) == ["not-a-run", live]
    assert (scratch / live / "metrics.jsonl").read_text() == '{"step": 0}\n'
