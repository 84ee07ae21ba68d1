"""A pipeline stage's outputs promoted to a dataset or model version in one step, with their
lineage (TFC-0004 R12, TFC-0005 R17): real Git repositories, the real tools/run.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import (
    RunCli,
    commit_all,
    doctor_script,
    fork_template,
    git,
    without_pipeline_runs,
    write_prose,
)
from runkit import load_record, run_py, runs
from strataml.yamlio import parse_yaml

PIPELINE = "pipelines/iris.yaml"
CLASSIFIER = """\
schema_version: 1
name: classifier
stages:
  train:
    command: [python, experiments/train.py]
    params: {learning_rate: 0.5, epochs: 100, l2: 0.001, seed: 0}
    inputs:
      data: datasets/iris@v1
    outputs: [model.json]
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    forked = without_pipeline_runs(fork_template(tmp_path / "repo"))
    monkeypatch.chdir(forked)
    return forked


def run_pipeline(repo: Path, spec: str = PIPELINE) -> dict[str, str]:
    """Run a pipeline and commit; the stage -> run id of the runs it made."""
    before = set(runs(repo))
    done = run_py(repo, "--pipeline", spec)
    assert done.returncode == 0, done.stderr
    made = set(runs(repo)) - before
    commit_all(repo, f"ran {spec}")
    return {load_record(repo / "runs" / r)[0]["pipeline"]["stage"]: r for r in made}


def metadata(repo: Path, path: str) -> dict[str, object]:
    data: dict[str, object] = parse_yaml((repo / path / "metadata.yaml").read_bytes()).data
    return data


def listed(repo: Path, run_id: str, path: str) -> str:
    for line in (repo / "runs" / run_id / "CHECKSUMS.txt").read_text().splitlines():
        digest, name = line.split("  ", 1)
        if name == path:
            return digest
    raise AssertionError(f"{path} not in {run_id}")


