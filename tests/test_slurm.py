"""Sweeps on a real Slurm cluster (TFC-0002 R22-R24): slurmctld, slurmd and munged from Debian,
started for the session on this machine by tests/slurmcluster.py."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import slurmcluster
from conftest import (
    REPO,
    commit_all,
    doctor_script,
    fork_template,
    require_tool,
    snapshot,
    without_pipeline_runs,
)
from runkit import SCORE, assert_best_as_run_here, load_record, run_py, runs, write_experiment

SLEEP = (
    "command: [sleep, '300']\nparams:\n  n: 0\nsweep:\n  grid:\n    n: [1, 2]\n"
    "resources:\n  cpus: 1\n  memory: 100M\n  time: 1m\n"
)

# The command says its pid: with the runner gone, nothing else would stop it here
# (proctrack/linuxproc follows parents; a site's proctrack/cgroup would).
TELLS_ITS_PID = (
    "command: [sh, -c, 'echo $$ > $STRATA_RUN_DIR/../../.strata/command.pid; exec sleep 300']\n"
    "resources:\n  memory: 100M\n"
)


@contextlib.contextmanager
def _runner_killed(repo: Path) -> Iterator[str]:
    """Once TELLS_ITS_PID's command runs: SIGKILL its runner on the node (not the command),
    yield the run's id, and kill the orphaned command afterwards whatever happened."""
    pid_file = repo / ".strata" / "command.pid"
    try:
        _until(lambda: pid_file.exists() and pid_file.read_text().endswith("\n"), 60)
        (run_id,) = runs(repo)
        _, system, _ = load_record(repo / "runs" / run_id)
        os.kill(system["pid"], 9)
        yield run_id
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), 9)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[slurmcluster.Cluster]:
    if os.environ.get("STRATA_WITHOUT_CLUSTER") == "1":  # .ci/versions: the other Pythons
        pytest.skip("STRATA_WITHOUT_CLUSTER=1: the Slurm cluster is tested once, by .ci/run's "
                    "first suite")  # fmt: skip
    for tool in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel"):
        require_tool(tool)
    started = slurmcluster.start(tmp_path_factory.mktemp("slurm"))
    try:
        yield started
    finally:
        slurmcluster.stop(started)


