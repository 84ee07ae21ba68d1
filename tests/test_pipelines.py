"""Pipelines (TFC-0002 R18-R21): real Git repositories, the real tools/run.py in a subprocess."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (
    PIPELINE_RUNS,
    RunCli,
    assert_check_jsonschema,
    commit_all,
    doctor_script,
    fork_template,
    git,
    without_pipeline_runs,
)
from runkit import RUN_PY, SLEEPER, load_record, run_py, runs
from strataml.errors import UsageError
from strataml.integrity.digest import Digest
from strataml.integrity.stamp import stamp_directory

PIPELINE = "pipelines/iris.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fork without the example pipeline's shipped runs: each test starts from never run."""
    return without_pipeline_runs(fork_template(tmp_path / "repo"))


def test_the_template_ships_its_pipeline_up_to_date(tmp_path: Path, strata: RunCli) -> None:
    """A fresh fork: the three shipped stage runs are current, and running reuses them all."""
    fork = fork_template(tmp_path / "fork")
    assert {r: stage_of(fork, r) for r in PIPELINE_RUNS} == PIPELINE_RUNS
    prepare, train, evaluate = PIPELINE_RUNS
    assert status(strata, fork) == (0, (
        f"{PIPELINE}\n"
        f"  prepare   up to date  {prepare}\n"
        f"  train     up to date  {train}\n"
        f"  evaluate  up to date  {evaluate}\n"
        "  3 up to date\n"
    ))  # fmt: skip
    assert run_pipeline(fork) == []  # all three reused
    assert status(strata, fork, "--check")[0] == 0


def run_pipeline(repo: Path, *args: str) -> list[str]:
    """Run the pipeline; the runs it made, oldest claim first."""
    before = set(runs(repo))
    done = run_py(repo, "--pipeline", PIPELINE, *args)
    assert done.returncode == 0, done.stderr
    return sorted(
        set(runs(repo)) - before, key=lambda r: load_record(repo / "runs" / r)[0]["created"]
    )


def stage_of(repo: Path, run_id: str) -> str:
    stage: str = load_record(repo / "runs" / run_id)[0]["pipeline"]["stage"]
    return stage


def listed(repo: Path, run_id: str, path: str) -> str:
    for line in (repo / "runs" / run_id / "CHECKSUMS.txt").read_text().splitlines():
        digest, name = line.split("  ", 1)
        if name == path:
            return f"blake3:{digest}"
    raise AssertionError(f"{path} not in {run_id}")


def status(strata: RunCli, repo: Path, *args: str) -> tuple[int, str]:
    code, out, err = strata("status", str(repo / PIPELINE), *args)
    assert err == ""
    return code, out


def test_a_changed_learning_rate_reruns_train_and_evaluate_only(repo: Path, strata: RunCli) -> None:
    first = run_pipeline(repo)
    prepare, train, evaluate = first
    assert [stage_of(repo, r) for r in first] == ["prepare", "train", "evaluate"]
    commit_all(repo, "first runs")
    spec = repo / PIPELINE
    spec.write_text(spec.read_text().replace("lr: 0.1", "lr: 0.2"))

    assert status(strata, repo) == (0, (
        f"{PIPELINE}\n"
        f"  prepare   up to date  {prepare}\n"
        f"  train     stale       param lr: 0.1 -> 0.2\n"
        f"  evaluate  stale       upstream train is stale\n"
        "  1 up to date, 2 stale\n"
    ))  # fmt: skip
    assert status(strata, repo, "--check")[0] == 1

    second = run_pipeline(repo)
    assert [stage_of(repo, r) for r in second] == ["train", "evaluate"]  # exactly those two
    new_train, new_evaluate = second
    config = load_record(repo / "runs" / new_train)[0]
    assert config["params"] == {"lr": 0.2}
    assert config["pipeline"]["upstream"] == {
        "train": {"stage": "prepare", "output": "train.csv", "run": prepare,
                  "content_hash": listed(repo, prepare, "artifacts/train.csv")},
    }  # fmt: skip
    upstream = load_record(repo / "runs" / new_evaluate)[0]["pipeline"]["upstream"]
    assert {n: (u["stage"], u["run"]) for n, u in upstream.items()} == {
        "model": ("train", new_train),
        "test": ("prepare", prepare),
    }
    assert upstream["model"]["content_hash"] == listed(repo, new_train, "artifacts/model.json")
    assert status(strata, repo, "--check") == (0, (
        f"{PIPELINE}\n"
        f"  prepare   up to date  {prepare}\n"
        f"  train     up to date  {new_train}\n"
        f"  evaluate  up to date  {new_evaluate}\n"
        "  3 up to date\n"
    ))  # fmt: skip
    assert train not in second and evaluate not in second


