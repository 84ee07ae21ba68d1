"""`strata sign`: a directory is signed only once it verifies (TFC-0008 R7)."""

from __future__ import annotations

from pathlib import Path

from strataml.doctor.intact import require_intact
from strataml.integrity.signatures import Signed, append_signature


def sign(root: Path, path: str, key: str | None) -> Signed:
    """Verify `path`'s listing and bytes, then append the signer's signature over its listing."""
    require_intact(root, path, what=f"{path} does not verify, not signing")
    return append_signature(root, path, key)