@pytest.fixture
def slurm_env(cluster: slurmcluster.Cluster, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("SLURM_CONF", str(cluster.conf))
    return {"SLURM_CONF": str(cluster.conf)}


def test_a_20_point_sweep_on_slurm_agrees_with_the_same_sweep_run_locally(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "slurm")
    spec = write_experiment(repo, "score", SCORE)
    done = run_py(
        repo, "--experiment", spec, "--executor", "slurm", "--jobs", "2", env=slurm_env,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    (script,) = (repo / ".strata" / "slurm").glob("batch-*/sweep.sh")
    runner = f"{sys.executable} -m strataml run --slurm-task {script.parent}"
    assert script.read_text().splitlines() == [
        "#!/bin/sh", "#SBATCH --job-name=strata-score", "#SBATCH --array=0-19%2",
        f'#SBATCH --output="{script.parent}/task-%a.out"', f'#SBATCH --chdir="{repo}"',
        "#SBATCH --export=ALL", "#SBATCH --no-requeue", "#SBATCH --hold",
        "#SBATCH --cpus-per-task=1", "#SBATCH --mem=200M", "#SBATCH --time=5", f"exec {runner}",
    ]  # fmt: skip
    assert job_id.isdigit()
    made = runs(repo)
    assert len(made) == 20
    assert "sweep: 20 of 20 points ran or were reused\n" in done.stderr
    assert done.stderr.endswith("  20 succeeded\n")
    tasks = set()
    for run_id in made:
        _, system, _ = load_record(repo / "runs" / run_id)
        assert system["status"] == "succeeded"
        assert (repo / "runs" / run_id / "CHECKSUMS.txt").is_file()
        executor = system["executor"]
        assert (executor["name"], executor["job_id"], executor["cluster"]) == (
            "slurm", job_id, "strata-test",
        )  # fmt: skip
        tasks.add(executor["array_task_id"])
    assert tasks == set(range(20))
    doctor = doctor_script(repo, "--strict")
    assert doctor.returncode == 0, doctor.stdout
    assert_best_as_run_here(repo, tmp_path / "local")


def _strata(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strataml", *args], cwd=repo, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "tools")}, timeout=60,
    )  # fmt: skip


def _until(done: Callable[[], bool], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def _status(repo: Path, run_id: str) -> str:
    system = json.loads((repo / "runs" / run_id / "system.json").read_text())
    status: str = system["status"]
    return status


def test_a_detached_sweep_returns_its_job_and_tasks_the_scheduler_ends_are_recorded_failed(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "repo")
    spec = write_experiment(repo, "sleepy", SLEEP)
    done = run_py(repo, "--experiment", spec, "--executor", "slurm", "--detach", env=slurm_env)
    assert done.returncode == 0, done.stderr
    job = done.stdout.strip()
    assert re.fullmatch(r"[0-9]+", job)
    (script,) = (repo / ".strata" / "slurm").glob("batch-*/sweep.sh")
    assert script.read_text().splitlines()[2] == "#SBATCH --array=0-1"  # no --jobs: no cap
    assert done.stderr == f"[strata] slurm job {job}: 2 task(s) submitted\n"
    listed = _strata(repo, "runs", "list")
    assert listed.returncode == 0, listed.stderr
    head, *rows = listed.stdout[listed.stdout.index(f"slurm job {job} ") :].splitlines()
    shown = set()
    for row in rows:  # `  <job>_<task or [range]>  <STATE>  <reason>`, columns padded
        found = re.fullmatch(rf"  {job}_(\S+) +([A-Z]+) +\S.*", row)
        assert found is not None, row
        assert row.startswith(f"  {f'{job}_{found[1]}':<{len(job) + 11}}  {found[2]:<11}  ")
        shown.add((found[1], found[2]))
    # Every state the scheduler may be in just after the submission, nothing else:
    # the array still one pending row, then split, then its tasks starting.
    assert (head.removeprefix(f"slurm job {job} (sleepy, 2 points): "), shown) in [
        ("2 PENDING", {("[0-1]", "PENDING")}),
        ("2 PENDING", {("0", "PENDING"), ("1", "PENDING")}),
        ("1 PENDING, 1 RUNNING", {("0", "RUNNING"), ("1", "PENDING")}),
        ("1 PENDING, 1 RUNNING", {("0", "PENDING"), ("1", "RUNNING")}),
        ("2 RUNNING", {("0", "RUNNING"), ("1", "RUNNING")}),
    ], listed.stdout
    assert head.startswith(f"slurm job {job} (sleepy, 2 points): ")

    _until(lambda: len(runs(repo)) == 2, 60)  # both tasks have claimed their runs
    by_task = {}
    for run_id in runs(repo):
        _, system, _ = load_record(repo / "runs" / run_id)
        by_task[system["executor"]["array_task_id"]] = run_id
    first, second = by_task[0], by_task[1]
    _until(lambda: "RUNNING" in _strata(repo, "runs", "list").stdout, 30)
    subprocess.run(["scancel", f"{job}_0"], env={**os.environ, **slurm_env}, check=True)
    _until(lambda: _status(repo, first) != "running", 60)
    _, system, _ = load_record(repo / "runs" / first)
    assert (system["status"], system["exit_code"]) == ("failed", -15)
    assert re.fullmatch(rf"slurm ended job {job}_0: CANCELLED AT [0-9T:-]+", system["reason"])

    # The other task outlives its resources.time (1 minute; Slurm checks every 30 s or so).
    _until(lambda: _status(repo, second) != "running", 150)
    _, system, _ = load_record(repo / "runs" / second)
    assert (system["status"], system["exit_code"]) == ("failed", -15)
    assert re.fullmatch(
        rf"slurm ended job {job}_1: CANCELLED AT [0-9T:-]+ DUE TO TIME LIMIT", system["reason"]
    )
    shown = _strata(repo, "runs", "show", second)
    assert f"slurm ended job {job}_1" in shown.stdout
    _until(lambda: "ended:" in _strata(repo, "runs", "list").stdout, 30)
    listed = _strata(repo, "runs", "list")
    assert listed.stdout.endswith(
        f"slurm job {job} (sleepy, 2 points): ended: 1 CANCELLED, 1 TIMEOUT\n"
    )
    doctor = doctor_script(repo, "--strict", "--format", "json")
    codes = {d["code"] for d in json.loads(doctor.stdout)["diagnostics"]}
    assert not codes & {"RUN006", "RUN007", "RUN008"}, doctor.stdout
    assert doctor.returncode == 0, doctor.stdout


def test_a_repository_path_with_a_space_and_a_percent_sign_runs_on_slurm(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "a dir 100%a")
    spec = write_experiment(repo, "plain", "command: [echo, said]\nresources:\n  memory: 100M\n")
    done = run_py(
        repo, "--experiment", spec, "--executor", "slurm", "--jobs", "1", env=slurm_env,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (script,) = (repo / ".strata" / "slurm").glob("batch-*/sweep.sh")
    batch = str(script.parent).replace("%", "%%")
    assert script.read_text().splitlines()[2:5] == [
        "#SBATCH --array=0-0%1", f'#SBATCH --output="{batch}/task-%a.out"', f'#SBATCH --chdir="{repo}"',
    ]  # fmt: skip
    (run_id,) = runs(repo)
    said = f"[strata] {run_id} started: runs/{run_id}/\nsaid\n"
    assert (script.parent / "task-0.out").read_text() == said
    assert _status(repo, run_id) == "succeeded"


def test_a_repository_path_with_a_double_quote_is_refused_for_slurm(tmp_path: Path) -> None:
    repo = fork_template(tmp_path / 'say "hi"')
    spec = write_experiment(repo, "plain", "command: [echo]\n")
    done = run_py(repo, "--experiment", spec, "--executor", "slurm")
    assert (done.returncode, done.stdout) == (2, "")
    refused = (
        f"run: error: [slurm-bad-path] {str(repo)!r}: a path with a double quote or a newline "
        "cannot be written in an #SBATCH line (hint: move the repository to a plainer path)\n"
    )
    assert done.stderr == refused
    done = run_py(repo, "--pipeline", "pipelines/iris.yaml", "--executor", "slurm")
    assert (done.returncode, done.stdout, done.stderr) == (2, "", refused)
    _nothing_left(repo)


def _nothing_left(repo: Path) -> None:
    assert runs(repo) == []
    assert not (repo / ".strata" / "slurm").exists() or not any(
        (repo / ".strata" / "slurm").iterdir()
    )


def test_bad_resources_are_refused_before_anything_is_submitted(template: Path) -> None:
    spec = write_experiment(template, "bad", "command: [echo]\nresources:\n  cpus: 0\n")
    done = run_py(template, "--experiment", spec, "--executor", "slurm")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "run: error: experiments/bad.yaml:5: resources.cpus: 0 is less than the minimum of 1\n"
    )
    _nothing_left(template)
    spec = write_experiment(template, "worse", "command: [echo]\nresources:\n  memory: 4GB\n")
    done = run_py(template, "--experiment", spec, "--executor", "slurm")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "run: error: experiments/worse.yaml:5: resources.memory: '4GB' does not match "
        "'^[1-9][0-9]{0,8}(K|M|G|T)$'\n"
    )
    _nothing_left(template)


def test_slurm_options_need_the_slurm_executor(template: Path) -> None:
    spec = write_experiment(template, "plain", "command: [echo]\n")
    done = run_py(template, "--experiment", spec, "--partition", "gpu")
    assert (done.returncode, done.stderr) == (
        2, "run: error: --partition, --account and --detach go with --executor slurm\n",
    )  # fmt: skip
    done = run_py(template, "--experiment", spec, "--executor", "nowhere")
    assert (done.returncode, done.stderr) == (
        2, "run: error: --executor 'nowhere': choose local, slurm or ray\n",
    )  # fmt: skip
    _nothing_left(template)


def test_a_partition_or_account_that_is_not_one_name_is_refused_before_anything_is_written(
    template: Path,
) -> None:
    spec = write_experiment(template, "plain", "command: [echo]\n")
    hint = "(hint: use letters, digits and _ . , + - only, as `sinfo` lists them)\n"
    for option, value, shown in (
        ("--partition", "gpu\ntouch /tmp/owned", "'gpu\\ntouch /tmp/owned'"),
        ("--account", "a b", "'a b'"),
        ("--partition", "", "''"),
        ("--account", "caf\udce9", "'caf\\udce9'"),  # a non-UTF-8 byte in argv
    ):
        done = run_py(template, "--experiment", spec, "--executor", "slurm", option, value)
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == (
            f"run: error: [slurm-bad-name] {option} {shown}: not a Slurm partition or account "
            f"name {hint}"
        )
        _nothing_left(template)
    done = run_py(template, "--experiment", spec, "--partition", "")
    assert (done.returncode, done.stderr) == (
        2, "run: error: --partition, --account and --detach go with --executor slurm\n",
    )  # fmt: skip
    _nothing_left(template)


def test_slurm_task_mistakes_are_one_line_errors_checked_outside_slurm_first(
    template: Path,
) -> None:
    outside = dict.fromkeys(("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"), "")
    sweep_hint = "(hint: `strata run --executor slurm` submits it)\n"
    stage_hint = "(hint: `strata run --pipeline FILE --executor slurm` submits it)\n"
    for args, said in (
        (("--slurm-task", ".strata/slurm/nosuch"),
         "[slurm-not-a-task] --slurm-task runs inside a Slurm array task only (no "
         f"SLURM_ARRAY_TASK_ID) {sweep_hint}"),
        (("--slurm-task", ".strata/slurm/nosuch", "--stage", "prepare"),
         "[slurm-not-a-task] --slurm-task --stage runs inside a Slurm job only (no "
         f"SLURM_JOB_ID) {stage_hint}"),
        (("--slurm-collect", ".strata/slurm/nosuch"),
         "[slurm-not-a-task] --slurm-collect runs inside a Slurm job only (no SLURM_JOB_ID) "
         f"{sweep_hint}"),
    ):  # fmt: skip
        done = run_py(template, *args, env=outside)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", f"run: error: {said}")
    batch = template / ".strata" / "slurm" / "batch-0"
    batch.mkdir(parents=True)
    (batch / "pipeline.json").write_text('{"force": [], "pipeline": "pipelines/iris.yaml"}\n')
    inside = {"SLURM_JOB_ID": "7", "SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "0"}
    no_batch = (
        "(hint: --slurm-task and --slurm-collect take the batch directory the scripts "
        "`--executor slurm` writes name)\n"
    )
    for args, said in (
        (("--slurm-task", ".strata/slurm/nosuch"),
         f"[slurm-no-batch] .strata/slurm/nosuch: no sweep.json here {no_batch}"),
        (("--slurm-task", ".strata/slurm/nosuch", "--stage", "prepare"),
         f"[slurm-no-batch] .strata/slurm/nosuch: no pipeline.json here {no_batch}"),
        (("--slurm-collect", ".strata/slurm/nosuch"),
         f"[slurm-no-batch] .strata/slurm/nosuch: no job.json here {no_batch}"),
        (("--slurm-task", ".strata/slurm/batch-0", "--stage", "nosuch"),
         "[slurm-no-stage] pipelines/iris.yaml: no stage 'nosuch' (hint: its stages are "
         "prepare, train, evaluate)\n"),
    ):  # fmt: skip
        done = run_py(template, *args, env=inside)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", f"run: error: {said}")
    assert runs(template) == []


def test_without_sbatch_nothing_is_submitted_or_left(template: Path, tmp_path: Path) -> None:
    spec = write_experiment(template, "plain", "command: [echo]\n")
    bin_dir = tmp_path / "bin"  # git, and no Slurm
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(require_tool("git"))
    done = run_py(template, "--experiment", spec, "--executor", "slurm", env={"PATH": str(bin_dir)})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "run: error: [slurm-missing] sbatch not found: Slurm's client commands are not installed "
        "here (hint: run on a machine of the cluster (a login node), or install slurm-client)\n"
    )
    _nothing_left(template)


def test_runs_list_shows_a_collected_submission_from_its_record_for_a_day_without_squeue(
    template: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"  # git, and no Slurm: asking the scheduler would be an error
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(require_tool("git"))
    batch = template / ".strata" / "slurm" / "batch-0"
    batch.mkdir(parents=True)
    (batch / "job.json").write_text(
        '{"collector": "8", "jobs": [{"experiment": "sweep", "job_id": "7", "points": 3}]}\n'
    )
    tasks = {"7": [[[0, 1], "COMPLETED", "None"], [[2], "TIMEOUT", "TimeLimit"]]}
    (batch / "collected.json").write_text(json.dumps({"notes": [], "tasks": tasks}))
    forgotten = template / ".strata" / "slurm" / "batch-1"  # collected after squeue forgot it
    forgotten.mkdir()
    (forgotten / "job.json").write_text(
        '{"collector": "10", "jobs": [{"experiment": "old", "job_id": "9", "points": 1}]}\n'
    )
    (forgotten / "collected.json").write_text('{"notes": [], "tasks": {"9": []}}')
    env = {**os.environ, "PATH": str(bin_dir), "PYTHONPATH": str(REPO / "tools")}
    listing = [sys.executable, "-m", "strataml", "runs", "list"]
    done = subprocess.run(listing, cwd=template, capture_output=True, text=True, env=env)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.endswith("slurm job 7 (sweep, 3 points): ended: 2 COMPLETED, 1 TIMEOUT\n")
    day_ago = time.time() - 24 * 3600 - 60
    os.utime(batch / "collected.json", (day_ago, day_ago))
    later = subprocess.run(listing, cwd=template, capture_output=True, text=True, env=env)
    assert (later.returncode, later.stderr) == (0, "")
    assert later.stdout == done.stdout.removesuffix(
        "slurm job 7 (sweep, 3 points): ended: 2 COMPLETED, 1 TIMEOUT\n"
    )
    (batch / "collected.json").unlink()  # not collected: only the scheduler can tell
    asked = subprocess.run(listing, cwd=template, capture_output=True, text=True, env=env)
    assert asked.stderr.startswith(
        "strata: cannot ask Slurm about submitted sweeps: [slurm-missing]"
    )


def test_a_partition_slurm_refuses_leaves_nothing(
    slurm_env: dict[str, str], template: Path
) -> None:
    spec = write_experiment(template, "plain", "command: [echo]\n")
    done = run_py(
        template, "--experiment", spec, "--executor", "slurm", "--partition", "nowhere",
        env=slurm_env,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "run: error: [slurm-refused] sbatch refused: sbatch: error: invalid partition specified: "
        "nowhere sbatch: error: Batch job submission failed: Invalid partition name specified "
        "(hint: check --partition and --account against `sinfo` and `sacctmgr show assoc`)\n"
    )
    _nothing_left(template)


def test_a_runner_killed_outright_is_sealed_failed_with_the_schedulers_state(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "repo")
    spec = write_experiment(repo, "sleepy", TELLS_ITS_PID)
    waiting = subprocess.Popen(
        [sys.executable, str(REPO / "tools" / "run.py"), "--experiment", spec,
         "--executor", "slurm"],
        cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **slurm_env},
    )  # fmt: skip
    try:
        with _runner_killed(repo) as run_id:
            out, err = waiting.communicate(timeout=120)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    job = out.strip()
    _, system, _ = load_record(repo / "runs" / run_id)
    # Slurm's words for a batch step that died of SIGKILL
    reason = f"slurm ended job {job}_0: FAILED (JobLaunchFailure)"
    assert (system["status"], system["exit_code"], system["reason"]) == ("failed", None, reason)
    assert err == (
        f"[strata] slurm job {job}: 1 task(s) submitted\n[strata] {run_id} failed: {reason}\n"
    )  # a single point prints no sweep summary, as locally
    assert waiting.returncode == 1
    doctor = doctor_script(repo, "--strict")
    assert doctor.returncode == 0, doctor.stdout


def test_a_detached_runner_killed_outright_is_sealed_by_the_collector_job(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "repo")
    spec = write_experiment(repo, "sleepy", TELLS_ITS_PID)
    done = run_py(repo, "--experiment", spec, "--executor", "slurm", "--detach", env=slurm_env)
    assert done.returncode == 0, done.stderr
    job = done.stdout.strip()
    (batch,) = (repo / ".strata" / "slurm").glob("batch-*")
    collector = json.loads((batch / "job.json").read_text())["collector"]
    assert re.fullmatch(r"[0-9]+", collector) and collector != job
    assert f"#SBATCH --dependency=afterany:{job}" in (batch / "collect.sh").read_text()
    with _runner_killed(repo) as run_id:  # nothing on this side waits for the job
        _until(lambda: (batch / "collected.json").exists(), 90)
    _, system, _ = load_record(repo / "runs" / run_id)
    reason = f"slurm ended job {job}_0: FAILED (JobLaunchFailure)"
    assert (system["status"], system["exit_code"], system["reason"]) == ("failed", None, reason)
    collected = json.loads((batch / "collected.json").read_text())
    assert collected == {
        "notes": [f"{run_id} failed: {reason}"], "tasks": {job: [[[0], "FAILED", "JobLaunchFailure"]]}
    }  # fmt: skip
    assert (batch / "collect.out").read_text() == f"[strata] {run_id} failed: {reason}\n"
    doctor = doctor_script(repo, "--strict")
    assert doctor.returncode == 0, doctor.stdout


def test_a_signalled_task_whose_squeue_fails_is_sealed_failed_all_the_same(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "repo")
    spec = write_experiment(repo, "sleepy", "command: [sleep, '300']\nresources:\n  memory: 100M\n")
    fake = tmp_path / "fake"  # squeue fails on the node; sbatch and scancel are Slurm's own
    fake.mkdir()
    (fake / "squeue").write_text("#!/bin/sh\necho 'squeue: error: controller down' >&2\nexit 1\n")
    (fake / "squeue").chmod(0o755)
    env = {**slurm_env, "PATH": f"{fake}:{os.environ['PATH']}"}
    done = run_py(repo, "--experiment", spec, "--executor", "slurm", "--detach", env=env)
    assert done.returncode == 0, done.stderr
    job = done.stdout.strip()
    _until(lambda: len(runs(repo)) == 1, 60)
    (run_id,) = runs(repo)
    log = repo / "runs" / run_id / "logs.txt"
    _until(lambda: log.is_file(), 30)
    # SIGTERM to the runner on the node: no slurmstepd line, so it asks squeue, which fails
    os.kill(load_record(repo / "runs" / run_id)[1]["pid"], 15)
    _until(lambda: _status(repo, run_id) != "running", 60)
    _, system, _ = load_record(repo / "runs" / run_id)
    assert (system["status"], system["exit_code"], system["reason"]) == (
        "failed", -15,
        f"slurm ended job {job}_0: unknown (squeue failed: [slurm-unreachable] squeue refused: "
        "squeue: error: controller down (hint: is slurmctld reachable? try `sinfo`))",
    )  # fmt: skip
    assert doctor_script(repo, "--strict").returncode == 0


def test_a_claim_that_cannot_be_recorded_seals_the_run_failed(template: Path) -> None:
    from strataml.runner import execute, session

    spec = write_experiment(template, "plain", "command: [echo]\n")
    (planned,) = session.plan(template, template / spec)

    def claimed(run_id: str) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left on device"):
        session.execute_run(
            template, planned, interrupts=execute.Interrupts(), echo=None, claimed=claimed
        )
    (run_id,) = runs(template)
    _, system, _ = load_record(template / "runs" / run_id)
    assert (system["status"], system["exit_code"], system["reason"]) == (
        "failed", None, "could not record the claim: [Errno 28] No space left on device",
    )  # fmt: skip
    assert doctor_script(template, "--strict").returncode == 0


def _stage_table(stderr: str) -> list[tuple[str, str]]:
    """(stage, status) rows of the pipeline summary."""
    table = stderr[stderr.index("pipeline pipelines/iris.yaml: 3 stages\n") :].splitlines()[1:4]
    return [(row.split()[0], row.split()[1]) for row in table]


def test_a_sweep_whose_command_writes_untracked_files_runs_every_point_on_slurm(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "repo")
    # as Lightning writes lightning_logs/: untracked, not ignored, so part of the code tree
    spec = write_experiment(
        repo, "writes",
        "command: [sh, -c, 'mkdir -p scratch_logs && echo $STRATA_RUN_ID > "
        "scratch_logs/$STRATA_RUN_ID.txt']\n"
        "params:\n  n: 0\nsweep:\n  grid:\n    n: [1, 2, 3]\nresources:\n  memory: 100M\n",
    )  # fmt: skip
    done = run_py(
        repo, "--experiment", spec, "--executor", "slurm", "--jobs", "1", env=slurm_env,
        timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith("  3 succeeded\n"), done.stderr
    made = runs(repo)
    assert sorted(p.name for p in (repo / "scratch_logs").iterdir()) == [f"{r}.txt" for r in made]
    trees = {load_record(repo / "runs" / r)[0]["code"]["tree_hash"] for r in made}
    assert len(trees) == 1  # every task records the code it was submitted with
    shutil.rmtree(repo / "scratch_logs")  # not part of the layout (LAY001)
    assert doctor_script(repo, "--strict").returncode == 0

    # A tracked file changed after the submission still refuses the point.
    (repo / "experiments" / "writes.yaml").write_text(
        (repo / "experiments" / "writes.yaml").read_text().replace("n: [1, 2, 3]", "n: [1]")
    )
    (batch,) = (p.parent for p in (repo / ".strata" / "slurm").glob("batch-*/sweep.json"))
    outside = run_py(
        repo, "--slurm-task", str(batch),
        env={"SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "1"},
    )  # fmt: skip
    assert (outside.returncode, outside.stderr) == (
        2,
        f"run: error: [slurm-point-changed] {batch.relative_to(repo).as_posix()}: point 1 is "
        "not the one submitted: the experiment, its inputs or the code changed since (hint: "
        "submit the sweep again)\n",
    )  # fmt: skip


def _collect_trusts_the_run_not_a_lagging_marker(repo: Path, jobs: list[str]) -> None:
    """A runner that died after sealing its stage's run left the marker `running`: collecting
    again (Slurm still lists the jobs) keeps the sealed run exactly as it is."""
    from strataml.registry.pipelines import load_pipeline
    from strataml.runner import slurmpipeline

    (batch,) = (p.parent for p in (repo / ".strata" / "slurm").glob("batch-*/pipeline.json"))
    marker = batch / "stage-train.json"
    run_id = json.loads(marker.read_text())["run_id"]
    sealed = (repo / "runs" / run_id / "system.json").read_bytes()
    marker.write_text(json.dumps({"exit_code": None, "run_id": run_id, "status": "running"}))
    spec = load_pipeline(repo, repo / "pipelines" / "iris.yaml")
    submission = slurmpipeline.PipelineSubmission(
        batch, dict(zip(("prepare", "train", "evaluate"), jobs, strict=True))
    )
    told: list[str] = []
    results = slurmpipeline.collect(repo, spec, submission, notify=told.append)
    assert [(r.stage, r.status, r.exit_code) for r in results] == [
        ("prepare", "succeeded", 0), ("train", "succeeded", 0), ("evaluate", "succeeded", 0),
    ]  # fmt: skip
    assert told == []
    assert (repo / "runs" / run_id / "system.json").read_bytes() == sealed


def test_a_pipeline_on_slurm_runs_its_stages_in_order_and_reuses_them_as_locally(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    repo = without_pipeline_runs(fork_template(tmp_path / "repo"))
    spec = repo / "pipelines" / "iris.yaml"
    text = spec.read_text()
    train = "    outputs: [model.json]\n"
    spec.write_text(
        text.replace(train, train + "    resources: {cpus: 1, memory: 150M, time: 90s}\n")
    )
    commit_all(repo, "the train stage says what it needs")
    first = run_py(
        repo, "--pipeline", "pipelines/iris.yaml", "--executor", "slurm", env=slurm_env,
        timeout=300,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    jobs = first.stdout.split()
    assert len(jobs) == 3
    (script,) = (repo / ".strata" / "slurm").glob("batch-*/stage-train.sh")
    runner = f"{sys.executable} -m strataml run --slurm-task {script.parent} --stage train"
    assert script.read_text().splitlines() == [
        "#!/bin/sh", "#SBATCH --job-name=strata-train",
        f'#SBATCH --output="{script.parent}/stage-train.out"', f'#SBATCH --chdir="{repo}"',
        "#SBATCH --export=ALL", "#SBATCH --no-requeue", "#SBATCH --hold",
        f"#SBATCH --dependency=afterok:{jobs[0]}",
        "#SBATCH --kill-on-invalid-dep=yes", "#SBATCH --cpus-per-task=1", "#SBATCH --mem=150M",
        "#SBATCH --time=2", f"exec {runner}",
    ]  # fmt: skip
    collector = (script.parent / "collect.sh").read_text().splitlines()
    assert f"#SBATCH --dependency=afterany:{':'.join(jobs)}" in collector
    collected = json.loads((script.parent / "collected.json").read_text())
    assert collected == {"notes": [], "tasks": {j: [[[], "COMPLETED", "None"]] for j in jobs}}
    assert _stage_table(first.stderr) == [
        ("prepare", "succeeded"), ("train", "succeeded"), ("evaluate", "succeeded"),
    ]  # fmt: skip
    assert first.stderr.endswith("  3 succeeded\n")
    made = {}
    for run_id in runs(repo):
        config, system, _ = load_record(repo / "runs" / run_id)
        made[config["pipeline"]["stage"]] = system
        assert system["executor"]["name"] == "slurm"
    assert {s: made[s]["executor"]["job_id"] for s in made} == dict(
        zip(("prepare", "train", "evaluate"), jobs, strict=True)
    )
    assert made["prepare"]["ended"] <= made["train"]["started"]
    assert made["train"]["ended"] <= made["evaluate"]["started"]
    assert doctor_script(repo, "--strict").returncode == 0
    _collect_trusts_the_run_not_a_lagging_marker(repo, jobs)

    again = run_py(
        repo, "--pipeline", "pipelines/iris.yaml", "--executor", "slurm", env=slurm_env,
        timeout=300,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    here = run_py(repo, "--pipeline", "pipelines/iris.yaml")
    assert here.returncode == 0, here.stderr
    reused = [("prepare", "reused"), ("train", "reused"), ("evaluate", "reused")]
    assert _stage_table(again.stderr) == _stage_table(here.stderr) == reused
    assert len(runs(repo)) == 3


def test_a_failing_stage_on_slurm_stops_its_dependants(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    repo = without_pipeline_runs(fork_template(tmp_path / "repo"))
    spec = repo / "pipelines" / "iris.yaml"
    spec.write_text(
        spec.read_text().replace(
            "command: [python, experiments/iris_pipeline/train.py]", "command: [sh, -c, 'exit 3']"
        )
    )
    commit_all(repo, "train fails")
    done = run_py(
        repo, "--pipeline", "pipelines/iris.yaml", "--executor", "slurm", env=slurm_env,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    summary = done.stderr[done.stderr.index("pipeline pipelines/iris.yaml") :]
    prepare, train = sorted(runs(repo), key=lambda r: load_record(repo / "runs" / r)[1]["started"])
    assert summary == (
        "pipeline pipelines/iris.yaml: 3 stages\n"
        f"  prepare   succeeded    {prepare}\n"
        f"  train     failed       {train}\n"
        "  evaluate  not run: upstream train failed\n"
        "  1 succeeded, 1 failed, 1 not run\n"
    )


def test_a_pipeline_slurm_refuses_part_of_starts_no_stage_and_leaves_nothing(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    """Every stage's job waits held until the whole submission is accepted: the first stage,
    which Slurm took, never starts when it refuses the second (TFC-0002 R25)."""
    repo = without_pipeline_runs(fork_template(tmp_path / "repo"))
    spec = repo / "pipelines" / "iris.yaml"
    train = "    outputs: [model.json]\n"
    spec.write_text(spec.read_text().replace(train, train + "    resources: {gpus: 1}\n"))
    commit_all(repo, "the train stage asks for a GPU, which no node has")
    done = run_py(
        repo, "--pipeline", "pipelines/iris.yaml", "--executor", "slurm", env=slurm_env,
        timeout=300,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("run: error: [slurm-refused] sbatch refused: "), done.stderr
    _nothing_left(repo)
    listed = subprocess.run(
        ["squeue", "--noheader", "--states=all", "--format=%Z|%j %T %r"], env=slurm_env,
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split("\n")  # fmt: skip
    # Cancelled while still held: it never started. (The cluster's other jobs ran elsewhere.)
    assert [line for line in listed if line.startswith(f"{repo}|")] == [
        f"{repo}|strata-prepare CANCELLED JobHeldUser"
    ]


def _abandoned_run(repo: Path) -> str:
    """A run left `running`: its runner killed outright (SIGKILL), its command with it."""
    spec = write_experiment(repo, "sleepy", "command: [sh, -c, 'echo ready; exec sleep 60']\n")
    runner = subprocess.Popen(
        [sys.executable, str(REPO / "tools" / "run.py"), "--experiment", spec], cwd=repo,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        assert runner.stdout is not None and runner.stdout.readline() == b"ready\n"
        (run_id,) = runs(repo)
    finally:
        os.killpg(runner.pid, 9)
        runner.wait()
        assert runner.stdout is not None
        runner.stdout.close()
    return run_id


def test_a_run_sealed_by_one_sealer_is_never_touched_by_the_next(template: Path) -> None:
    """The collector job and a waiting command may both find a run `running`: the one that
    takes the run's lock first seals it, the other finds it sealed and changes nothing."""
    from strataml.runner.seal import seal_abandoned

    run_id = _abandoned_run(template)
    assert load_record(template / "runs" / run_id)[1]["status"] == "running"
    assert seal_abandoned(template, run_id, "slurm ended job 7_0: FAILED (JobLaunchFailure)")
    sealed = snapshot(template / "runs" / run_id)
    assert not seal_abandoned(template, run_id, "slurm ended job 7_0: no longer listed by squeue")
    assert snapshot(template / "runs" / run_id) == sealed
    _, system, _ = load_record(template / "runs" / run_id)
    assert (system["status"], system["reason"]) == (
        "failed", "slurm ended job 7_0: FAILED (JobLaunchFailure)"
    )  # fmt: skip
    assert doctor_script(template, "--strict").returncode == 0


@pytest.mark.parametrize(
    "text",
    ["", "garbage", '{"notes": 5}', '{"tasks": {}}', '{"notes": [1]}', "[" * 100_000],
    ids=["empty", "garbage", "notes-number", "no-notes", "note-number", "deep"],
)
def test_a_damaged_collected_json_is_said_and_the_waiting_command_seals_itself(
    template: Path, text: str
) -> None:
    from strataml.runner.slurmcollect import _repeat

    batch = template / ".strata" / "slurm" / "batch-0"
    batch.mkdir(parents=True)
    (batch / "collected.json").write_text(text)
    said: list[str] = []
    _repeat(template, batch, said.append)
    assert said == [
        "the collector job left an unreadable .strata/slurm/batch-0/collected.json: sealing here"
    ]
