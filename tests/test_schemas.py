"""The schemas are sound, and every shipped document passes an independent validator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from conftest import EXAMPLES, REPO, assert_check_jsonschema
from strataml import schemas

SCHEMAS = sorted((REPO / "schemas").glob("*.schema.json"))
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")
# Shipped documents: the template's own and the golden base (file name -> schema).
DOCUMENT_SCHEMAS = {
    "datasets/*/v*/metadata.yaml": "dataset-metadata",
    "models/*/v*/metadata.yaml": "model-metadata",
    "models/*/v*/metrics.yaml": "model-metrics",
    "models/*/stages.yaml": "stages",
    "experiments/*.yaml": "experiment",
    "pipelines/*.yaml": "pipeline",
}
EXPECTED_SCHEMAS = {
    "bundle-manifest", "bundle-verify", "dataset-list", "dataset-metadata", "dataset-show",
    "doctor-report", "experiment", "index", "keys-list", "lfs-status", "lineage-graph", "resolve",
    "model-check", "model-history", "model-list", "model-metadata", "model-metrics", "model-show",
    "verify-report", "run-config", "run-metrics", "run-reproduction", "run-system", "runs-best",
    "runs-compare", "runs-list", "runs-show", "stages", "strataml-config", "pipeline", "status",
    "runs-aggregate", "runs-best-group", "federation-status",
}  # fmt: skip


def shipped_documents() -> list[tuple[Path, str]]:
    found = []
    for root in (REPO, EXAMPLES / "base"):
        for pattern, schema in DOCUMENT_SCHEMAS.items():
            found += [(path, schema) for path in sorted(root.glob(pattern))]
    return found


def test_every_contracted_format_has_a_schema() -> None:
    assert {p.name.removesuffix(".schema.json") for p in SCHEMAS} == EXPECTED_SCHEMAS


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schema_is_draft_2020_12_with_its_own_id(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://strataml.dev/schemas/v1/{path.name}"


def test_shipped_documents_are_found() -> None:
    names = {str(path.relative_to(REPO)) for path, _ in shipped_documents()}
    assert {
        "datasets/iris/v1/metadata.yaml",
        "tests/examples/base/models/toy-model/v1/metrics.yaml",
    } <= names


@pytest.mark.parametrize(
    ("path", "schema"),
    shipped_documents(),
    ids=lambda v: str(v.relative_to(REPO)) if isinstance(v, Path) else v,
)
def test_shipped_document_passes_check_jsonschema(path: Path, schema: str) -> None:
    assert_check_jsonschema(path, schema)


@pytest.mark.parametrize(
    ("path", "schema"),
    shipped_documents(),
    ids=lambda v: str(v.relative_to(REPO)) if isinstance(v, Path) else v,
)
def test_shipped_document_names_its_schema_for_editors(path: Path, schema: str) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = MODELINE.match(first)
    assert match is not None, f"{path}: first line is not a yaml-language-server modeline"
    target = (path.parent / match.group(1)).resolve()
    assert target.is_file(), f"{path}: modeline points at {target}"
    assert target.name == f"{schema}.schema.json"


def test_relative_path_format_is_enforced_by_our_validator() -> None:
    document = {
        "schema_version": 1,
        "metrics": [{"name": "a", "value": 1, "dataset": "datasets/x@v1", "split": "test"}],
    }
    assert schemas.validate("model-metrics", document) == []
    bad = {"path": "../outside", "format": "json"}
    messages = [
        v.message for v in schemas.validate("model-metadata", {"artifacts": [bad]}) if v.unsafe_path
    ]
    assert messages == [
        "artifacts[0].path: '../outside' is absolute, has '..' or control characters, or is empty"
    ]


def test_the_relative_path_format_stays_out_of_jsonschemas_shared_checker() -> None:
    """Our format is ours: another jsonschema user in the process keeps the stock checker."""
    import jsonschema

    from strataml import schemas

    assert schemas.validate("run-config", {"inputs": {"x": {"path": "../out"}}}) != []
    assert schemas.RELATIVE_PATH not in jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers
    assert schemas.RELATIVE_PATH not in jsonschema.FormatChecker().checkers