def clone_is_strict_clean(repo: Path, where: Path, *versions: str) -> None:
    """What a teammate gets after the prose is written, a commit and a clone passes
    `doctor --strict`."""
    for version in versions:
        write_prose(repo / version)
    commit_all(repo, "promoted")
    git(where, "clone", "-q", str(repo), str(where / "clone"))
    done = doctor_script(where / "clone", "--strict")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_stage_output_becomes_a_dataset_with_its_lineage(
    repo: Path, tmp_path: Path, strata: RunCli
) -> None:
    ran = run_pipeline(repo)
    prepare, train, evaluate = ran["prepare"], ran["train"], ran["evaluate"]
    code, out, err = strata(
        "dataset", "add", "iris-prepared", "--from-stage", f"{PIPELINE}:prepare",
        "--output", "train.csv", "--license", "CC-BY-4.0",
    )  # fmt: skip
    assert (code, err) == (0, "")
    held = (repo / "datasets/iris-prepared/v1/data/train.csv").read_bytes()
    assert held == (repo / "runs" / prepare / "artifacts/train.csv").read_bytes()
    assert listed(repo, prepare, "artifacts/train.csv") == listed(
        repo, "../datasets/iris-prepared/v1", "data/train.csv"
    )
    sheet = (repo / "datasets/iris-prepared/v1/datasheet.md").read_text()
    assert (
        f"## Collection process\n\nWritten by run `{prepare}`, stage `prepare` of `{PIPELINE}`.\n"
        in sheet
    )
    meta = metadata(repo, "datasets/iris-prepared/v1")
    assert meta["provenance"] == {
        "generated_by": prepare,
        "stage": {"pipeline": PIPELINE, "stage": "prepare"},
    }
    assert (
        out.splitlines()[0] == f"datasets/iris-prepared/v1: 1 file, {len(held)} bytes (all 1 file)"
    )
    assert out.splitlines()[1].startswith("  datasets/iris-prepared@v1#blake3:")

    # A later stage's output: lineage runs through the stage's run to its upstream runs.
    code, out, err = strata(
        "dataset", "add", "iris-report", "--from-run", evaluate, "--output", "report.json",
        "--license", "CC-BY-4.0",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert metadata(repo, "datasets/iris-report/v1")["provenance"] == {
        "generated_by": evaluate,
        "stage": {"pipeline": PIPELINE, "stage": "evaluate"},
    }
    assert strata("lineage", "datasets/iris-prepared@v1", "--up") == (0, (
        f"datasets/iris@v1 -> runs/{prepare}  [used]\n"
        f"runs/{prepare} -> datasets/iris-prepared@v1  [generated]\n"
    ), "")  # fmt: skip
    assert strata("lineage", "datasets/iris-report@v1", "--up") == (0, (
        f"datasets/iris@v1 -> runs/{prepare}  [used]\n"
        f"runs/{prepare} -> runs/{train}  [upstream]\n"
        f"runs/{prepare} -> runs/{evaluate}  [upstream]\n"
        f"runs/{train} -> runs/{evaluate}  [upstream]\n"
        f"runs/{evaluate} -> datasets/iris-report@v1  [generated]\n"
    ), "")  # fmt: skip
    code, out, _ = strata("lineage", "datasets/iris-report@v1", "--up", "--format", "prov-json")
    informed = {(e["prov:informant"], e["prov:informed"])
                for e in json.loads(out)["wasInformedBy"].values()}  # fmt: skip
    assert (code, informed) == (0, {
        (f"strata:runs/{prepare}", f"strata:runs/{train}"),
        (f"strata:runs/{prepare}", f"strata:runs/{evaluate}"),
        (f"strata:runs/{train}", f"strata:runs/{evaluate}"),
    })  # fmt: skip
    clone_is_strict_clean(repo, tmp_path, "datasets/iris-prepared/v1", "datasets/iris-report/v1")


def test_a_stage_output_becomes_a_model_with_its_lineage(
    repo: Path, tmp_path: Path, strata: RunCli
) -> None:
    (repo / "pipelines/classifier.yaml").write_text(CLASSIFIER)
    commit_all(repo, "a one-stage pipeline")
    train = run_pipeline(repo, "pipelines/classifier.yaml")["train"]
    code, out, err = strata(
        "model", "register", "iris-stage", "--from-stage", "pipelines/classifier.yaml:train",
        "--task", "classification", "--license", "CC-BY-4.0",
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0] == "models/iris-stage/v1: 1 artifact file, 3 metrics"
    training = metadata(repo, "models/iris-stage/v1")["training"]
    assert isinstance(training, dict)
    assert training["run"] == train
    assert training["stage"] == {"pipeline": "pipelines/classifier.yaml", "stage": "train"}
    assert strata("lineage", "models/iris-stage@v1", "--up") == (0, (
        f"datasets/iris@v1 -> runs/{train}  [used]\n"
        f"runs/{train} -> models/iris-stage@v1  [generated]\n"
    ), "")  # fmt: skip
    clone_is_strict_clean(repo, tmp_path, "models/iris-stage/v1")


def test_a_stale_stage_is_refused_with_its_reason_unless_allowed(
    repo: Path, strata: RunCli
) -> None:
    train = run_pipeline(repo)["train"]
    spec = repo / PIPELINE
    spec.write_text(spec.read_text().replace("lr: 0.1", "lr: 0.2"))
    args = ("dataset", "add", "centroids", "--from-stage", f"{PIPELINE}:train",
            "--output", "model.json", "--license", "CC-BY-4.0")  # fmt: skip
    assert strata(*args) == (2, "", (
        f"strata: error: --from-stage {PIPELINE}:train: stale (param lr: 0.1 -> 0.2); its latest "
        f"run {train} is not what the stage computes now: rerun it (python tools/run.py "
        f"--pipeline {PIPELINE}), or take that run anyway with --allow-stale\n"
    ))  # fmt: skip
    assert not (repo / "datasets/centroids").exists()
    code, _, err = strata(*args, "--allow-stale")
    assert (code, err) == (0, "")
    assert metadata(repo, "datasets/centroids/v1")["provenance"] == {
        "generated_by": train,
        "stage": {"pipeline": PIPELINE, "stage": "train"},
    }


def test_a_stage_never_run_is_refused(repo: Path, strata: RunCli) -> None:
    assert strata(
        "model", "register", "m", "--from-stage", f"{PIPELINE}:train", "--task", "classification"
    ) == (2, "", (
        f"strata: error: --from-stage {PIPELINE}:train: never run (upstream prepare was never "
        f"run); run it first: python tools/run.py --pipeline {PIPELINE}\n"
    ))  # fmt: skip
    assert strata("dataset", "add", "d", "--from-stage", f"{PIPELINE}:trian") == (2, "", (
        f"strata: error: --from-stage '{PIPELINE}:trian': {PIPELINE} has no stage 'trian' "
        "(did you mean train?)\n"
    ))  # fmt: skip
    assert strata("dataset", "add", "d", "--from-stage", "iris") == (2, "", (
        "strata: error: --from-stage 'iris': expected PIPELINE:STAGE, e.g. "
        "pipelines/iris.yaml:prepare\n"
    ))  # fmt: skip
    assert not (repo / "datasets/d").exists()
    assert not (repo / "models/m").exists()


def test_an_output_that_changed_since_the_run_sealed_is_refused(repo: Path, strata: RunCli) -> None:
    prepare = run_pipeline(repo)["prepare"]
    output = repo / "runs" / prepare / "artifacts/train.csv"
    output.write_bytes(output.read_bytes().replace(b"setosa", b"Setosa", 1))
    code, out, err = strata(
        "dataset", "add", "iris-prepared", "--from-run", prepare, "--output", "train.csv",
        "--license", "CC-BY-4.0",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err.startswith(
        f"strata: error: --from-run: runs/{prepare}/artifacts/train.csv: CHK005 "
    ), err
    assert not (repo / "datasets/iris-prepared").exists()
    assert not (repo / ".strata/tmp").exists()  # refused before anything was staged


def test_where_the_data_comes_from_is_said_once(repo: Path, strata: RunCli) -> None:
    prepare = run_pipeline(repo)["prepare"]
    cases = {
        ("--output", "train.csv"): "--output names a file of a run's artifacts/: give --from-run RUN",
        ("--from-run", prepare, "--from-stage", f"{PIPELINE}:prepare"):
            "give --from-run RUN or --from-stage PIPELINE:STAGE, not both",
        ("--from-run", prepare, "--allow-stale"): "--allow-stale goes with --from-stage",
        ("--from-run", prepare): "give the data: a SOURCE file or directory, or --output with "
                                 "--from-run or --from-stage",
        ("experiments/train.py", "--from-stage", f"{PIPELINE}:prepare"):
            f"--from-stage {PIPELINE}:prepare: the data is what the stage's run wrote; name it "
            "with --output PATH instead of a SOURCE",
        ("--from-run", prepare, "--output", "nope.csv"):
            f"--output 'nope.csv': runs/{prepare}/artifacts/nope.csv does not exist",
    }  # fmt: skip
    for args, message in cases.items():
        assert strata("dataset", "add", "d", *args, "--license", "CC0-1.0") == (
            2, "", f"strata: error: {message}\n"
        ), args  # fmt: skip
    assert not (repo / "datasets/d").exists()


def test_a_copy_that_differs_from_what_the_run_sealed_is_refused(
    repo: Path, tmp_path: Path
) -> None:
    from strataml.integrity.stamp import stamp_directory
    from strataml.registry.producer import check_copies
    from strataml.registry.runs import resolve_run
    from strataml.registry.store import RegistryError

    prepare = run_pipeline(repo)["prepare"]
    run = resolve_run(repo, prepare)
    staged = tmp_path / "staged"
    (staged / "data").mkdir(parents=True)
    source = (repo / "runs" / prepare / "artifacts/train.csv").read_bytes()
    (staged / "data/train.csv").write_bytes(source)
    stamp_directory(staged)
    check_copies(repo, run, staged, {"data/train.csv": "train.csv"})  # the same bytes: no error
    (staged / "data/train.csv").write_bytes(source + b"\n")  # as if it changed mid-copy
    stamp_directory(staged)
    theirs = listed(repo, prepare, "artifacts/train.csv")
    ours = listed(repo, "../../staged", "data/train.csv")
    with pytest.raises(RegistryError) as refused:
        check_copies(repo, run, staged, {"data/train.csv": "train.csv"})
    assert str(refused.value) == (
        f"--from-run: runs/{prepare}/artifacts/train.csv: CHK005 changed while it was copied "
        f"(blake3 {ours[:12]}…, the run's CHECKSUMS.txt says {theirs[:12]}…); nothing was written"
    )
