from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from conftest import REPO, RunCli, copy_tree, require_tool
from golden import EXAMPLES, Case, apply_steps, load_cases
from strataml.doctor.model import Severity
from strataml.doctor.rules import RULES

# The published SARIF 2.1.0 schema, vendored so the suite runs from any clone.
SARIF_SCHEMA = REPO / "tests" / "vendor-schemas" / "sarif-schema-2.1.0.json"
SHARED_SARIF_SCHEMA = REPO.parent / "shared" / "vendor-schemas" / "sarif-schema-2.1.0.json"
NEGATIVE = load_cases("negative")
POSITIVE = load_cases("positive")
UPDATE = os.environ.get("STRATA_UPDATE_GOLDEN") == "1"


def _prepare(case: Case, tmp_path: Path) -> Path:
    if "signing/" in str(case.spec.get("steps", [])):
        require_tool("gpg")  # signatures are verified by the real gpg
    if "lfs-commit" in str(case.spec.get("steps", [])):
        require_tool("git-lfs")
    repo = copy_tree(EXAMPLES / case.spec.get("base", "base"), tmp_path / "repo")
    apply_steps(repo, case.spec.get("steps", []))
    return repo


@pytest.mark.parametrize("case", NEGATIVE + POSITIVE, ids=lambda c: c.id)
def test_golden_report(case: Case, tmp_path: Path, strata: RunCli) -> None:
    repo = _prepare(case, tmp_path)
    code, out, err = strata("doctor", str(repo), *case.spec.get("args", []))
    if UPDATE:
        case.expected.write_text(out)
    assert err == ""
    assert out == case.expected.read_text()
    assert code == case.spec["exit"]


@pytest.mark.parametrize("case", NEGATIVE, ids=lambda c: c.id)
def test_negative_cases_fail(case: Case) -> None:
    assert case.spec["exit"] == 1, "a negative case must make doctor fail"


def test_every_rule_has_a_golden_case() -> None:
    """Errors and warnings in a failing case; info findings never fail, so a passing one will do."""

    def found(cases: list[Case]) -> set[str]:
        return {
            c
            for case in cases
            for c in re.findall(r" ([A-Z]{3}[0-9]{3}) ", case.expected.read_text())
        }

    failing = {code for code, rule in RULES.items() if rule.severity is not Severity.INFO}
    assert sorted(failing - found(NEGATIVE)) == []
    assert sorted(set(RULES) - found(NEGATIVE + POSITIVE)) == []


@pytest.mark.parametrize("case", NEGATIVE, ids=lambda c: c.id)
def test_machine_formats_validate(case: Case, tmp_path: Path, strata: RunCli) -> None:
    repo = _prepare(case, tmp_path)
    args = [a for a in case.spec.get("args", []) if a != "--strict"]
    _, out, _ = strata("doctor", str(repo), *args, "--format", "json")
    report = json.loads(out)
    jsonschema.validate(
        report, json.loads((REPO / "schemas/doctor-report.schema.json").read_text())
    )
    assert report["diagnostics"] == sorted(
        report["diagnostics"], key=lambda d: (d["path"], d["line"] or 0, d["code"], d["message"])
    )
    _, sarif, _ = strata("doctor", str(repo), *args, "--format", "sarif")
    sarif_schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(sarif), sarif_schema)
    results = json.loads(sarif)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [d["code"] for d in report["diagnostics"]]


# SHA-256 of the OASIS SARIF 2.1.0 (errata 01) schema, byte for byte as published; the
# vendored copy was compared with the shared reference copy when this digest was pinned.
SARIF_SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
SARIF_SCHEMA_ID = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def test_vendored_sarif_schema_is_the_published_one() -> None:
    """Runs in every clone: the vendored bytes are pinned, the shared copy is an extra witness."""
    vendored = SARIF_SCHEMA.read_bytes()
    assert hashlib.sha256(vendored).hexdigest() == SARIF_SCHEMA_SHA256
    assert json.loads(vendored)["id"] == SARIF_SCHEMA_ID
    if SHARED_SARIF_SCHEMA.is_file():
        assert vendored == SHARED_SARIF_SCHEMA.read_bytes()
