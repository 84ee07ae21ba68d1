"""strataml.start_run: runs from a script, a notebook and inside tools/run.py, recorded as
tools/run.py records them (TFC-0002 R17, TFC-0003 R17)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, RunCli, commit_all, doctor_script, git, require_module
from runkit import assert_valid_record, load_record, run_py, runs, write_experiment
from strataml.integrity.digest import Digest
from strataml.runner.experiment import SpecError
from strataml.tracking import TrackingError

IRIS = "datasets/iris@v1#blake3:d179a6f26f712b7fc1514fdcb567cafd2497fb6f01adb8099ffd559cc712ad5e"
SCRIPT = """\
import strataml

with strataml.start_run(
    experiment="iris-script", params={"lr": 0.5, "layers": [4, 3]},
    inputs={"data": "datasets/iris@v1"}, tags=["script"],
) as run:
    print(run.run_id, run.input_path("data").relative_to(run.root), flush=True)
    run.log_metric("loss", 0.5, step=0)
    run.log_metric("loss", 0.25, step=1)
    run.log_metrics({"acc": 0.75, "f1": 0.5})
    run.log_param("epochs", 2)
    run.set_tag("logged")
    with open("experiments/notes/summary.txt", "w") as handle:
        handle.write("two epochs\\n")
    run.log_artifact("experiments/notes/summary.txt")
    run.log_artifact("experiments/notes", name="all-notes")