def test_editing_the_prepare_script_makes_all_stale_and_reverting_it_does_not(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    prepare, train, evaluate = run_pipeline(repo)
    commit_all(repo, "runs")
    script = repo / "experiments/iris_pipeline/prepare.py"
    script.write_text(script.read_text() + "# tuned\n")
    code, out = status(strata, repo, "--format", "json")
    assert code == 0  # only --check fails on a stale stage
    document = json.loads(out)
    assert [(s["stage"], s["state"], s["run"], [r["text"] for r in s["reasons"]])
            for s in document["pipelines"][0]["stages"]] == [
        ("prepare", "stale", prepare, ["code file experiments/iris_pipeline/prepare.py changed"]),
        ("train", "stale", train, ["upstream prepare is stale"]),
        ("evaluate", "stale", evaluate, ["upstream prepare is stale", "upstream train is stale"]),
    ]  # fmt: skip
    (tmp_path / "status.json").write_text(out)
    assert_check_jsonschema(tmp_path / "status.json", "status")

    git(repo, "checkout", "--", "experiments/iris_pipeline/prepare.py")  # fingerprints, not times
    assert status(strata, repo, "--check")[0] == 0
    assert run_pipeline(repo) == []  # all three reused


def test_a_pipelines_runs_survive_a_clone(repo: Path, tmp_path: Path) -> None:
    made = run_pipeline(repo, "--jobs", "2")
    assert len(made) == 3
    commit_all(repo, "pipeline runs")
    git(tmp_path, "clone", "-q", str(repo), str(tmp_path / "clone"))
    checked = doctor_script(tmp_path / "clone", "--strict")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_failing_stage_stops_its_dependants(repo: Path) -> None:
    script = repo / "experiments/iris_pipeline/train.py"
    script.write_text("import sys\nsys.exit(3)\n")
    commit_all(repo, "broken train")
    done = run_py(repo, "--pipeline", PIPELINE)
    assert done.returncode == 3
    made = runs(repo)
    assert sorted(stage_of(repo, r) for r in made) == ["prepare", "train"]
    statuses = {stage_of(repo, r): load_record(repo / "runs" / r)[1]["status"] for r in made}
    assert statuses == {"prepare": "succeeded", "train": "failed"}
    summary = done.stderr[done.stderr.index("pipeline pipelines/iris.yaml") :]
    prepare = next(r for r in made if statuses[stage_of(repo, r)] == "succeeded")
    train = next(r for r in made if r != prepare)
    assert summary == (
        "pipeline pipelines/iris.yaml: 3 stages\n"
        f"  prepare   succeeded    {prepare}\n"
        f"  train     failed       {train}\n"
        "  evaluate  not run: upstream train failed\n"
        "  1 succeeded, 1 failed, 1 not run\n"
    )
    assert "[strata] evaluate: not run: upstream train failed\n" in done.stderr


def test_force_reruns_one_stage_and_its_unchanged_output_keeps_the_rest(repo: Path) -> None:
    prepare, _, _ = run_pipeline(repo)
    again = run_pipeline(repo, "--force", "prepare")
    assert [stage_of(repo, r) for r in again] == ["prepare"]  # same bytes: train, evaluate reused
    assert again != [prepare]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "schema_version: 1\nname: iris\nstages:\n  a:\n    command: [sh]\n"
            "    inputs:\n      x: {stage: b, output: o}\n    outputs: [o]\n"
            "  b:\n    command: [sh]\n    inputs:\n      y: {stage: a, output: o}\n    outputs: [o]\n",
            "pipelines/iris.yaml:4: PIP002 stages form a cycle: a -> b -> a\n"
            "  hint: a stage cannot consume its own output, directly or through others\n",
        ),
        (
            "schema_version: 1\nname: iris\nstages:\n  a:\n    command: [sh]\n    outputs: [../o]\n",
            "pipelines/iris.yaml:6: LAY013 stages.a.outputs[0]: '../o' is absolute, has '..' or control characters, or is empty\n"
            "  hint: write a relative path with '/' that stays inside (no '..', no leading '/')\n",
        ),
        (
            "schema_version: 1\nname: iris\nstages:\n  a: [unclosed\n",
            "pipelines/iris.yaml:5: SCH001 while parsing a flow sequence did not find expected "
            "',' or ']'\n  hint: fix the YAML syntax; quote strings holding ': ' or '#'\n",
        ),
        (
            "schema_version: 1\nname: iris\nstages:\n  a:\n    command: [sh]\n"
            "    resources: {memory: lots}\n",
            "pipelines/iris.yaml:6: SCH003 stages.a.resources.memory: 'lots' does not match "
            "'^[1-9][0-9]{0,8}(K|M|G|T)$'\n  hint: see schemas/pipeline.schema.json\n",
        ),
    ],
    ids=["cycle", "escaping-output", "malformed-yaml", "bad-resources"],
)
def test_a_bad_pipeline_is_refused_before_anything_is_created(
    repo: Path, text: str, expected: str
) -> None:
    (repo / PIPELINE).write_text(text)
    done = run_py(repo, "--pipeline", PIPELINE)
    assert done.returncode == 2
    assert done.stdout == ""
    assert runs(repo) == []
    assert done.stderr == f"run: error: {expected}"


