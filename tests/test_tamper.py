"""Every artifact kind x every mutation kind is detected (the tamper matrix, `python tests/tamper.py`)."""

from __future__ import annotations

import pytest

from tamper import MUTATIONS, artifacts, trial


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("kind", ["dataset", "model", "run"])
def test_tampering_is_detected(kind: str, mutation: str) -> None:
    detected, codes = trial(artifacts()[kind], MUTATIONS[mutation])
    assert detected, f"{kind}: {mutation} went unnoticed"
    assert codes and all(
        c[:3] in {"CHK", "LAY", "RUN", "MOD", "SIG", "SCH", "POL"} for c in codes
    ), codes