print(run.result.status)
"""


def script_run(repo: Path, rel: str, body: str, *, expect: int = 0) -> tuple[str, str]:
    """Write, commit and run a script from the repository root: (run id, stdout)."""
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(body, encoding="utf-8")
    (repo / "experiments" / "notes").mkdir(exist_ok=True)
    (repo / "experiments" / "notes" / ".gitkeep").write_text("")
    commit_all(repo, f"add {rel}")
    before = set(runs(repo))
    done = subprocess.run(
        [sys.executable, rel], cwd=repo, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == expect, done.stderr
    [made] = set(runs(repo)) - before
    return made, done.stdout


def digest(path: Path) -> str:
    return str(Digest.of(path.read_bytes()))


def cloned(repo: Path, where: Path) -> Path:
    """What a teammate gets: no empty dirs, no mtimes, no modes but +x."""
    commit_all(repo, "round trip")
    git(where, "clone", "-q", str(repo), str(where / "clone"))
    return where / "clone"


def test_a_script_run_is_recorded_as_run_py_records_a_run(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strata: RunCli
) -> None:
    run_id, out = script_run(template, "experiments/track.py", SCRIPT)
    assert out == f"{run_id} datasets/iris/v1\nsucceeded\n"
    run_dir = template / "runs" / run_id
    assert_valid_record(run_dir)
    config, system, metrics = load_record(run_dir)
    head = git(template, "rev-parse", "HEAD").strip()
    assert {k: config[k] for k in ("experiment", "params", "inputs", "tags", "started_from")} == {
        "experiment": {
            "name": "iris-script",
            "path": "experiments/track.py",
            "spec": {
                "schema_version": 1,
                "name": "iris-script",
                "command": ["python", "experiments/track.py"],
                "params": {"lr": 0.5, "layers": [4, 3], "epochs": 2},
                "inputs": {"data": IRIS},
                "tags": ["script", "logged"],
                "shell": False,
            },
        },
        "params": {"lr": 0.5, "layers": [4, 3], "epochs": 2},
        "inputs": {
            "data": {"ref": IRIS, "path": "datasets/iris/v1", "content_hash": IRIS.split("#")[1]}
        },
        "tags": ["script", "logged"],
        "started_from": {
            "kind": "script",
            "path": "experiments/track.py",
            "content_hash": digest(template / "experiments" / "track.py"),
        },
    }
    # Read when start_run was called, before the script wrote notes/summary.txt.
    assert (config["code"]["commit"], config["code"]["dirty"], config["code"]["diff_hash"]) == (
        head, False, None,
    )  # fmt: skip
    assert (system["status"], system["exit_code"], system["git"]["commit"]) == (
        "succeeded",
        0,
        head,
    )
    assert system["pid"] > 0 and system["host"] is not None and "reason" not in system
    assert metrics == {
        "schema_version": 1,
        "final": {"acc": 0.75, "f1": 0.5, "loss": 0.25},
        "history": {"loss": [{"step": 0, "value": 0.5}, {"step": 1, "value": 0.25}]},
    }
    assert sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*")) == [
        "CHECKSUMS.txt", "artifacts", "artifacts/all-notes", "artifacts/all-notes/.gitkeep",
        "artifacts/all-notes/summary.txt", "artifacts/summary.txt", "config.yaml", "logs.txt",
        "metrics.json", "system.json",
    ]  # fmt: skip
    assert (run_dir / "artifacts" / "summary.txt").read_text() == "two epochs\n"
    assert (
        (run_dir / "logs.txt")
        .read_text()
        .splitlines()[-1]
        .startswith(f"[strata] {run_id} succeeded (exit code 0) after ")
    )

    # Beside a run of tools/run.py: compared section by section, and both survive a clone.
    monkeypatch.chdir(template)
    assert run_py(template, "--experiment", "experiments/my_experiment.yaml").returncode == 0
    [other] = set(runs(template)) - {run_id}
    code, out, err = strata("runs", "compare", run_id, other, "--format", "json")
    assert (code, err) == (0, "")
    sections = json.loads(out)["sections"]
    assert sorted(sections) == ["code", "metrics", "params", "run"]  # inputs alike: hidden
    assert sections["run"] == {
        "experiment": ["iris-script", "my_experiment"],
        "tags": ["script, logged", "example, iris"],
    }
    assert sections["params"] == {
        "epochs": [2, 100], "l2": [None, 0.001], "layers": [[4, 3], None],
        "learning_rate": [None, 0.5], "lr": [0.5, None], "seed": [None, 0],
    }  # fmt: skip
    assert {name: values[0] for name, values in sections["metrics"].items()} == {
        "acc": 0.75, "f1": 0.5, "loss": 0.25,
        "test/accuracy": None, "train/loss": None, "val/accuracy": None,
    }  # fmt: skip
    # run.py --reproduce runs the script again; start_run in it joins that run.
    (template / "experiments" / "notes" / "summary.txt").unlink()
    done = run_py(template, "--reproduce", run_id)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "verdict: PASS"), done.stderr
    (template / "experiments" / "notes" / "summary.txt").unlink()
    clone = cloned(template, tmp_path)
    checked = doctor_script(clone, "--strict")
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout == (  # the template's six, this script's run, run.py's, the rerun
        "OK (strict): 0 errors, 0 warnings, 0 info; 9 artifacts checked, 51 files hashed\n"
    )


def test_an_exception_records_failed_and_propagates(template: Path) -> None:
    body = (
        "import strataml\n"
        "with strataml.start_run(experiment='boom') as run:\n"
        "    run.log_metric('loss', 1.5, step=0)\n"
        "    raise ValueError('the data ran out')\n"
    )
    run_id, _ = script_run(template, "experiments/boom.py", body, expect=1)
    run_dir = template / "runs" / run_id
    assert_valid_record(run_dir)
    _, system, metrics = load_record(run_dir)
    assert (system["status"], system["exit_code"], system["reason"]) == (
        "failed", 1, "ValueError: the data ran out",
    )  # fmt: skip
    assert metrics["history"] == {"loss": [{"step": 0, "value": 1.5}]}
    log = (run_dir / "logs.txt").read_text().splitlines()
    assert log[1] == "Traceback (most recent call last):"
    assert log[-2] == "ValueError: the data ran out"
    assert log[-1].startswith(f"[strata] {run_id} failed (exit code 1) after ")
    assert (run_dir / "CHECKSUMS.txt").is_file()
    checked = doctor_script(template, "--strict")
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, -2), (signal.SIGTERM, -15)])
def test_ctrl_c_and_sigterm_record_interrupted(template: Path, signum: int, exit_code: int) -> None:
    body = (
        "import os, strataml\n"
        "with strataml.start_run(experiment='stopped') as run:\n"
        f"    os.kill(os.getpid(), {int(signum)})\n"
        "    raise SystemExit('not reached')\n"
    )
    # Recorded, then the process ends as it would have without start_run: by the signal.
    run_id, _ = script_run(template, "experiments/stopped.py", body, expect=-signum)
    _, system, _ = load_record(template / "runs" / run_id)
    assert (system["status"], system["exit_code"], "reason" in system) == (
        "interrupted", exit_code, False,
    )  # fmt: skip
    assert_valid_record(template / "runs" / run_id)


def test_a_killed_process_leaves_an_abandoned_run_and_nothing_half_written(
    template: Path,
) -> None:
    body = (
        "import os, signal, strataml\n"
        "with strataml.start_run(experiment='killed') as run:\n"
        "    run.log_metric('loss', 1.0)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    run_id, _ = script_run(template, "experiments/killed.py", body, expect=-9)
    run_dir = template / "runs" / run_id
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "artifacts", "config.yaml", "logs.txt", "system.json",
    ]  # fmt: skip
    assert_valid_record(run_dir)
    checked = doctor_script(template)
    lines, pid = checked.stdout.splitlines(), load_record(run_dir)[1]["pid"]
    assert lines[0] == f"runs/{run_id}"
    assert re.fullmatch(
        rf"  system\.json:\d+: error RUN006 status is running but its runner \(pid {pid}\) is "
        "gone: the run was abandoned", lines[1],
    )  # fmt: skip
    assert lines[-1].startswith("FAILED: 1 error, 0 warnings, 0 info; ")


def test_bad_input_is_refused_before_anything_is_created(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strataml import start_run

    monkeypatch.chdir(template)
    code = "experiments/train.py"
    before = sorted(p.name for p in (template / "runs").iterdir())
    with pytest.raises(SpecError) as caught:
        start_run(experiment="x", inputs={"data": "datasets/nope@v1"}, code=code)
    assert (
        str(caught.value)
        == "input data: datasets/nope@v1 does not exist (no directory datasets/nope/v1)"
    )
    with pytest.raises(SpecError) as caught:
        start_run(experiment="x", inputs={"data": "datasets/iris"}, code=code)
    assert str(caught.value).startswith(  # what run.py says of the same input in a spec
        "start_run: inputs.data: 'datasets/iris' does not match '^(datasets|models)/"
    )
    with pytest.raises(SpecError) as caught:
        start_run(experiment="Bad Name", code=code)
    assert str(caught.value).startswith("start_run: name: 'Bad Name' does not match")
    with pytest.raises(SpecError) as caught:
        start_run(experiment="x", params={"lr": float("nan")}, code=code)
    assert str(caught.value) == (
        "start_run: params: not JSON-compatible: NaN or an infinity, which JSON cannot hold"
    )
    with pytest.raises(SpecError) as caught:
        start_run(experiment="x", params={"url": "https://u:hunter2@example.com/x"}, code=code)
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("experiments/train.py: experiment.spec.params.url holds ")
    with pytest.raises(TrackingError) as caught:
        start_run(experiment="x", code="/tmp/elsewhere.py")
    assert str(caught.value) == (
        f"/tmp/elsewhere.py: outside the repository {template}; a run records its code, so the "
        "script or notebook must be in the repository"
    )
    with pytest.raises(TrackingError) as caught:  # pytest's own __main__ is no script of the repo
        start_run(experiment="x")
    assert "outside the repository" in str(caught.value)
    (template / "models" / "other").symlink_to("iris-classifier")  # another model's bytes
    with pytest.raises(SpecError) as caught:
        start_run(experiment="x", inputs={"m": "models/other@v1"}, code=code)
    assert str(caught.value) == (
        "input m: models/other@v1: models/other is a symlink; inputs are real folders only"
    )
    (template / "models" / "other").unlink()
    with pytest.raises(SpecError) as caught:  # a str is a sequence of letters
        start_run(experiment="x", tags="lr", code=code)
    assert str(caught.value) == "start_run: tags is a list of strings, not the string 'lr'"
    with pytest.raises(SpecError) as caught:
        start_run(experiment="x", name=5, code=code)  # type: ignore[arg-type]
    assert str(caught.value) == "start_run: name must be a string of 1 to 100 characters"
    assert sorted(p.name for p in (template / "runs").iterdir()) == before


def test_a_sealed_run_takes_no_artifact(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from strataml import start_run

    monkeypatch.chdir(template)
    (template / "notes.txt").write_text("late\n")
    with start_run(experiment="sealed", code="experiments/train.py") as run:
        run.log_metric("loss", 0.1)
    with pytest.raises(TrackingError) as caught:
        run.log_artifact("notes.txt")
    assert str(caught.value) == f"{run.run_id} has ended; its record is sealed"
    assert not (run.path / "artifacts" / "notes.txt").exists()
    assert doctor_script(template, "--strict", f"runs/{run.run_id}").returncode == 0


def test_bad_calls_inside_a_run_raise_and_write_nothing(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strataml import start_run

    monkeypatch.chdir(template)
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    (template / "link.txt").symlink_to(outside)
    (template / "linked").symlink_to(tmp_path)
    (template / "tree").mkdir()
    (template / "tree" / "ok.txt").write_text("ok\n")
    (template / "tree" / "bad").symlink_to(outside)
    with start_run(experiment="careful", params={"lr": 0.1}, code="experiments/train.py") as run:
        for call, message in (
            (lambda: run.log_metric("bad name", 1.0),
             "metric 'bad name': name must be letters, digits and _ . / : @ - (at most 128)"),
            (lambda: run.log_metric("loss", float("nan")), "metric 'loss': value is not a finite number"),
            (lambda: run.log_metrics({"ok": 1.0, "inf": float("inf")}),
             "metric 'inf': value is not a finite number"),
            (lambda: run.log_metric("loss", 1.0, step=-1), "metric 'loss': step is not a non-negative integer"),
            (lambda: run.log_param("lr", 0.2),
             "parameter 'lr' is already 0.1; a run's parameters do not change while it runs"),
            (lambda: run.log_param("bad-key", 1), "parameter 'bad-key': a name is letters, digits and _ (at most 64)"),
            (lambda: run.log_param("rate", float("nan")),
             "parameter 'rate': not JSON-compatible: NaN or an infinity, which JSON cannot hold"),
            (lambda: run.log_artifact(outside),
             f"log_artifact {outside}: outside the repository {template}; a run keeps only what the repository holds"),
            (lambda: run.log_artifact("link.txt"), "log_artifact link.txt: link.txt is a symlink, which is never followed"),
            (lambda: run.log_artifact("linked/outside.txt"),
             "log_artifact linked/outside.txt: linked is a symlink, which is never followed"),
            (lambda: run.log_artifact("tree"),
             "log_artifact tree: bad is a symlink or special file; runs hold regular files only"),
            (lambda: run.log_artifact("tree/ok.txt", name="../up.txt"),
             "log_artifact: '../up.txt' is not a portable relative path inside artifacts/"),
            (lambda: run.log_artifact("missing.txt"), "log_artifact missing.txt: No such file or directory"),
        ):  # fmt: skip
            with pytest.raises(TrackingError) as caught:
                call()
            assert str(caught.value) == message
        with pytest.raises(TrackingError, match=r"^a run is already active in this process: run-"):
            start_run(experiment="nested", code="experiments/train.py")
        run.log_param("lr", 0.1)  # the same value again is no change
        assert run.log_artifact("tree/ok.txt", name="kept/ok.txt") == run.output_dir / "kept/ok.txt"
    assert run.result is not None and run.result.status == "succeeded"
    run_dir = run.result.path
    _, _, metrics = load_record(run_dir)
    assert metrics == {"schema_version": 1, "final": {}, "history": {}}
    assert sorted(p.relative_to(run_dir).as_posix() for p in (run_dir / "artifacts").rglob("*")) == [
        "artifacts/kept", "artifacts/kept/ok.txt",
    ]  # fmt: skip
    with pytest.raises(TrackingError, match=r"has ended; its record is sealed$"):
        run.log_metric("late", 1.0)


def test_inside_run_py_start_run_writes_into_the_current_run(template: Path) -> None:
    joined = (
        "import strataml\n"
        "from strataml.tracking import TrackingError\n"
        "with strataml.start_run(experiment='joined', params={'lr': 0.9, 'seed': 1},\n"
        "                        inputs={'data': 'datasets/iris@v1'}) as run:\n"
        "    print(run.run_id, run.params, run.input_path('data').name)\n"
        "    run.log_metric('loss', 0.5, step=0)\n"
        "    run.log_metrics({'acc': 0.5})\n"
        "    open('experiments/out.txt', 'w').write('out\\n')\n"
        "    run.log_artifact('experiments/out.txt')\n"
        "    run.set_tag('joined')\n"
        "    for call in (lambda: run.log_param('epochs', 3), lambda: run.set_tag('new')):\n"
        "        try:\n"
        "            call()\n"
        "        except TrackingError as error:\n"
        "            print(error)\n"
    )
    spec = write_experiment(
        template, "joined",
        "command: [python, experiments/joined.py]\nparams:\n  lr: 0.1\n  seed: 1\n"
        "inputs:\n  data: datasets/iris@v1\ntags: [joined]\n",
        files={"experiments/joined.py": joined},
    )  # fmt: skip
    done = run_py(template, "--experiment", spec)
    assert done.returncode == 0, done.stderr
    [run_id] = runs(template)
    assert done.stdout.splitlines()[:3] == [
        f"{run_id} {{'lr': 0.1, 'seed': 1}} v1",
        "parameter 'epochs': inside tools/run.py config.yaml is written before the command "
        "starts; declare it in the experiment's params",
        "tag 'new': inside tools/run.py config.yaml is written before the command starts; give "
        "it in the experiment's tags or with --tag",
    ]
    run_dir = template / "runs" / run_id
    config, system, metrics = load_record(run_dir)
    assert "started_from" not in config and system["status"] == "succeeded"
    assert metrics["final"] == {"acc": 0.5, "loss": 0.5}
    assert (run_dir / "artifacts" / "out.txt").read_text() == "out\n"

    nested = (
        "import strataml\n"
        "from strataml.tracking import TrackingError\n"
        "for inputs in ({'data': 'datasets/nonexistent@v9'}, {'data': 'datasets/iris@v2'}):\n"
        "    try:\n"
        "        strataml.start_run(experiment='joined', inputs=inputs)\n"
        "    except TrackingError as error:\n"
        "        print(error)\n"
        "with strataml.start_run(experiment='joined', inputs={'data': 'datasets/iris@v1'}):\n"
        "    try:\n"
        "        strataml.start_run(experiment='joined')\n"
        "    except TrackingError as error:\n"
        "        print(error)\n"
    )
    (template / "experiments" / "joined.py").write_text(nested)
    commit_all(template, "inputs that are not the run's")
    done = run_py(template, "--experiment", spec)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:3] == [
        "input data: datasets/nonexistent@v9 is not what this run reads; inside tools/run.py the "
        "experiment declares the inputs",
        "input data: datasets/iris@v2 is not what this run reads; inside tools/run.py the "
        "experiment declares the inputs",
        f"a run is already active in this process: {sorted(set(runs(template)) - {run_id})[0]}",
    ]
    checked = set(runs(template)) - {run_id}

    bad = template / "experiments" / "joined.py"
    bad.write_text("import strataml\nstrataml.start_run(experiment='j', params={'other': 1})\n")
    commit_all(template, "unknown parameter")
    assert run_py(template, "--experiment", spec).returncode == 1
    [failed] = set(runs(template)) - {run_id, *checked}
    error = (
        "strataml.tracking.TrackingError: parameter 'other' is not one of this run's; inside "
        "tools/run.py the experiment declares the parameters"
    )
    assert error in (template / "runs" / failed / "logs.txt").read_text().splitlines()


def test_the_notebook_example_runs_sealed_and_survives_a_clone(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strata: RunCli
) -> None:
    nbclient = require_module("nbclient")
    nbformat = require_module("nbformat")
    require_module("ipykernel")
    notebook = template / "experiments" / "notebook.ipynb"
    document = nbformat.read(notebook, as_version=4)
    client = nbclient.NotebookClient(
        document, timeout=120, kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )  # fmt: skip
    # What Jupyter Server tells a kernel: the notebook it runs.
    env = {**os.environ, "JPY_SESSION_NAME": str(notebook)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "tools"), env.get("PYTHONPATH")]))
    client.execute(env=env)
    [run_id] = runs(template)
    printed = "".join(o.get("text", "") for o in document.cells[-1].outputs)
    assert printed == f"{run_id} succeeded\n"
    run_dir = template / "runs" / run_id
    assert_valid_record(run_dir)
    config, system, metrics = load_record(run_dir)
    assert config["started_from"] == {
        "kind": "notebook",
        "path": "experiments/notebook.ipynb",
        "content_hash": digest(notebook),
    }
    assert config["experiment"]["path"] == "experiments/notebook.ipynb"
    assert config["experiment"]["spec"]["command"] == [
        "jupyter",
        "execute",
        "experiments/notebook.ipynb",
    ]
    assert config["params"]["classes"] == 3
    assert (config["code"]["dirty"], config["tags"]) == (False, ["notebook"])
    assert (system["status"], system["exit_code"]) == ("succeeded", 0)
    assert system["pid"] != os.getpid()  # the kernel's
    assert sorted(metrics["final"]) == ["test/accuracy", "train/accuracy", "val/accuracy"]
    assert (run_dir / "artifacts" / "centroids.json").is_file()

    # run.py --reproduce executes it with `jupyter execute`; start_run in it joins that run.
    done = run_py(template, "--reproduce", run_id)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "verdict: PASS"), done.stderr
    [again] = set(runs(template)) - {run_id}
    monkeypatch.chdir(template)
    assert run_py(template, "--experiment", "experiments/my_experiment.yaml").returncode == 0
    [other] = set(runs(template)) - {run_id, again}
    code, out, _ = strata("runs", "compare", run_id, other, "--format", "json")
    assert code == 0
    assert json.loads(out)["sections"]["run"]["experiment"] == ["iris-centroids", "my_experiment"]
    from strataml.index.catalogue import build_index  # what the dashboard shows

    listed = {r["id"]: r for r in build_index(template)["runs"]}
    assert (listed[run_id]["experiment"], listed[run_id]["status"]) == (
        "iris-centroids",
        "succeeded",
    )
    assert listed[run_id]["problems"] == listed[other]["problems"] == []
    clone = cloned(template, tmp_path)
    checked = doctor_script(clone, "--strict")
    assert checked.returncode == 0, checked.stdout


def test_import_strataml_stays_light_until_a_run_starts() -> None:
    probe = (
        "import sys, strataml\n"
        "print(sorted(m for m in sys.modules if m.startswith('strataml')))\n"
        "strataml.start_run\n"
        "print('strataml.runner.record' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert done.stdout == "['strataml']\nTrue\n", done.stderr


def test_a_kernel_that_cannot_name_its_notebook_says_so_and_records_nothing(
    template: Path,
) -> None:
    nbclient = require_module("nbclient")
    nbformat = require_module("nbformat")
    require_module("ipykernel")
    cell = "import strataml\nstrataml.start_run(experiment='nameless')"
    document = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    client = nbclient.NotebookClient(
        document, timeout=120, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(template / "experiments")}},
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "tools"), env.get("PYTHONPATH")]))
    client.execute(env=env)  # as nbclient alone runs it: no server tells the kernel its notebook
    [error] = [o for o in document.cells[0].outputs if o["output_type"] == "error"]
    assert (error["ename"], error["evalue"]) == (
        "TrackingError",
        "cannot tell which notebook is running: pass code='path/to/notebook.ipynb' to start_run",
    )
    assert runs(template) == []


def test_a_moving_reference_is_resolved_once_and_recorded_pinned(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strataml import start_run

    monkeypatch.chdir(template)
    asked = {"data": "datasets/iris@latest"}
    with start_run(experiment="latest", inputs=asked, code="experiments/train.py") as run:
        assert run.input_path("data") == template / "datasets" / "iris" / "v1"
    assert run.result is not None
    config, _, _ = load_record(run.result.path)
    assert config["inputs"] == {
        "data": {
            "ref": IRIS,
            "path": "datasets/iris/v1",
            "content_hash": IRIS.split("#")[1],
            "requested": "datasets/iris@latest",
        }
    }
    assert config["experiment"]["spec"]["inputs"] == {"data": IRIS}
    checked = doctor_script(template, "--strict")
    assert checked.returncode == 0, checked.stdout