def test_an_unknown_forced_stage_is_refused(repo: Path) -> None:
    done = run_py(repo, "--pipeline", PIPELINE, "--force", "trian")
    assert (done.returncode, done.stderr) == (
        2, "run: error: --force trian: pipelines/iris.yaml has no stage 'trian' (did you mean train?)\n"
    )  # fmt: skip
    assert runs(repo) == []


def test_ctrl_c_seals_the_running_stage_and_starts_nothing_after(repo: Path) -> None:
    (repo / "experiments/sleeper.py").write_text(SLEEPER)
    (repo / PIPELINE).write_text(
        "schema_version: 1\nname: slow\nstages:\n"
        "  nap:\n    command: [python, experiments/sleeper.py]\n    outputs: [none.txt]\n"
        "  after:\n    command: [python, experiments/sleeper.py]\n"
        "    inputs:\n      log: {stage: nap, output: none.txt}\n"
    )
    commit_all(repo, "slow pipeline")
    proc = subprocess.Popen(
        [sys.executable, RUN_PY, "--pipeline", PIPELINE], cwd=repo, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    [nap] = runs(repo)
    _, system, _ = load_record(repo / "runs" / nap)
    assert system["status"] == "interrupted"
    assert (repo / "runs" / nap / "CHECKSUMS.txt").is_file()  # sealed, not half-sealed
    assert err.endswith(
        "pipeline pipelines/iris.yaml: 2 stages\n"
        f"  nap    interrupted  {nap}\n"
        "  after  not run: upstream nap interrupted\n"
        "  1 interrupted, 1 not run\n"
    )


RENDEZVOUS = """\
import os, pathlib, sys, time
meet = pathlib.Path(os.environ["MEET_DIR"])
(meet / sys.argv[1]).touch()
deadline = time.monotonic() + 30
while not (meet / sys.argv[2]).exists():  # only a stage running beside this one can end the wait
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.02)
(pathlib.Path(os.environ["STRATA_OUTPUT_DIR"]) / "done.txt").write_text(sys.argv[1])
"""


def test_independent_stages_run_side_by_side(repo: Path, tmp_path: Path) -> None:
    (repo / "experiments/meet.py").write_text(RENDEZVOUS)
    (repo / PIPELINE).write_text(
        "schema_version: 1\nname: pair\nstages:\n"
        "  left:\n    command: [python, experiments/meet.py, left, right]\n    outputs: [done.txt]\n"
        "  right:\n    command: [python, experiments/meet.py, right, left]\n    outputs: [done.txt]\n"
        '  join:\n    command: [python, -c, \'import os; open(os.environ["STRATA_OUTPUT_DIR"]'
        ' + "/both.txt", "w").write(open(os.environ["STRATA_INPUT_A"]).read()'
        ' + open(os.environ["STRATA_INPUT_B"]).read())\']\n'
        "    inputs:\n      a: {stage: left, output: done.txt}\n"
        "      b: {stage: right, output: done.txt}\n    outputs: [both.txt]\n"
    )
    commit_all(repo, "a pair that must meet")
    (tmp_path / "meet").mkdir()
    done = run_py(
        repo, "--pipeline", PIPELINE, "--jobs", "2", env={"MEET_DIR": str(tmp_path / "meet")}
    )
    assert done.returncode == 0, done.stderr
    [join] = [r for r in runs(repo) if stage_of(repo, r) == "join"]
    assert (repo / "runs" / join / "artifacts/both.txt").read_text() == "leftright"


def test_a_stage_run_is_not_reproduced_alone(repo: Path) -> None:
    _, train, _ = run_pipeline(repo)
    done = run_py(repo, "--reproduce", train)
    assert (done.returncode, done.stderr) == (2, (
        f"run: error: {train} is stage train of pipelines/iris.yaml; re-run it with "
        "`tools/run.py --pipeline pipelines/iris.yaml --force train`\n"
    ))  # fmt: skip


def test_a_new_dataset_version_makes_the_stage_reading_latest_stale(
    repo: Path, strata: RunCli
) -> None:
    spec = repo / PIPELINE
    spec.write_text(
        spec.read_text().replace("data: datasets/iris@v1", "data: datasets/iris@latest")
    )
    prepare, train, evaluate = run_pipeline(repo)
    v2 = repo / "datasets/iris/v2"
    shutil.copytree(repo / "datasets/iris/v1", v2)
    (v2 / "SIGNATURE.asc").unlink(missing_ok=True)
    metadata = v2 / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace("version: v1", "version: v2"))
    rows = v2 / "test" / "iris.csv"
    rows.write_text(rows.read_text().replace("setosa", "virginica", 1))  # other bytes
    stamp_directory(v2)
    commit_all(repo, "iris v2")
    assert status(strata, repo) == (0, (
        f"{PIPELINE}\n"
        f"  prepare   stale       input data: datasets/iris has a new version: v1 -> v2\n"
        f"  train     stale       upstream prepare is stale\n"
        f"  evaluate  stale       upstream prepare is stale\n"
        f"                        upstream train is stale\n"
        "  3 stale\n"
    ))  # fmt: skip
    assert run_pipeline(repo) != [prepare, train, evaluate]


