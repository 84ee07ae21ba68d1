"""strata import mlflow / dvc: other tools' runs become sealed run directories (TFC-0003 R14)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, RunCli, example_run, require_module, shipped_runs
from stores import RUN, T0, dvc_project, mlflow_store
from strataml.integrity.hashing import hash_bytes

MAKE_MLRUNS = REPO / "tests" / "fixtures" / "make_mlruns.py"


def _new_runs(repo: Path) -> dict[str, dict[str, Any]]:
    """Imported run id -> its config.yaml, keyed by the source's run id."""
    found = {}
    for directory in sorted((repo / "runs").iterdir()):
        if directory.name in shipped_runs() or not directory.name.startswith("run-"):
            continue
        config = yaml.safe_load((directory / "config.yaml").read_text())
        found[config["imported_from"]["run_id"]] = {"dir": directory, "config": config}
    return found


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def mlruns(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A file store written by real MLflow (mlflow-skinny, test extra): (path, ids)."""
    if importlib.util.find_spec("mlflow") is None:
        require_module("mlflow")  # skips, or fails under CI
    base = tmp_path_factory.mktemp("mlflow")
    (base / "scratch").mkdir()
    # MLflow 3 refuses its file store unless asked; it is what `mlruns/` users have.
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "HOME": str(base)}
    done = subprocess.run(
        [sys.executable, str(MAKE_MLRUNS), str(base / "mlruns"), str(base / "scratch")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return base / "mlruns", json.loads(done.stdout)


def test_mlflow_store_imports_with_params_metrics_and_artifacts_intact(
    mlruns: tuple[Path, dict[str, Any]], template: Path, strata: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    store, made = mlruns
    ids = made["runs"]
    monkeypatch.chdir(template)
    code, out, err = strata("import", "mlflow", str(store))
    runs = _new_runs(template)
    assert sorted(runs) == sorted([ids["baseline"], ids["diverged"], ids["stopped"]])
    name = {source: entry["dir"].name for source, entry in runs.items()}
    assert (code, err) == (0, "")
    # One line per source run, in the store's order (experiment id, then run id: random here).
    assert sorted(out.splitlines()) == sorted([
        f"imported  mlflow {ids['baseline'][:12]}… (baseline): succeeded -> runs/{name[ids['baseline']]}/",
        f"imported  mlflow {ids['diverged'][:12]}… (diverged): failed -> runs/{name[ids['diverged']]}/",
        f"imported  mlflow {ids['stopped'][:12]}… (stopped): interrupted -> runs/{name[ids['stopped']]}/",
        f"skipped   mlflow {ids['discarded'][:12]}…: deleted in MLflow",
        f"skipped   mlflow {ids['ongoing'][:12]}…: still RUNNING in MLflow; import it once it has ended",
        "3 imported, 2 skipped, 0 refused",
    ])  # fmt: skip
    assert out.endswith("\n3 imported, 2 skipped, 0 refused\n")

    baseline = runs[ids["baseline"]]
    run_dir, config = baseline["dir"], baseline["config"]
    assert run_dir.name.startswith("run-2025-11-24-")  # dated by the source run's start
    assert config["params"] == {"epochs": "3", "lr": "0.1", "optimizer/name": "sgd"}
    assert config["experiment"] == {"name": "iris-sweep", "path": None}
    assert (config["code"], config["fingerprint"], config["inputs"]) == (None, None, {})
    assert config["name"] == "baseline"
    assert config["created"] == "2025-11-24T16:00:00.000+00:00"
    source = config["imported_from"]
    assert {k: v for k, v in source.items() if k != "imported_at"} == {
        "tool": "mlflow",
        "path": store.as_posix(),
        "run_id": ids["baseline"],
        "experiment": "Iris Sweep",
        "experiment_id": made["experiments"]["sweep"],
        "user": source["user"],
        "artifact_uri": (store / made["experiments"]["sweep"] / ids["baseline"] / "artifacts").as_uri(),
        "tags": {"mlflow.runName": "baseline", "team": "vision"},
    }  # fmt: skip

    def point(step: int, value: float) -> dict[str, Any]:
        stamp = T0 + 1000 * (step + 1)
        return {"step": step, "value": value, "timestamp": stamp, "time": float(step + 1)}

    assert _json(run_dir / "metrics.json") == {
        "schema_version": 1,
        "final": {"loss": 0.25, "val/acc": 0.875},
        "history": {
            "loss": [point(0, 1.5), point(1, 0.75), point(2, 0.25)],
            "val/acc": [point(0, 0.5), point(1, 0.625), point(2, 0.875)],
        },
    }
    system = _json(run_dir / "system.json")
    assert {k: system[k] for k in ("status", "exit_code", "started", "ended", "duration_s")} == {
        "status": "succeeded", "exit_code": 0, "started": "2025-11-24T16:00:00.000+00:00",
        "ended": "2025-11-24T16:00:10.000+00:00", "duration_s": 10.0,
    }  # fmt: skip
    artifacts = store / made["experiments"]["sweep"] / ids["baseline"] / "artifacts"
    for rel in ("model.txt", "plots/curves/loss.bin"):
        assert (run_dir / "artifacts" / rel).read_bytes() == (artifacts / rel).read_bytes()
    listing = (run_dir / "CHECKSUMS.txt").read_text()
    digest = hash_bytes(bytes(range(256)) * 4).removeprefix("blake3:")
    assert f"{digest}  artifacts/plots/curves/loss.bin\n" in listing
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "CHECKSUMS.txt", "artifacts", "config.yaml", "logs.txt", "metrics.json", "system.json",
    ]  # fmt: skip

    diverged = runs[ids["diverged"]]["dir"]
    assert _json(diverged / "metrics.json")["history"] == {
        "loss": [{"step": 0, "value": 3.0, "timestamp": T0 + 61_000, "time": 1.0}]
    }
    assert (diverged / "logs.txt").read_text().splitlines()[1:] == [
        "[strata] metric 'loss' line 2: step 1 value nan left out "
        "(values must be finite, steps not negative)"
    ]
    assert _json(diverged / "system.json")["exit_code"] is None
    stopped = _json(runs[ids["stopped"]]["dir"] / "system.json")
    assert (stopped["status"], stopped["exit_code"], stopped["duration_s"]) == (
        "interrupted",
        None,
        5.0,
    )

    code, out, err = strata("doctor", str(template), "--strict")
    assert (code, err) == (0, ""), out
    assert out.startswith("OK (strict): 0 errors, 0 warnings, 0 info;")

    # Idempotent: the same store again imports nothing and changes nothing.
    code, out, _ = strata("import", "mlflow", str(store.parent))  # the directory holding mlruns/
    assert code == 0
    assert out.splitlines()[-1] == "0 imported, 5 skipped, 0 refused"
    assert (
        f"skipped   mlflow {ids['baseline'][:12]}… (baseline): already imported as runs/{run_dir.name}/"
        in out
    )
    assert _new_runs(template).keys() == runs.keys()


def test_mlflow_experiment_filter(
    mlruns: tuple[Path, dict[str, Any]], template: Path, strata: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    store, made = mlruns
    monkeypatch.chdir(template)
    code, out, _ = strata("import", "mlflow", str(store), "--experiment", "Iris Sweep")
    assert (code, out.splitlines()[-1]) == (0, "2 imported, 0 skipped, 0 refused")
    code, out, err = strata("import", "mlflow", str(store), "--experiment", "nope")
    assert (code, out, err) == (
        2,
        "",
        f"strata: error: {store}: no MLflow experiment named 'nope'\n",
    )
    code, out, _ = strata(
        "import", "mlflow", str(store), "--experiment", made["experiments"]["other"]
    )
    assert (code, out.splitlines()[-1]) == (0, "1 imported, 2 skipped, 0 refused")


# --- bad input: a store written by hand in MLflow's format, then broken ------------------------


def test_a_hand_written_store_imports(tmp_path: Path, template: Path, strata: RunCli,
                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    store = mlflow_store(tmp_path)
    metrics = store / "7" / RUN / "metrics"
    (metrics / "f1 score").write_text(f"{T0 + 5} 0.5\n")  # MLflow < 1.0: no step column
    (metrics / "old").write_text(f"{T0 + 6} 1.0 -1\n{T0 + 7} inf 0\n")
    monkeypatch.chdir(template)
    code, out, _ = strata("import", "mlflow", f"file://{store}")
    (entry,) = _new_runs(template).values()
    assert (code, out) == (
        0,
        f"imported  mlflow {RUN[:12]}…: succeeded -> runs/{entry['dir'].name}/\n"
        "1 imported, 0 skipped, 0 refused\n",
    )
    assert entry["config"]["experiment"]["name"] == "hand"
    assert (entry["dir"] / "artifacts" / "w.bin").read_bytes() == b"\x00\x01"
    assert _json(entry["dir"] / "metrics.json") == {
        "schema_version": 1,
        "final": {"f1_score": 0.5, "loss": 0.25},
        "history": {
            "f1_score": [{"step": 0, "value": 0.5, "timestamp": T0 + 5, "time": 0.005}],
            "loss": [
                {"step": 0, "value": 0.5, "timestamp": T0 + 1, "time": 0.001},
                {"step": 1, "value": 0.25, "timestamp": T0 + 2, "time": 0.002},
            ],
        },
    }
    assert (entry["dir"] / "logs.txt").read_text().splitlines()[1:] == [
        "[strata] metric 'f1 score' recorded as 'f1_score'",
        "[strata] metric 'old' line 1: step -1 value 1.0 left out "
        "(values must be finite, steps not negative)",
        "[strata] metric 'old' line 2: step 0 value inf left out "
        "(values must be finite, steps not negative)",
        "[strata] metric 'old' has no finite value; left out",
    ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(meta=st.binary(max_size=200), line=st.binary(max_size=60))
def test_any_bytes_in_a_store_are_read_or_refused(tmp_path: Path, meta: bytes, line: bytes) -> None:
    """The reader never raises on what it finds: each run is read, skipped or refused."""
    from strataml.importers import mlflow

    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch:
        store = mlflow_store(Path(scratch))
        run = store / "7" / RUN
        (run / "meta.yaml").write_bytes(f"run_id: {RUN}\n".encode() + meta)
        (run / "metrics" / "loss").write_bytes(line)
        found = list(mlflow.iter_runs(store))
    assert len(found) == 1


BROKEN = {
    "meta-syntax": (
        lambda run: (run / "meta.yaml").write_text(f"run_id: {RUN}\nstatus: [3\n"),
        "{run}/meta.yaml:3: ",
    ),
    "meta-duplicate-key": (
        lambda run: (run / "meta.yaml").write_text(f"run_id: {RUN}\nstatus: 3\nstatus: 4\n"),
        "{run}/meta.yaml:3: duplicate key 'status'",
    ),
    "status-unknown": (
        lambda run: _edit(run / "meta.yaml", "status: 3", "status: 9"),
        "{run}/meta.yaml:3: unknown run status 9",
    ),
    "end-missing": (
        lambda run: _edit(run / "meta.yaml", f"end_time: {T0 + 2000}", "end_time: null"),
        "{run}/meta.yaml:5: end_time is None, not milliseconds since 1970",
    ),
    "metric-junk": (
        lambda run: (run / "metrics" / "loss").write_text(f"{T0} 0.5 0\n{T0} zero 1\n"),
        "{run}/metrics/loss:2: not 'timestamp value step': '" + str(T0) + " zero 1'",
    ),
    "metric-binary": (
        lambda run: (run / "metrics" / "loss").write_bytes(b"\xff\xfe\x00junk"),
        "{run}/metrics/loss:1: not UTF-8 text (byte 0)",
    ),
    "param-binary": (
        lambda run: (run / "params" / "lr").write_bytes(b"ok\n\x80"),
        "{run}/params/lr:2: not UTF-8 text (byte 3)",
    ),
    "artifact-symlink-out": (
        lambda run: (run / "artifacts" / "escape").symlink_to("/etc/passwd"),
        "{run}/artifacts/escape: a symlink, which is never followed; the run is not imported",
    ),
    "artifacts-dir-symlink": (
        lambda run: _swap_for_link(run / "artifacts", run.parent.parent.parent),
        "{run}/artifacts: is a symlink; artifacts are never read through one",
    ),
    "artifact-fifo": (
        lambda run: os.mkfifo(run / "artifacts" / "pipe"),
        "{run}/artifacts/pipe: not a regular file; the run is not imported",
    ),
    "param-symlink": (
        lambda run: (
            (run / "params" / "lr").unlink() or (run / "params" / "lr").symlink_to("/etc/hostname")
        ),
        "{run}/params/lr: a symlink, which is never followed; the run is not imported",
    ),
    "run-dir-symlink": (
        lambda run: _swap_for_link(run, run.parent.parent.parent, keep=True),
        "{run}: a symlink, which is never followed; the store is read in place",
    ),
}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _swap_for_link(path: Path, target: Path, *, keep: bool = False) -> None:
    """Replace a directory by a symlink to `target` (keep: to the directory, moved there)."""
    if keep:
        target = path.rename(target / "moved")
    else:
        shutil.rmtree(path)
    path.symlink_to(target, target_is_directory=True)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_source_run_is_refused_and_leaves_nothing(
    case: str, tmp_path: Path, template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = mlflow_store(tmp_path)
    run = store / "7" / RUN
    breaks, expected = BROKEN[case]
    breaks(run)
    monkeypatch.chdir(template)
    code, out, err = strata("import", "mlflow", str(store))
    lines = out.splitlines()
    assert (code, err, lines[-1]) == (1, "", "0 imported, 0 skipped, 1 refused")
    assert len(lines) == 2
    assert lines[0].startswith(f"refused   mlflow {RUN[:12]}…: " + expected.format(run=run)), lines[
        0
    ]
    assert _new_runs(template) == {}
    assert sorted((template / "runs").iterdir()) == sorted(
        template / "runs" / name for name in (*shipped_runs(), ".gitkeep")
        if (template / "runs" / name).exists()
    )  # fmt: skip
    scratch = template / ".strata" / "tmp"
    assert not scratch.exists() or list(scratch.iterdir()) == []


def test_artifacts_kept_elsewhere_are_named_not_read(
    tmp_path: Path, template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = mlflow_store(tmp_path)
    run = store / "7" / RUN
    _swap_for_link(run / "artifacts", tmp_path)
    (run / "artifacts").unlink()
    with (run / "meta.yaml").open("a") as meta:
        meta.write("artifact_uri: s3://bucket/7/run/artifacts\n")
    monkeypatch.chdir(template)
    code, out, _ = strata("import", "mlflow", str(store))
    (entry,) = _new_runs(template).values()
    assert (code, out.splitlines()[-1]) == (0, "1 imported, 0 skipped, 0 refused")
    assert (entry["dir"] / "logs.txt").read_text().splitlines()[1:] == [
        "[strata] artifacts at s3://bucket/7/run/artifacts are outside the mlruns tree "
        "and were not imported"
    ]
    assert not (entry["dir"] / "artifacts").exists()  # no outputs, no artifacts/ (TFC-0003 R1)


def test_two_imports_at_once_import_a_run_once(tmp_path: Path, template: Path) -> None:
    from strataml.importers import mlflow
    from strataml.importers.record import import_runs

    store = mlflow.find_store(mlflow_store(tmp_path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda _: import_runs(template, mlflow.iter_runs(store)), range(2)))
    assert sorted(o.action for outcomes in done for o in outcomes) == ["imported", "skipped"]
    assert len(_new_runs(template)) == 1


def test_not_a_store_is_a_one_line_error(tmp_path: Path, template: Path, strata: RunCli,
                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(template)
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk").write_bytes(b"\x00\xff")
    assert strata("import", "mlflow", str(tmp_path / "missing")) == (
        2, "", f"strata: error: {tmp_path}/missing: no such directory (expected an MLflow mlruns/ tree)\n",
    )  # fmt: skip
    for bad in ("empty", "junk"):
        code, out, err = strata("import", "mlflow", str(tmp_path / bad))
        assert (code, out) == (2, "")
        assert err.startswith(f"strata: error: {tmp_path}/{bad}: ") and err.count("\n") == 1


def test_a_malformed_experiment_is_refused(tmp_path: Path, template: Path, strata: RunCli,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    store = mlflow_store(tmp_path)
    (store / "7" / "meta.yaml").write_bytes(b"experiment_id: '7'\nname: [\n")
    monkeypatch.chdir(template)
    code, out, _ = strata("import", "mlflow", str(store))
    assert code == 1
    assert out.startswith(f"refused   mlflow experiment 7: {store}/7/meta.yaml:3: ")
    assert out.endswith("\n0 imported, 0 skipped, 1 refused\n")


# --- DVC: files in the formats DVC and dvclive document, written here. dvc itself is not a test
# extra (dvc with dvclive takes ~140 s to install); the shapes below are what dvc 3.67.1 and
# dvclive 3.49 wrote when tried by hand: a dvclive .tsv has no timestamp column by default,
# `exp show --json` reports an unreadable metrics file as {"error": ...}, a committed
# experiment has executor null.


def test_dvc_workspace_imports_params_metrics_history_and_lock(
    tmp_path: Path, template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = dvc_project(tmp_path)
    monkeypatch.chdir(template)
    code, out, _ = strata("import", "dvc", str(project))
    ((source, entry),) = _new_runs(template).items()
    assert (code, out) == (
        0,
        f"imported  dvc {source[:19]}…: succeeded -> runs/{entry['dir'].name}/\n"
        "1 imported, 0 skipped, 0 refused\n",
    )
    config, run_dir = entry["config"], entry["dir"]
    assert source.startswith("blake3:")
    assert config["params"] == {
        "extra.json": {"augment": True},
        "params.yaml": {"train": {"lr": 0.01, "epochs": 2}, "seed": 7},
    }
    assert config["imported_from"]["lock"] == {
        "train": {
            "cmd": "python train.py",
            "deps": [{"path": "data.csv", "hash": "md5", "md5": "3f1b2c0e7d5a4b9c8e6f1a2b3c4d5e6f", "size": 120}],
            "outs": [{"path": "model.pkl", "hash": "md5", "md5": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "size": 2048}],
        }
    }  # fmt: skip
    assert _json(run_dir / "metrics.json") == {
        "schema_version": 1,
        "final": {"acc": 0.75, "test/acc": 0.93, "train/loss": 0.4},
        "history": {
            "acc": [{"step": 0, "value": 0.5}, {"step": 1, "value": 0.75}],
            "train/loss": [
                {"step": 0, "value": 0.9, "timestamp": T0, "time": 0.0},
                {"step": 1, "value": 0.4, "timestamp": T0 + 4000, "time": 4.0},
            ],
        },
    }
    system = _json(run_dir / "system.json")
    assert (system["started"], system["duration_s"]) == ("2025-11-24T16:00:00.000+00:00", 4.0)
    code, out, _ = strata("doctor", str(template), "--strict")
    assert code == 0, out
    code, out, _ = strata("import", "dvc", str(project))
    assert (code, out.splitlines()[-1]) == (0, "0 imported, 1 skipped, 0 refused")
    (project / "eval.json").write_text('{"test": {"acc": 0.95}}')  # a new result: a new run
    code, out, _ = strata("import", "dvc", str(project))
    assert (code, out.splitlines()[-1]) == (0, "1 imported, 0 skipped, 0 refused")


def _exp_data(lr: float, acc: float | None, when: str) -> dict[str, Any]:
    summary = (
        {"data": {"test": {"acc": acc}, "step": 9}}
        if acc is not None
        else {"error": {"type": "FileNotFoundError", "msg": "[Errno 2] No such file or directory"}}
    )
    return {
        "rev": "x", "timestamp": when,
        "params": {"params.yaml": {"data": {"train": {"lr": lr}}}},
        "metrics": {"dvclive/metrics.json": summary},
        "deps": {"data.csv": {"hash": "3f1b2c0e7d5a4b9c8e6f1a2b3c4d5e6f", "size": 120, "nfiles": None}},
        "outs": {}, "meta": {"has_checkpoints": False},
    }  # fmt: skip


def test_dvc_exp_show_json_imports_each_experiment(
    tmp_path: Path, template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = dvc_project(tmp_path)
    base, good, bad, queued = "a" * 40, "b" * 40, "c" * 40, "d" * 40
    shown = [
        {"rev": "workspace", "data": _exp_data(0.01, 0.9, "2025-11-24T16:00:00"), "experiments": None},
        {
            "rev": base, "name": "main", "data": _exp_data(0.01, None, "2025-11-24T16:00:00"),
            "error": None,
            "experiments": [
                {"name": "exp-good", "executor": None,
                 "revs": [{"rev": good, "name": "exp-good", "data": _exp_data(0.1, 0.95, "2025-11-24T17:00:00")}]},
                {"name": "exp-bad", "executor": {"state": "failed"},
                 "revs": [{"rev": bad, "name": "exp-bad", "data": _exp_data(9.0, 0.1, "2025-11-24T18:00:00")}]},
                {"name": "exp-queued", "executor": {"state": "queued"},
                 "revs": [{"rev": queued, "name": "exp-queued", "data": None}]},
            ],
        },
    ]  # fmt: skip
    (tmp_path / "exps.json").write_text(json.dumps(shown))
    monkeypatch.chdir(template)
    code, out, _ = strata("import", "dvc", str(project), "--exp-json", str(tmp_path / "exps.json"))
    runs = _new_runs(template)
    assert sorted(runs) == [base, good, bad]
    assert code == 0
    assert out.splitlines() == [
        f"imported  dvc {base[:12]}… (main): succeeded -> runs/{runs[base]['dir'].name}/",
        f"imported  dvc {good[:12]}… (exp-good): succeeded -> runs/{runs[good]['dir'].name}/",
        f"imported  dvc {bad[:12]}… (exp-bad): failed -> runs/{runs[bad]['dir'].name}/",
        f"skipped   dvc {queued[:12]}…: still queued in DVC; import it once it has ended",
        "3 imported, 1 skipped, 0 refused",
    ]
    assert runs[good]["config"]["params"] == {"params.yaml": {"train": {"lr": 0.1}}}
    assert _json(runs[good]["dir"] / "metrics.json")["final"] == {"test/acc": 0.95}
    assert _json(runs[base]["dir"] / "metrics.json")["final"] == {}
    assert runs[good]["config"]["created"] == "2025-11-24T17:00:00.000+00:00"
    code, out, _ = strata("doctor", str(template), "--strict")
    assert code == 0, out

    (tmp_path / "bad.json").write_bytes(b"\x89PNG\r\n")
    code, out, err = strata("import", "dvc", str(project), "--exp-json", str(tmp_path / "bad.json"))
    assert (code, out) == (2, "")
    assert err.startswith(f"strata: error: {tmp_path}/bad.json: not `dvc exp show --json` output: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("breaks", "expected"),
    [
        (lambda p: (p / "dvclive/plots/metrics/train/loss.tsv").write_text("timestamp\tstep\tloss\n1\tx\t2\n"),
         "{p}/dvclive/plots/metrics/train/loss.tsv:2: not a row of numbers: '1\\tx\\t2'"),
        (lambda p: (p / "dvc.yaml").write_text("stages: [\n"), "{p}/dvc.yaml:2: "),
        (lambda p: (p / "dvc.yaml").write_text("metrics: [../outside.json]\n"),
         "{p}/dvc.yaml: '../outside.json' is not a file inside the project"),
        (lambda p: (p / "params.yaml").write_bytes(b"a: \xff\n"), "{p}/params.yaml:1: not UTF-8 text (byte 3)"),
    ],
    ids=["tsv-junk", "dvc-yaml-syntax", "metrics-outside", "params-binary"],
)  # fmt: skip
def test_a_broken_dvc_project_is_refused(
    breaks: Any, expected: str, tmp_path: Path, template: Path, strata: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    project = dvc_project(tmp_path)
    breaks(project)
    monkeypatch.chdir(template)
    code, out, _ = strata("import", "dvc", str(project))
    lines = out.splitlines()
    assert (code, len(lines), lines[-1]) == (1, 2, "0 imported, 0 skipped, 1 refused")
    assert lines[0].startswith("refused   dvc workspace: " + expected.format(p=project)), lines[0]
    assert _new_runs(template) == {}


def test_not_a_dvc_project_is_a_one_line_error(tmp_path: Path, template: Path, strata: RunCli,
                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(template)
    assert strata("import", "dvc", str(tmp_path)) == (
        2, "", f"strata: error: {tmp_path}: not a DVC project (no dvc.yaml, params.yaml or dvclive/)\n"
    )  # fmt: skip


def test_only_an_imported_config_may_leave_code_and_fingerprint_null() -> None:
    from strataml.schemas import validate

    shipped = REPO / "runs" / example_run() / "config.yaml"
    native = yaml.safe_load(shipped.read_text())
    assert validate("run-config", native) == []
    assert validate("run-config", {**native, "code": None, "fingerprint": None}) != []
    imported = {
        **native,
        "experiment": {"name": "x", "path": None},
        "inputs": {},
        "code": None,
        "fingerprint": None,
        "imported_from": {
            "tool": "mlflow", "path": "/m", "run_id": RUN, "imported_at": "2026-12-01T00:00:00Z",
        },
    }  # fmt: skip
    assert validate("run-config", imported) == []
    assert validate("run-config", {**imported, "fingerprint": native["fingerprint"]}) != []
    assert validate("run-config", {**imported, "imported_from": {"tool": "wandb"}}) != []
