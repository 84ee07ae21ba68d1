"""Read commands with `--format json`: the document passes its schema in schemas/ (ours and an
independent validator), and the exit code is the one the text form gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import RunCli, assert_check_jsonschema, commit_all, shipped_runs
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
    [run] = shipped_runs()
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