def test_a_missing_pipeline_file_is_named_with_the_nearest(repo: Path) -> None:
    done = run_py(repo, "--pipeline", "pipelines/irs.yaml")
    assert (done.returncode, done.stderr) == (
        2, "run: error: pipelines/irs.yaml: cannot read the pipeline: No such file or directory"
        " (did you mean iris.yaml?)\n",
    )  # fmt: skip


def test_status_of_a_pipeline_never_run(
    repo: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    assert strata("status", "--check") == (1, (
        f"{PIPELINE}\n"
        "  prepare   never run\n"
        "  train     never run   upstream prepare was never run\n"
        "  evaluate  never run   upstream prepare was never run\n"
        "                        upstream train was never run\n"
        "  3 never run\n"
    ), "")  # fmt: skip


SPLIT = """\
import os, pathlib
out = pathlib.Path(os.environ["STRATA_OUTPUT_DIR"]) / "splits"
out.mkdir()
(out / "a.txt").write_text("a")
(out / "b.txt").write_text("b")
"""
COUNT = """\
import os, pathlib
found = sorted(p.name for p in pathlib.Path(os.environ["STRATA_INPUT_PARTS"]).iterdir())
(pathlib.Path(os.environ["STRATA_OUTPUT_DIR"]) / "count.txt").write_text(",".join(found))
"""


def test_a_directory_output_is_pinned_by_its_listing(repo: Path) -> None:
    (repo / "experiments/split.py").write_text(SPLIT)
    (repo / "experiments/count.py").write_text(COUNT)
    (repo / PIPELINE).write_text(
        "schema_version: 1\nname: parts\nstages:\n"
        "  split:\n    command: [python, experiments/split.py]\n    outputs: [splits]\n"
        "  count:\n    command: [python, experiments/count.py]\n"
        "    inputs:\n      parts: {stage: split, output: splits}\n    outputs: [count.txt]\n"
    )
    split, count = run_pipeline(repo)
    assert (repo / "runs" / count / "artifacts/count.txt").read_text() == "a.txt,b.txt"
    pin = load_record(repo / "runs" / count)[0]["pipeline"]["upstream"]["parts"]
    listing = (
        f"{listed(repo, split, 'artifacts/splits/a.txt')[7:]}  a.txt\n"
        f"{listed(repo, split, 'artifacts/splits/b.txt')[7:]}  b.txt\n"
    )
    assert pin["content_hash"] == str(Digest.of(listing.encode()))
    commit_all(repo, "runs")
    checked = doctor_script(repo, "--strict")
    assert checked.returncode == 0, checked.stdout


def test_an_empty_directory_output_fails_its_stage_and_stops_its_consumer(repo: Path) -> None:
    (repo / "experiments/empty.py").write_text(
        "import os, pathlib\n(pathlib.Path(os.environ['STRATA_OUTPUT_DIR']) / 'ckpt').mkdir()\n"
    )
    (repo / PIPELINE).write_text(
        "schema_version: 1\nname: hollow\nstages:\n"
        "  a:\n    command: [python, experiments/empty.py]\n    outputs: [ckpt]\n"
        "  b:\n    command: [python, experiments/empty.py]\n"
        "    inputs:\n      c: {stage: a, output: ckpt}\n    outputs: [ckpt]\n"
    )
    done = run_py(repo, "--pipeline", PIPELINE)
    [made] = runs(repo)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-3:] == [
        f"  a  failed       {made}",
        "  b  not run: upstream a failed",
        "  1 failed, 1 not run",
    ]
    _, system, _ = load_record(repo / "runs" / made)
    assert system["reason"] == "declared output ckpt holds no file in artifacts/"


