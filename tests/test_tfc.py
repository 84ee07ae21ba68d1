"""The written convention and the rule table stay in step (TFC-0006 R2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from strataml.doctor.rules import RULES

TFC_DIR = Path(__file__).resolve().parents[1] / "tfc"
CLAUSE = re.compile(r"^### (R\d+)\. \S", re.MULTILINE)
CODE = re.compile(r"\b[A-Z]{3}\d{3}\b")
SEE = re.compile(r"see (TFC-\d{4}) (R\d+)(?:-(R\d+))?")
ENFORCED = re.compile(r"^Enforced by: (.+)$", re.MULTILINE)


def _documents() -> dict[str, str]:
    return {
        path.name[:8]: path.read_text(encoding="utf-8") for path in sorted(TFC_DIR.glob("TFC-*.md"))
    }


def _clauses() -> dict[str, str]:
    """'TFC-0004 R3' -> the text of that requirement, up to the next heading."""
    clauses: dict[str, str] = {}
    for tfc, text in _documents().items():
        starts = list(CLAUSE.finditer(text))
        for index, match in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
            body = text[match.start() : end].split("\n## ", 1)[0]
            clauses[f"{tfc} {match.group(1)}"] = body
    return clauses


def test_there_are_eight_tfcs_each_listed_in_the_index() -> None:
    names = sorted(path.name for path in TFC_DIR.glob("TFC-*.md"))
    assert [name[:8] for name in names] == [f"TFC-000{n}" for n in range(1, 9)]
    index = (TFC_DIR / "README.md").read_text(encoding="utf-8")
    assert all(f"({name})" in index for name in names)


def test_requirements_are_numbered_in_order() -> None:
    for tfc, text in _documents().items():
        numbers = [int(m.group(1)[1:]) for m in CLAUSE.finditer(text)]
        assert numbers == list(range(1, len(numbers) + 1)), tfc


def test_every_requirement_says_how_it_is_enforced() -> None:
    missing = [clause for clause, body in _clauses().items() if len(ENFORCED.findall(body)) != 1]
    assert missing == []


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_is_named_by_its_clause(code: str) -> None:
    rule = RULES[code]
    body = _clauses().get(rule.tfc)
    assert body is not None, f"{code} cites {rule.tfc}, which does not exist"
    assert code in ENFORCED.findall(body)[0], (
        f"{rule.tfc} does not list {code} on its Enforced by line"
    )


def test_tfcs_name_no_unknown_codes() -> None:
    named = {code for text in _documents().values() for code in CODE.findall(text)}
    assert sorted(named - set(RULES)) == []


def test_cross_references_point_at_real_clauses() -> None:
    clauses = _clauses()
    broken = []
    for tfc, text in _documents().items():
        for match in SEE.finditer(text):
            for number in filter(None, (match.group(2), match.group(3))):
                if f"{match.group(1)} {number}" not in clauses:
                    broken.append(f"{tfc}: {match.group(0)}")
    assert broken == []
