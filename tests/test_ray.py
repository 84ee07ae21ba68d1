"""Sweeps and pipelines on a real Ray cluster (TFC-0002 R26-R28): a head and a second node,
started for this module on this machine by tests/raynodes.py; no shared file system is used,
each task's run comes back through Ray and is verified before it is placed."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import raynodes
from conftest import REPO, doctor_script, fork_template, require_tool, without_pipeline_runs
from runkit import SCORE, assert_best_as_run_here, load_record, run_py, runs, write_experiment

TASK_ID = "[0-9a-f]{48}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[raynodes.Cluster]:
    if os.environ.get("STRATA_WITHOUT_CLUSTER") == "1":  # .ci/versions: the other Pythons
        pytest.skip("STRATA_WITHOUT_CLUSTER=1: the Ray cluster is tested once, by .ci/run's "
                    "first suite")  # fmt: skip
    if shutil.which("ray") is None or importlib.util.find_spec("ray") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ray is not installed, and CI must provide it (.ci/run installs it)")
        pytest.skip("ray is not installed (pip install -e '.[ray]')")
    try:
        started = raynodes.start(tmp_path_factory.mktemp("ray"), REPO / "tools")
        yield started
    finally:
        raynodes.stop()


def _on_ray(repo: Path, cluster: raynodes.Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return run_py(
        repo, *args, "--executor", "ray", "--address", cluster.address, env=cluster.env,
        timeout=300,
    )  # fmt: skip


def test_a_20_point_sweep_on_ray_agrees_with_the_same_sweep_run_locally(
    cluster: raynodes.Cluster, tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "ray")
    spec = write_experiment(repo, "score", SCORE)
    done = _on_ray(repo, cluster, "--experiment", spec)
    assert done.returncode == 0, done.stderr
    made = runs(repo)
    assert len(made) == 20
    assert "sweep: 20 of 20 points ran or were reused\n" in done.stderr
    assert done.stderr.endswith("  20 succeeded\n")
    tasks, nodes, hosts = set(), set(), set()
    for run_id in made:
        _, system, _ = load_record(repo / "runs" / run_id)
        assert system["status"] == "succeeded"
        executor = system["executor"]
        assert sorted(executor) == ["job_id", "name", "node_id", "task_id"]
        assert executor["name"] == "ray"
        assert re.fullmatch(TASK_ID, executor["task_id"])
        tasks.add(executor["task_id"])
        nodes.add(executor["node_id"])
        hosts.add(system["host"]["hostname"])
    assert len(tasks) == 20
    assert len(nodes) == 2  # both nodes ran points (one CPU each, twenty points of one CPU)
    assert not list((repo / ".strata" / "ray").iterdir())  # nothing staged is left
    assert not list(cluster.scratch.iterdir())  # each task removed its scratch directory
    doctor = doctor_script(repo, "--strict")
    assert doctor.returncode == 0, doctor.stdout
    assert_best_as_run_here(repo, tmp_path / "local")


def _stage_table(stderr: str) -> list[tuple[str, str]]:
    table = stderr[stderr.index("pipeline pipelines/iris.yaml: 3 stages\n") :].splitlines()[1:4]
    return [(row.split()[0], row.split()[1]) for row in table]


def test_a_pipeline_on_ray_runs_its_stages_in_order_and_reuses_them_as_locally(
    cluster: raynodes.Cluster, tmp_path: Path
) -> None:
    repo = without_pipeline_runs(fork_template(tmp_path / "repo"))
    done = _on_ray(repo, cluster, "--pipeline", "pipelines/iris.yaml")
    assert done.returncode == 0, done.stderr
    assert _stage_table(done.stderr) == [
        ("prepare", "succeeded"), ("train", "succeeded"), ("evaluate", "succeeded"),
    ]  # fmt: skip
    made = {}
    for run_id in runs(repo):
        config, system, _ = load_record(repo / "runs" / run_id)
        assert system["executor"]["name"] == "ray"
        made[config["pipeline"]["stage"]] = (run_id, config, system)
    assert sorted(made) == ["evaluate", "prepare", "train"]
    prepare, train = made["prepare"][0], made["train"][0]
    assert made["train"][1]["pipeline"]["upstream"]["train"]["run"] == prepare
    upstream = made["evaluate"][1]["pipeline"]["upstream"]
    assert (upstream["model"]["run"], upstream["test"]["run"]) == (train, prepare)
    # in order: each stage started after the one it reads had ended
    assert made["prepare"][2]["ended"] <= made["train"][2]["started"]
    assert made["train"][2]["ended"] <= made["evaluate"][2]["started"]
    assert doctor_script(repo, "--strict").returncode == 0

    again = _on_ray(repo, cluster, "--pipeline", "pipelines/iris.yaml")
    assert again.returncode == 0, again.stderr
    assert _stage_table(again.stderr) == [
        ("prepare", "reused"), ("train", "reused"), ("evaluate", "reused"),
    ]  # fmt: skip
    assert len(runs(repo)) == 3
    here = run_py(repo, "--pipeline", "pipelines/iris.yaml")  # and locally: the same runs
    assert _stage_table(here.stderr) == _stage_table(again.stderr)


@contextlib.contextmanager
def _driver(repo: Path, cluster: raynodes.Cluster, spec: str) -> Iterator[subprocess.Popen[str]]:
    """`run.py --executor ray` in the background; killed at the end if it still runs."""
    waiting = subprocess.Popen(
        [sys.executable, str(REPO / "tools" / "run.py"), "--experiment", spec,
         "--executor", "ray", "--address", cluster.address],
        cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env,
    )  # fmt: skip
    try:
        yield waiting
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()


def _until(done: Callable[[], bool], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_task_over_its_time_is_cancelled_and_recorded_failed_with_rays_words(
    cluster: raynodes.Cluster, tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "repo")
    spec = write_experiment(repo, "slow", "command: [sleep, '60']\nresources:\n  time: 2s\n")
    done = _on_ray(repo, cluster, "--experiment", spec)
    (run_id,) = runs(repo)
    _, system, _ = load_record(repo / "runs" / run_id)
    task = system["executor"]["task_id"]
    # Ray's words: the cancellation, or (cancelled as it yielded) the generator's end
    said = (f"TaskCancelledError: Task: TaskID({task}) was cancelled.",
            "the task ended without a result")  # fmt: skip
    reason = system["reason"]
    assert reason in {
        f"ray task {task} cancelled: over its resources.time of 2 s: {w}" for w in said
    }
    assert (system["status"], system["exit_code"]) == ("failed", None)
    # the command stopped on the forwarded SIGINT, not after the runner's 10 s grace
    assert 2 <= system["duration_s"] < 6
    assert done.returncode == 1
    assert done.stderr.endswith(
        f"[strata] {run_id} failed: {reason}\n"
        f"[strata] {run_id} failed in {system['duration_s']:g} s: runs/{run_id}/\n"
    )
    assert doctor_script(repo, "--strict").returncode == 0


def test_a_worker_killed_outright_is_recorded_failed_with_rays_words(
    cluster: raynodes.Cluster, tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "repo")
    said = tmp_path / "worker.pid"  # the command's parent: the Ray worker running the runner
    spec = write_experiment(
        repo, "sleepy", f"command: [sh, -c, 'echo $PPID $$ > {said}; exec sleep 20']\n"
    )
    try:
        with _driver(repo, cluster, spec) as waiting:
            _until(lambda: said.exists() and said.read_text().endswith("\n"), 60)
            worker = int(said.read_text().split()[0])
            os.kill(worker, 9)
            _, err = waiting.communicate(timeout=60)
    finally:
        if said.exists():
            with contextlib.suppress(ProcessLookupError):  # orphaned with its worker
                os.kill(int(said.read_text().split()[1]), 9)
    (run_id,) = runs(repo)
    _, system, _ = load_record(repo / "runs" / run_id)
    task = system["executor"]["task_id"]
    assert (system["status"], system["exit_code"], system["pid"]) == ("failed", None, worker)
    assert system["reason"] == (
        f"ray task {task} failed: WorkerCrashedError: The worker died unexpectedly while "
        "executing this task. Check python-core-worker-*.log files for more information."
    )
    assert err.endswith(
        f"[strata] {run_id} failed: {system['reason']}\n"
        f"[strata] {run_id} failed in {system['duration_s']:g} s: runs/{run_id}/\n"
    )
    assert waiting.returncode == 1
    assert doctor_script(repo, "--strict").returncode == 0


def test_ctrl_c_on_the_driver_cancels_its_tasks_and_records_them_failed(
    cluster: raynodes.Cluster, tmp_path: Path
) -> None:
    repo = fork_template(tmp_path / "repo")
    said = tmp_path / "started"
    spec = write_experiment(
        repo, "sleepy",
        f"command: [sh, -c, 'echo $$ >> {said}; exec sleep 60']\n"
        "params:\n  n: 0\nsweep:\n  grid:\n    n: [1, 2]\n",
    )  # fmt: skip
    with _driver(repo, cluster, spec) as waiting:
        _until(lambda: said.exists() and said.read_text().count("\n") == 2, 60)
        waiting.send_signal(signal.SIGINT)
        _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 130, err
    made = runs(repo)
    assert len(made) == 2
    for run_id in made:
        _, system, _ = load_record(repo / "runs" / run_id)
        task = system["executor"]["task_id"]
        assert (system["status"], system["exit_code"]) == ("failed", None)
        assert system["reason"].startswith(
            f"ray task {task} cancelled: the driver was interrupted: "
        )
        assert system["duration_s"] < 10  # the commands stopped, not slept on
    assert err.endswith("  2 failed\n")
    assert not list((repo / ".strata" / "ray").iterdir())  # nothing half-placed, nothing staged
    assert doctor_script(repo, "--strict").returncode == 0


def test_resources_no_node_has_are_refused_before_anything_runs(
    cluster: raynodes.Cluster, tmp_path: Path
) -> None:
    repo = without_pipeline_runs(fork_template(tmp_path / "repo"))
    spec = write_experiment(repo, "big", "command: [echo]\nresources:\n  cpus: 2\n  memory: 1M\n")
    done = _on_ray(repo, cluster, "--experiment", spec)
    hint = "(hint: lower `resources:` in the spec, or add a node that has them (`ray status` lists them))"
    assert (done.returncode, done.stdout, done.stderr) == (2, "", (
        f"run: error: [ray-unplaceable] big: no node of the cluster has 2 CPU, 1048576 memory "
        f"for one task {hint}\n"
    ))  # fmt: skip
    pipeline = repo / "pipelines" / "iris.yaml"  # a stage's resources go to Ray as well
    text = pipeline.read_text().replace(
        "    params:\n", "    resources:\n      gpus: 1\n    params:\n", 1
    )
    pipeline.write_text(text)
    done = _on_ray(repo, cluster, "--pipeline", "pipelines/iris.yaml")
    assert (done.returncode, done.stderr) == (2, (
        f"run: error: [ray-unplaceable] iris.train: no node of the cluster has 1 CPU, 1 GPU for "
        f"one task {hint}\n"
    ))  # fmt: skip
    assert runs(repo) == []


# The driver's checks of a returned run, on archives made here: no cluster needed.


def _sealed_run(tmp_path: Path) -> tuple[Path, Path]:
    """A fork, and a sealed run of it moved out of runs/ (as a worker would hold it)."""
    repo = fork_template(tmp_path / "repo")
    spec = write_experiment(repo, "plain", "command: [echo, hi]\n")
    assert run_py(repo, "--experiment", spec).returncode == 0
    (run_id,) = runs(repo)
    held = tmp_path / "worker" / run_id
    held.parent.mkdir()
    (repo / "runs" / run_id).rename(held)
    return repo, held


def _refused(repo: Path, archive: bytes) -> str:
    from strataml.runner.rayship import RefusedError, place_returned

    before = sorted(p.name for p in (repo / "runs").iterdir())
    with pytest.raises(RefusedError) as caught:
        place_returned(repo, archive)
    assert sorted(p.name for p in (repo / "runs").iterdir()) == before  # nothing placed
    assert not list((repo / ".strata" / "ray").iterdir())  # nothing staged left
    return str(caught.value)


def test_a_returned_run_with_a_flipped_byte_is_refused_and_nothing_placed(
    tmp_path: Path,
) -> None:
    from strataml.runner.rayship import RefusedError, pack_run, place_returned

    repo, held = _sealed_run(tmp_path)
    logs = held / "logs.txt"
    data = bytearray(logs.read_bytes())
    data[0] ^= 0x01
    logs.write_bytes(bytes(data))
    assert _refused(repo, pack_run(held)) == (
        f"[ray-archive-mismatch] returned run {held.name}: logs.txt differs from its "
        "CHECKSUMS.txt digest"
    )
    data[0] ^= 0x01
    logs.write_bytes(bytes(data))
    (held / "extra.txt").write_text("x")
    assert _refused(repo, pack_run(held)) == (
        f"[ray-archive-mismatch] returned run {held.name}: extra.txt is not in CHECKSUMS.txt"
    )
    (held / "extra.txt").unlink()
    with pytest.raises(RefusedError) as caught:  # intact, but not the run the task was sent for
        place_returned(repo, pack_run(held), task_id="ab" * 24)
    assert str(caught.value) == (
        f"[ray-archive-mismatch] returned run {held.name} is not the run of task {'ab' * 24}"
    )
    with pytest.raises(RefusedError) as caught:
        place_returned(repo, pack_run(held), fingerprint="blake3:" + "0" * 64)
    assert str(caught.value) == (
        f"[ray-archive-mismatch] returned run {held.name} does not record the fingerprint of "
        "the point it was sent"
    )
    fingerprint = load_record(held)[0]["fingerprint"]
    placed = place_returned(repo, pack_run(held), fingerprint=fingerprint)
    assert placed == held.name  # the intact run is placed
    assert doctor_script(repo, "--strict").returncode == 0
    assert _refused(repo, pack_run(held)) == (
        f"[ray-run-exists] runs/{held.name} exists already: the returned run is not placed"
    )
    assert _refused(repo, b"not a tar") == (
        "[ray-archive-unreadable] the returned run cannot be unpacked: truncated header"
    )


def test_a_refused_return_is_recorded_failed_with_the_refusal_where_the_task_ran(
    tmp_path: Path,
) -> None:
    from strataml.runner import session
    from strataml.runner.execute import Interrupts
    from strataml.runner.rayship import pack_run
    from strataml.runner.raysweep import RayExecutor

    repo, held = _sealed_run(tmp_path)
    (held / "logs.txt").write_text("changed on the way\n")
    (planned,) = session.plan(repo, repo / "experiments" / "plain.yaml")
    task, node = "ab" * 24, "cd" * 28
    report = {
        "task_id": task, "node_id": node, "job_id": "01000000", "pid": 4242,
        "host": {**load_record(held)[1]["host"], "hostname": "node-7"},
        "started": "2026-12-06T23:00:00.000+00:00",
    }  # fmt: skip
    told: list[str] = []
    result = RayExecutor(repo, Interrupts(), told.append).place(planned, report, pack_run(held))
    refusal = (
        f"[ray-archive-mismatch] returned run {held.name}: logs.txt differs from its "
        "CHECKSUMS.txt digest"
    )
    reason = f"ray task {task} returned a run the driver refused: {refusal}"
    assert told == [refusal, f"{result.run_id} failed: {reason}"]
    assert (result.status, result.exit_code) == ("failed", 1)
    assert result.run_id != held.name and runs(repo) == [result.run_id]
    _, system, _ = load_record(repo / "runs" / result.run_id)
    assert (system["status"], system["exit_code"], system["reason"]) == ("failed", None, reason)
    assert (system["pid"], system["host"]["hostname"]) == (4242, "node-7")
    assert system["executor"] == {
        "name": "ray", "job_id": "01000000", "task_id": task, "node_id": node,
    }  # fmt: skip
    assert not list((repo / ".strata" / "ray").iterdir())
    assert doctor_script(repo, "--strict").returncode == 0


def test_a_returned_run_without_its_seal_is_refused(tmp_path: Path) -> None:
    from strataml.runner.rayship import pack_run

    repo, held = _sealed_run(tmp_path)
    system = held / "system.json"
    sealed = system.read_text()
    system.write_text(sealed.replace('"status": "succeeded"', '"status": "running"'))
    (held / "CHECKSUMS.txt").unlink()
    assert _refused(repo, pack_run(held)) == (
        f"[ray-archive-unsealed] returned run {held.name} has no CHECKSUMS.txt"
    )
    from strataml.integrity.stamp import stamp_directory

    stamp_directory(held)  # listed, every byte as listed, but still `running`
    assert _refused(repo, pack_run(held)) == (
        f"[ray-archive-unsealed] returned run {held.name} is not sealed (status 'running')"
    )


def test_files_changed_on_the_way_to_a_task_are_refused(tmp_path: Path) -> None:
    from strataml.errors import StrataError
    from strataml.integrity.hashing import hash_bytes
    from strataml.runner.rayship import pack, unpack

    (tmp_path / "code.py").write_text("print(1)\n")
    packed = pack(tmp_path, ["code.py"])
    with pytest.raises(StrataError) as caught:
        unpack([(packed[:-1] + b"x", hash_bytes(packed))], tmp_path / "scratch")
    assert str(caught.value) == (
        "[ray-payload-mismatch] the files the driver sent arrived changed "
        "(hint: run the sweep again)"
    )
    assert not (tmp_path / "scratch").exists()
    unpack([(packed, hash_bytes(packed))], tmp_path / "scratch")
    assert (tmp_path / "scratch" / "code.py").read_text() == "print(1)\n"


def test_what_a_killed_driver_staged_is_swept_and_a_live_drivers_is_not(tmp_path: Path) -> None:
    from strataml.runner.rayship import staging_directory, sweep_staging

    dead = subprocess.Popen(["true"])  # a pid that has just ended
    dead.wait()
    left = tmp_path / ".strata" / "ray" / f"incoming-{dead.pid}-x1y2z3ab"
    (left / "run-2026-12-06-aaaaaa").mkdir(parents=True)
    mine = staging_directory(tmp_path, "lost")
    other = tmp_path / ".strata" / "ray" / "notes"
    other.mkdir()
    sweep_staging(tmp_path)
    assert sorted(p.name for p in (tmp_path / ".strata" / "ray").iterdir()) == sorted(
        [mine.name, "notes"]
    )
    assert mine.name.startswith(f"lost-{os.getpid()}-")


def _with_member(held: Path, member: tarfile.TarInfo, data: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(held, arcname=held.name)
        tar.addfile(member, io.BytesIO(data) if data else None)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "said"),
    [
        ("symlink", "is a symlink; a run holds regular files only"),
        ("hardlink", "is a hard link; a run holds regular files only"),
        ("fifo", "is a device or fifo; a run holds regular files only"),
        ("dotdot", "is not a plain relative path"),
        ("absolute", "is not a plain relative path"),
        ("other-run", "is not under one run directory"),
    ],
)
def test_a_returned_archive_with_a_link_or_a_path_out_of_its_run_is_refused(
    tmp_path: Path, make: str, said: str
) -> None:
    repo, held = _sealed_run(tmp_path)
    name = {
        "dotdot": f"{held.name}/../../escaped", "absolute": "/tmp/escaped",
        "other-run": "run-2026-12-06-aaaaaa/x",
    }.get(make, f"{held.name}/artifacts/link")  # fmt: skip
    member = tarfile.TarInfo(name)
    if make == "symlink":
        member.type, member.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif make == "hardlink":
        member.type, member.linkname = tarfile.LNKTYPE, f"{held.name}/logs.txt"
    elif make == "fifo":
        member.type = tarfile.FIFOTYPE
    else:
        member.size = 1
    archive = _with_member(held, member, b"x" if member.isfile() else b"")
    assert _refused(repo, archive) == f"[ray-archive-unsafe] returned member {name!r} {said}"
    assert not (tmp_path / "escaped").exists()


def test_ray_options_go_with_the_ray_executor(tmp_path: Path) -> None:
    repo = fork_template(tmp_path / "repo")
    spec = write_experiment(repo, "plain", "command: [echo]\n")
    cases = [
        (("--address", "127.0.0.1:1"), "--address goes with --executor ray"),
        (("--executor", "ray", "--detach"),
         "--partition, --account and --detach go with --executor slurm"),
        (("--executor", "ray", "--dry-run"),
         "--executor ray runs --experiment FILE or --pipeline FILE (no --reproduce, --dry-run "
         "or --reuse yet)"),
        (("--executor", "nowhere"), "--executor 'nowhere': choose local, slurm or ray"),
    ]  # fmt: skip
    for args, message in cases:
        done = run_py(repo, "--experiment", spec, *args)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", f"run: error: {message}\n")
    assert runs(repo) == []


def test_an_address_where_no_ray_listens_is_refused_before_anything_runs(tmp_path: Path) -> None:
    repo = fork_template(tmp_path / "repo")
    spec = write_experiment(repo, "plain", "command: [echo]\n")
    done = run_py(repo, "--experiment", spec, "--executor", "ray", "--address", "127.0.0.1:1")
    assert (done.returncode, done.stdout) == (2, "")
    if importlib.util.find_spec("ray") is None:  # the suites on the other Pythons: no extra
        assert done.stderr == (
            "run: error: [ray-missing] ray is not installed here (hint: pip install "
            "'strataml[ray]' (ray 2.60.0) on this machine and on every node)\n"
        )
    else:
        assert done.stderr == (
            "run: error: [ray-unreachable] no Ray cluster at 127.0.0.1:1: Connection refused "
            "(hint: start one with `ray start --head`, or pass --address HOST:PORT)\n"
        )
    assert runs(repo) == []


@pytest.mark.parametrize(
    "name", [".git/config", ".gitignore", "artifacts/.gitattributes", ".GIT/HEAD", ".gitmodules"]
)
def test_a_returned_run_carrying_gits_own_files_is_refused_even_when_listed(
    tmp_path: Path, name: str
) -> None:
    """A .git/ (whose config runs commands) or a .gitignore (which hides the run) would act
    once placed under runs/: refused even when CHECKSUMS.txt lists it honestly."""
    from strataml.integrity.stamp import stamp_directory
    from strataml.runner.rayship import pack_run

    repo, held = _sealed_run(tmp_path)
    (held / name).parent.mkdir(parents=True, exist_ok=True)
    (held / name).write_text("[core]\n\tfsmonitor = touch /tmp/strata-ray-pwned\n")
    stamp_directory(held)  # listed, with its digest
    parts = name.split("/")
    first = "/".join(
        parts[: 1 + next(i for i, p in enumerate(parts) if p.startswith((".git", ".GIT")))]
    )
    assert _refused(repo, pack_run(held)) == (
        f"[ray-archive-unsafe] returned member '{held.name}/{first}' is Git's own; a run holds "
        "no Git files (they would run commands or hide the run from Git once placed)"
    )


def test_a_sparse_member_is_refused_before_its_holes_are_written(tmp_path: Path) -> None:
    repo, held = _sealed_run(tmp_path)
    big = tmp_path / "sparse" / held.name / "artifacts" / "big"
    big.parent.mkdir(parents=True)
    with big.open("wb") as handle:
        handle.truncate(300 * 2**20)  # 300 MiB of holes
    archive = tmp_path / "sparse.tar"
    tar = require_tool("tar")
    subprocess.run([tar, "--sparse", "--format=pax", "-cf", str(archive), "-C",
                    str(big.parents[2]), held.name], check=True)  # fmt: skip
    assert archive.stat().st_size < 2**20
    assert _refused(repo, archive.read_bytes()) == (
        f"[ray-archive-unsafe] returned member '{held.name}/artifacts/big' is a sparse file"
    )


def test_a_returned_system_json_nested_too_deep_is_a_refusal_not_a_traceback(
    tmp_path: Path,
) -> None:
    from strataml.integrity.stamp import stamp_directory
    from strataml.runner.rayship import pack_run

    repo, held = _sealed_run(tmp_path)
    deep = '{"status": "succeeded", "x": ' + "[" * 200_000 + "]" * 200_000 + "}"
    (held / "system.json").write_text(deep)
    stamp_directory(held)
    assert _refused(repo, pack_run(held)) == (
        f"[ray-archive-unsealed] returned run {held.name} is not sealed (status None)"
    )