def test_status_follows_the_pipelines_name_and_says_what_no_longer_resolves(
    repo: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_pipeline(repo)
    monkeypatch.chdir(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "runs")
    git(repo, "mv", PIPELINE, "pipelines/iris_v2.yaml")  # same name inside: the same stages
    code, out, _ = strata("status", "--check")
    assert (code, out.splitlines()[-1]) == (0, "  3 up to date")
    spec = repo / "pipelines/iris_v2.yaml"
    spec.write_text(spec.read_text().replace("datasets/iris@v1", "datasets/iris@v9"))
    code, out, _ = strata("status", "--check")
    assert code == 1
    assert out.splitlines()[1:3] == [
        "  prepare   stale       pipelines/iris_v2.yaml: stage prepare input data: LIN001 "
        "datasets/iris@v9: no version v9 (it has v1)",
        "  train     stale       upstream prepare is stale",
    ]


def test_code_is_every_program_and_script_word_inside_the_repository(repo: Path) -> None:
    from strataml.registry.pipelines import PipelineError, load_pipeline

    (repo / "experiments/go.sh").write_text("echo go\n")
    (repo / "experiments/link").symlink_to(repo.parent)
    (repo / PIPELINE).write_text(
        "schema_version: 1\nname: words\nstages:\n"
        "  a:\n    command: [experiments/go.sh, ./experiments/go.sh, runs/x, ./runs/y]\n"
        "    outputs: [out.txt]\n"
    )
    pipeline = load_pipeline(repo, repo / PIPELINE)
    assert pipeline.stages["a"].code_paths(repo) == ("experiments/go.sh",)
    for listed_code in ("./runs/run-2026-11-25-sunrtb/CHECKSUMS.txt", "experiments/link/x.py"):
        (repo / PIPELINE).write_text(
            "schema_version: 1\nname: words\nstages:\n"
            f"  a:\n    command: [sh, -c, 'true']\n    code: ['{listed_code}']\n"
            "    outputs: [out.txt]\n"
        )
        with pytest.raises(PipelineError) as refused:
            load_pipeline(repo, repo / PIPELINE)
        assert refused.value.problem.code == "PIP001", listed_code
    (repo / "pipelines/linked.yaml").symlink_to(repo / PIPELINE)
    with pytest.raises(UsageError) as refused_link:
        load_pipeline(repo, repo / "pipelines/linked.yaml")
    assert str(refused_link.value) == (
        f"{repo}/pipelines/linked.yaml: pipelines/linked.yaml is a symlink or leaves the "
        "repository; a pipeline is a file under pipelines/"
    )
    done = run_py(repo, "--reproduce", "latest", "--pipeline", PIPELINE)
    assert (done.returncode, done.stderr) == (
        2, "run: error: --reproduce RUN takes no other option: it runs the recorded config\n"
    )  # fmt: skip


def test_status_names_a_changed_command_output_or_input_name(repo: Path, strata: RunCli) -> None:
    prepare, train, evaluate = run_pipeline(repo)
    spec = repo / PIPELINE
    spec.write_text(
        spec.read_text()
        .replace("iris_pipeline/train.py]", "iris_pipeline/train.py, -v]")
        .replace("outputs: [report.json]", "outputs: [report.json, extra.json]")
        .replace("      test: {stage: prepare", "      held_out: {stage: prepare")
    )
    assert status(strata, repo) == (0, (
        f"{PIPELINE}\n"
        f"  prepare   up to date  {prepare}\n"
        '  train     stale       command: ["python", "experiments/iris_pipeline/train.py"] -> '
        '["python", "experiments/iris_pipeline/train.py", "-v"]\n'
        '  evaluate  stale       outputs: ["report.json"] -> ["extra.json", "report.json"]\n'
        '                        input names: ["model", "test"] -> ["held_out", "model"]\n'
        "                        upstream train is stale\n"
        "  1 up to date, 2 stale\n"
    ))  # fmt: skip
    assert status(strata, repo, "--format", "json")[0] == 0
    out = status(strata, repo, "--format", "json")[1]
    (repo / "status.json").write_text(out)
    assert_check_jsonschema(repo / "status.json", "status")
    stages = {s["stage"]: s for s in json.loads(out)["pipelines"][0]["stages"]}
    assert stages["train"]["reasons"] == [
        {"kind": "command", "name": "command",
         "old": ["python", "experiments/iris_pipeline/train.py"],
         "new": ["python", "experiments/iris_pipeline/train.py", "-v"],
         "text": 'command: ["python", "experiments/iris_pipeline/train.py"] -> '
                 '["python", "experiments/iris_pipeline/train.py", "-v"]'},
    ]  # fmt: skip
    assert stages["evaluate"]["reasons"][:2] == [
        {"kind": "command", "name": "outputs", "old": ["report.json"],
         "new": ["extra.json", "report.json"],
         "text": 'outputs: ["report.json"] -> ["extra.json", "report.json"]'},
        {"kind": "command", "name": "input names", "old": ["model", "test"],
         "new": ["held_out", "model"],
         "text": 'input names: ["model", "test"] -> ["held_out", "model"]'},
    ]  # fmt: skip
    assert (stages["train"]["run"], stages["evaluate"]["run"]) == (train, evaluate)


def test_a_non_finite_parameter_is_refused_with_its_line_before_anything_runs(
    repo: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """YAML's .nan and .inf have no JSON form and no fingerprint: every way a parameter comes
    in says so with a code and the line, exit 2, and no run is made (TFC-0006 R5)."""
    spec = repo / PIPELINE
    spec.write_text(spec.read_text().replace("lr: 0.1", "lr: .nan"))
    done = run_py(repo, "--pipeline", PIPELINE)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", (
        f"run: error: {PIPELINE}:14: SCH003 NaN is not a number JSON can hold: write a finite "
        "number\n  hint: see schemas/pipeline.schema.json\n"
    ))  # fmt: skip
    monkeypatch.chdir(repo)
    code, out, err = strata("status")
    assert (code, out) == (2, "")
    assert err.startswith(f"strata: error: {PIPELINE}:14: SCH003 NaN is not a number")
    (repo / "experiments" / "grid.yaml").write_text(
        "schema_version: 1\nname: grid\ncommand: [python, -c, pass]\nparams:\n  lr: 0.1\n"
        "sweep:\n  grid:\n    lr: [0.1, -.inf]\n"
    )
    done = run_py(repo, "--experiment", "experiments/grid.yaml")
    assert (done.returncode, done.stderr) == (2, (
        "run: error: experiments/grid.yaml:8: -Infinity is not a number JSON can hold: write a "
        "finite number\n"
    ))  # fmt: skip
    done = run_py(repo, "--experiment", "experiments/my_experiment.yaml", "--set",
                  "learning_rate=[1, .inf]")  # fmt: skip
    assert (done.returncode, done.stderr) == (2, (
        "run: error: --set 'learning_rate=[1, .inf]': Infinity is not a number JSON can hold: "
        "give a finite number\n"
    ))  # fmt: skip
    assert runs(repo) == []


