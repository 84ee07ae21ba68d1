"""Every artifact kind x every mutation kind is detected (the tamper matrix, `python tests/tamper.py`).

Dataset, model and run versions x 15 byte-level mutations, and stages.yaml, keys/, SIGNATURE.asc
and the pyproject policy x the mutations that mean something there (TFC-0006 R16).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import record_evidence, require_tool
from tamper import cases, trial

CASES = cases()
FAMILIES = {"CHK", "LAY", "RUN", "MOD", "SIG", "SCH", "POL", "STG", "CFG"}


@pytest.fixture(scope="module")
def tally() -> Iterator[list[bool]]:
    """The matrix's summary line in the test log, as `python tests/tamper.py` prints it."""
    results: list[bool] = []
    yield results
    if results:
        tried, detected = len(results), sum(results)
        record_evidence(
            f"tamper matrix: {tried} cases tried, {detected} detected, {tried - detected} missed"
        )


@pytest.mark.parametrize(
    ("kind", "name", "where", "mutation"), CASES, ids=[f"{k}: {n}" for k, n, _, _ in CASES]
)
def test_tampering_is_detected(
    kind: str, name: str, where: object, mutation: object, tally: list[bool]
) -> None:
    require_tool("gpg")  # the template's model is signed: every case verifies its signature
    if kind == "stages":
        require_tool("git")  # a rewritten history is proven from Git
    detected, codes = trial(where, mutation)  # type: ignore[arg-type]
    tally.append(detected)
    assert detected, f"{kind}: {name} went unnoticed"
    assert codes and {c[:3] for c in codes} <= FAMILIES, codes


def test_the_matrix_covers_every_kind() -> None:
    kinds = {k for k, _, _, _ in CASES}
    assert kinds == {"dataset", "model", "run", "stages", "keys", "signature", "policy"}
    assert len(CASES) == 3 * 15 + 13 + 7 + 8 + 7
