"""Read commands with `--format json`: the document passes its schema in schemas/ (ours and an
independent validator), and the exit code is the one the text form gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import PIPELINE_RUNS, RunCli, assert_check_jsonschema, commit_all, example_run
from strataml import schemas

MODEL = "models/iris-classifier/v1"


@pytest.fixture
def repo(template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(template)
    return template


def as_json(strata: RunCli, schema: str, *args: str) -> tuple[int, dict[str, object]]:
    """The command in both formats: the same exit code and stderr, a valid sorted document."""
    code, _, text_err = strata(*args)
    json_code, out, err = strata(*args, "--format", "json")
    assert (json_code, err) == (code, text_err)
    document = json.loads(out)
    assert schemas.validate(schema, document) == []
    assert out == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return code, document


def passes_check_jsonschema(document: object, schema: str, where: Path) -> None:
    path = where / f"{schema}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert_check_jsonschema(path, schema)


def test_verify(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    code, document = as_json(strata, "verify-report", "verify", MODEL)
    assert code == 0 and document["exit_code"] == 0
    passes_check_jsonschema(document, "verify-report", tmp_path)
    # An unsigned dataset and a changed model file: exit code 1 in both forms.
    (repo / MODEL / "model.json").write_text("{}\n")
    code, document = as_json(strata, "verify-report", "verify", MODEL, "datasets/iris/v1")
    assert code == 1 and document["exit_code"] == 1
    passes_check_jsonschema(document, "verify-report", tmp_path)
    model, dataset = document["artifacts"]  # type: ignore[misc]
    assert (model["path"], model["verified"], model["signed"]) == (MODEL, False, True)
    assert [s["verdict"] for s in model["signatures"]] == ["good"]
    assert model["summary"]["errors"] == len(model["diagnostics"]) > 0
    assert {d["code"][:3] for d in model["diagnostics"]} == {"CHK"}
    assert (dataset["path"], dataset["verified"], dataset["signed"]) == (
        "datasets/iris/v1",
        False,
        False,
    )
    assert (dataset["signatures"], dataset["diagnostics"]) == ([], [])


def test_model_check(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    code, document = as_json(strata, "model-check", "model", "check", "iris-classifier", "v1")
    assert (code, document) == (0, {
        "schema_version": 1, "model": "models/iris-classifier@v1", "stage": "production",
        "ready": True, "missing": [],
    })  # fmt: skip
    (repo / MODEL / "notes.txt").write_text("not in CHECKSUMS.txt\n")
    args = ("model", "check", "iris-classifier@v1", "--stage", "staging")
    code, document = as_json(strata, "model-check", *args)
    assert (code, document["ready"], document["stage"]) == (1, False, "staging")
    lines = strata(*args)[1].splitlines()
    missing = document["missing"]
    assert isinstance(missing, list)
    assert [f"{m['path']}: {m['message']}" for m in missing] == lines[:-1]
    assert "commit" in {m["kind"] for m in missing}
    passes_check_jsonschema(document, "model-check", tmp_path)


def test_model_check_refusals_stay_errors(repo: Path, strata: RunCli) -> None:
    for args in (("iris-classifier", "v9"), ("iris-classifier", "v1", "--stage", "archive")):
        code, out, err = strata("model", "check", *args, "--format", "json")
        assert (code, out, err) == (2, "", strata("model", "check", *args)[2])


def test_lineage(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    run = example_run()
    code, document = as_json(strata, "lineage-graph", "lineage", "models/iris-classifier@v1")
    assert (code, document) == (0, {
        "schema_version": 1,
        "start": "models/iris-classifier@v1",
        "nodes": [
            {"id": "datasets/iris@v1", "kind": "dataset"},
            {"id": "models/iris-classifier@v1", "kind": "model"},
            {"id": f"runs/{run}", "kind": "run"},
        ],
        "edges": [
            {"source": "datasets/iris@v1", "target": f"runs/{run}", "relation": "used"},
            {"source": f"runs/{run}", "target": "models/iris-classifier@v1",
             "relation": "generated"},
        ],
    })  # fmt: skip
    passes_check_jsonschema(document, "lineage-graph", tmp_path)
    code, document = as_json(strata, "lineage-graph", "lineage", "datasets/iris@v1", "--up")
    assert (code, document["nodes"], document["edges"]) == (
        0,
        [{"id": "datasets/iris@v1", "kind": "dataset"}],
        [],
    )
    assert strata("lineage", "datasets/iris@v9", "--format", "json")[0] == 2


def test_bundle_verify(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    full, since = tmp_path / "full.bundle", tmp_path / "since.bundle"
    assert strata("bundle", "create", "main", "-o", str(full))[0] == 0
    code, document = as_json(strata, "bundle-verify", "bundle", "verify", str(full))
    assert (code, document["verified"], document["problems"]) == (0, True, [])
    assert document["counts"] == {"refs": 1, "prerequisites": 0, "lfs_objects": 0, "members": 1}
    passes_check_jsonschema(document, "bundle-verify", tmp_path)

    (repo / "NOTES.md").write_text("one more commit\n")
    commit_all(repo, "one more")
    assert strata("bundle", "create", "main", "--since", "HEAD~1", "-o", str(since))[0] == 0
    outside = tmp_path / "outside"  # no repository here: the prerequisite cannot be found
    outside.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(outside)
        code, document = as_json(strata, "bundle-verify", "bundle", "verify", str(since))
    assert (code, document["verified"]) == (1, False)
    assert [p["code"] for p in document["problems"]] == ["bundle-git"]  # type: ignore[index]
    passes_check_jsonschema(document, "bundle-verify", tmp_path)

    junk = tmp_path / "junk.bundle"
    junk.write_bytes(b"not a bundle")
    code, out, err = strata("bundle", "verify", str(junk), "--format", "json")
    assert (code, out, err) == (2, "", strata("bundle", "verify", str(junk))[2])


def test_an_unknown_format_is_a_usage_error(repo: Path, strata: RunCli) -> None:
    for args in (("verify", MODEL), ("model", "check", "iris-classifier", "v1")):
        assert strata(*args, "--format", "yaml") == (
            2, "", "strata: error: unknown format 'yaml' (choose from text, json)\n"
        )  # fmt: skip


# --- the listings: dataset, model, keys, lfs, runs ------------------------------------------------

RUN_KINDS = {"failed": "run-2026-12-01-failed", "abandoned": "run-2026-12-02-abandoned"}


def add_runs(repo: Path) -> None:
    """Beside the shipped run: a failed one and an abandoned one (recorded running, runner gone,
    not sealed), copies of the shipped record with system.json changed."""
    shipped = example_run()
    for status, run_id in RUN_KINDS.items():
        target = repo / "runs" / run_id
        shutil.copytree(repo / "runs" / shipped, target)
        system = json.loads((target / "system.json").read_text())
        if status == "failed":
            system.update(status="failed", exit_code=1, reason="exit code 1")
        else:
            system.update(status="running", exit_code=None, pid=2**22 + 12345)
            (target / "CHECKSUMS.txt").unlink()
        (target / "system.json").write_text(json.dumps(system))


def test_dataset_list_and_show(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    code, document = as_json(strata, "dataset-list", "dataset", "list")
    assert code == 0 and [r["ref"] for r in document] == ["datasets/iris@v1"]  # type: ignore[attr-defined]
    passes_check_jsonschema(document, "dataset-list", tmp_path)
    code, document = as_json(strata, "dataset-show", "dataset", "show", "datasets/iris@v1")
    assert (code, document["path"]) == (0, "datasets/iris/v1")
    passes_check_jsonschema(document, "dataset-show", tmp_path)
    # A damaged version is still listed, with its problem.
    (repo / "datasets/iris/v1/metadata.yaml").write_text("splits: [unclosed\n")
    code, document = as_json(strata, "dataset-list", "dataset", "list")
    assert code == 0 and set(document[0]) == {"ref", "path", "problem"}  # type: ignore[index]
    problem = document[0]["problem"]  # type: ignore[index]
    assert problem.startswith("datasets/iris/v1/metadata.yaml:2: ")  # relative: any checkout
    passes_check_jsonschema(document, "dataset-list", tmp_path)
    code, out, err = strata("dataset", "show", "iris", "v1", "--format", "json")
    assert (code, out, err) == (2, "", strata("dataset", "show", "iris", "v1")[2])


def test_model_list_show_and_history(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    code, document = as_json(strata, "model-list", "model", "list")
    assert code == 0 and document[0]["stage"] == "production"  # type: ignore[index]
    passes_check_jsonschema(document, "model-list", tmp_path)
    code, document = as_json(strata, "model-show", "model", "show", "iris-classifier@v1")
    assert (code, document["ref"], document["stage"]) == (
        0,
        "models/iris-classifier@v1",
        "production",
    )
    passes_check_jsonschema(document, "model-show", tmp_path)
    code, document = as_json(strata, "model-history", "model", "history", "iris-classifier")
    assert code == 0 and isinstance(document, list) and document[-1]["to"] == "production"
    passes_check_jsonschema(document, "model-history", tmp_path)
    args = ("model", "history", "iris-classifier", "--at")
    code, document = as_json(strata, "model-history", *args, "2100-01-01")
    assert (code, document["production"], len(str(document["commit"]))) == (0, "v1", 40)
    passes_check_jsonschema(document, "model-history", tmp_path)
    code, document = as_json(strata, "model-history", *args, "2000-01-01")
    assert (code, document["commit"], document["committed"]) == (0, None, None)
    passes_check_jsonschema(document, "model-history", tmp_path)

    # Archived, staged and unknown stages; a damaged version is listed with its problem.
    stages = repo / "models/iris-classifier/stages.yaml"
    text = stages.read_text()
    stages.write_text(text.replace("production: v1", "production: null").replace(
        "archived: []", "archived: [v1]"))  # fmt: skip
    code, document = as_json(strata, "model-show", "model", "show", "iris-classifier", "v1")
    assert (code, document["stage"]) == (0, "archived")
    passes_check_jsonschema(document, "model-show", tmp_path)
    stages.write_text(text.replace("production: v1", "production: null\nstaging: v1", 1)
                      .replace("staging: null", "", 1))  # fmt: skip
    code, document = as_json(strata, "model-list", "model", "list")
    assert code == 0 and document[0]["stage"] == "staging"  # type: ignore[index]
    passes_check_jsonschema(document, "model-list", tmp_path)
    stages.write_text("production: [v1, v1]\n")
    code, document = as_json(strata, "model-list", "model", "list")
    assert code == 0 and document[0]["stage"] == "unknown"  # type: ignore[index]
    (repo / MODEL / "metadata.yaml").write_text("- not a mapping\n")
    code, document = as_json(strata, "model-list", "model", "list")
    assert code == 0 and set(document[0]) == {"ref", "path", "problem"}  # type: ignore[index]
    passes_check_jsonschema(document, "model-list", tmp_path)


def test_keys_list(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    code, document = as_json(strata, "keys-list", "keys", "list")
    [key] = document["keys"]  # type: ignore[misc]
    assert (code, key["trusted"], key["file"], document["problems"]) == (
        0, True, f"keys/{key['fingerprint']}.asc", [],
    )  # fmt: skip
    passes_check_jsonschema(document, "keys-list", tmp_path)
    (repo / "keys" / f"{'A' * 40}.asc").write_text("not a key\n")
    code, document = as_json(strata, "keys-list", "keys", "list")
    assert code == 0 and len(document["problems"]) >= 1  # type: ignore[arg-type]
    passes_check_jsonschema(document, "keys-list", tmp_path)


def test_lfs_status(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    code, document = as_json(strata, "lfs-status", "lfs", "status")
    assert code == 0 and {f["state"] for f in document} <= {"present", "pointer", "plain"}  # type: ignore[attr-defined]
    assert len(document) > 0  # type: ignore[arg-type]
    passes_check_jsonschema(document, "lfs-status", tmp_path)
    code, document = as_json(strata, "lfs-status", "lfs", "status", "models/iris-classifier@v1")
    assert code == 0 and all(f["path"].startswith(MODEL + "/") for f in document)  # type: ignore[attr-defined]
    passes_check_jsonschema(document, "lfs-status", tmp_path)


def test_runs_list_show_compare_best(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    shipped = example_run()
    add_runs(repo)
    code, document = as_json(strata, "runs-list", "runs", "list")
    statuses = {r["run_id"]: (r["status"], r["sealed"]) for r in document}  # type: ignore[attr-defined]
    assert (code, statuses) == (0, {
        shipped: ("succeeded", True), RUN_KINDS["failed"]: ("failed", True),
        RUN_KINDS["abandoned"]: ("abandoned", False),
        **dict.fromkeys(PIPELINE_RUNS, ("succeeded", True)),
    })  # fmt: skip
    passes_check_jsonschema(document, "runs-list", tmp_path)
    code, document = as_json(strata, "runs-list", "runs", "list", "--experiment", "nope")
    assert (code, document) == (0, [])

    for run in (shipped, RUN_KINDS["abandoned"]):
        code, document = as_json(strata, "runs-show", "runs", "show", run)
        assert (code, document["run_id"]) == (0, run)
        passes_check_jsonschema(document, "runs-show", tmp_path)
    (repo / "runs" / RUN_KINDS["failed"] / "config.yaml").write_bytes(b"run_id: [unclosed\n")
    code, document = as_json(strata, "runs-show", "runs", "show", RUN_KINDS["failed"])
    assert code == 0 and document["config"] == {} and document["problems"]
    passes_check_jsonschema(document, "runs-show", tmp_path)

    for extra in ((), ("--all",)):
        args = ("runs", "compare", shipped, *RUN_KINDS.values(), *extra)
        code, document = as_json(strata, "runs-compare", *args)
        statuses = document["sections"]["run"]["status"]  # type: ignore[index]
        assert statuses == ["succeeded", "failed", "abandoned"]  # as runs list says
        assert code == 0 and document["runs"] == [shipped, *RUN_KINDS.values()]
        assert ("record" in document["sections"]) == bool(extra)  # type: ignore[operator]
        passes_check_jsonschema(document, "runs-compare", tmp_path)

    experiment = document["sections"]["run"]["experiment"][0]  # type: ignore[index]
    args = ("runs", "best", "--experiment", experiment, "--metric", "test/accuracy")
    code, document = as_json(strata, "runs-best", *args)
    assert (code, document["run_id"], document["runs_considered"]) == (0, shipped, 1)
    passes_check_jsonschema(document, "runs-best", tmp_path)
    code, document = as_json(strata, "runs-best", *args, "--minimize")
    assert (code, document["goal"], document["tied_with"]) == (0, "minimize", [])
    passes_check_jsonschema(document, "runs-best", tmp_path)