def test_status_reads_a_hand_edited_record_of_odd_shapes_without_a_traceback(
    repo: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage run's config.yaml edited into shapes its schema refuses (doctor reports them):
    status and the catalogue still answer, reading each odd part as absent."""
    prepare, _, _ = run_pipeline(repo)
    config = repo / "runs" / prepare / "config.yaml"
    text = config.read_text()
    text = text.replace(
        "    outputs:\n    - train.csv\n", "    outputs:\n    - 1\n    - train.csv\n"
    )
    text = text.replace("\nparams: {}\n", "\nparams: {x: {1: a, b: c}}\n")
    config.write_text(text.replace("\ninputs:\n  data:", "\ninputs: [{a: 1}]\nunused:\n  data:"))
    spec = repo / PIPELINE
    spec.write_text(
        spec.read_text().replace("iris_pipeline/prepare.py]", "iris_pipeline/prepare.py, -v]")
    )
    monkeypatch.chdir(repo)
    code, out, err = strata("status", PIPELINE)
    assert (code, err) == (0, "")
    assert out == (
        f"{PIPELINE}\n"
        "  prepare   stale       param x: {1: 'a', 'b': 'c'} -> (unset)\n"
        "                        input data added: datasets/iris@v1\n"
        '                        command: ["python", "experiments/iris_pipeline/prepare.py"] -> '
        '["python", "experiments/iris_pipeline/prepare.py", "-v"]\n'
        '                        outputs: ["1", "stats.json", "test.csv", "train.csv"] -> '
        '["stats.json", "test.csv", "train.csv"]\n'
        '                        input names: [] -> ["data"]\n'
        "  train     stale       upstream prepare is stale\n"
        "  evaluate  stale       upstream prepare is stale\n"
        "                        upstream train is stale\n"
        "  3 stale\n"
    )
    code, out, err = strata("index")
    assert code == 0, err
    assert json.loads(out)["pipelines"][0]["stages"][0]["state"] == "stale"


def test_a_stages_resources_are_recorded_and_not_part_of_its_fingerprint(repo: Path) -> None:
    """TFC-0002 R22: what a stage needs is copied into the spec its run records; asking for
    more memory changes where it may run, not what it computes, so the stage stays reused."""
    spec = repo / PIPELINE
    train = "    outputs: [model.json]\n"
    asked = "    resources: {cpus: 2, memory: 150M, gpus: 0, time: 2h}\n"
    spec.write_text(spec.read_text().replace(train, train + asked))
    first = run_py(repo, "--pipeline", PIPELINE)
    assert first.returncode == 0, first.stderr
    (train_run,) = [
        r for r in runs(repo) if load_record(repo / "runs" / r)[0]["pipeline"]["stage"] == "train"
    ]
    config, _, _ = load_record(repo / "runs" / train_run)
    assert config["experiment"]["spec"]["resources"] == {
        "cpus": 2, "memory": "150M", "gpus": 0, "time": "2h"
    }  # fmt: skip
    spec.write_text(spec.read_text().replace("memory: 150M", "memory: 4G"))
    again = run_py(repo, "--pipeline", PIPELINE)
    assert again.returncode == 0, again.stderr
    assert again.stderr.endswith("\n  3 reused\n"), again.stderr
    assert len(runs(repo)) == 3
