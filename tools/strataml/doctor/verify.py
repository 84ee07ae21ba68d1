"""`strata verify`: per artifact, each signer's verdict, then doctor's findings on its bytes."""

from __future__ import annotations

from pathlib import Path

from strataml.config import load_config
from strataml.doctor.engine import run_doctor
from strataml.doctor.report import REPORTERS
from strataml.integrity.gpg import Keyring, Verdict
from strataml.integrity.signatures import verify_directory


def verify_artifacts(root: Path, paths: list[str]) -> tuple[str, bool]:
    """`strata verify`: per artifact, each signer's verdict, then doctor's CHK/LAY/SIG findings.

    Returns the report text and whether anything failed (an unsigned artifact included)."""
    trusted = load_config(root).trusted
    lines: list[str] = []
    failed = False
    with Keyring(root) as keyring:
        for path in paths:
            report = run_doctor(
                root / path, select=("CHK", "LAY01", "LFS002", "SIG"), require_content=True
            )
            signed = verify_directory(keyring, root, path, trusted)
            lines.append(path)
            for block in signed.blocks:
                result = block.result
                plain = block.trusted or result.verdict is not Verdict.GOOD
                state = result.verdict.value + ("" if plain else ", untrusted")
                who = (result.fingerprint or "unknown key") + (
                    f" {result.uid}" if result.uid else ""
                )
                lines.append(f"  signature {block.index}: {state}: {who}")
            if not signed.present:
                lines.append(
                    "  no SIGNATURE.asc: unsigned, so not verified (exit code 1) even where the"
                    f" checksums match; after review, `strata sign {path}`"
                )
            text = REPORTERS["text"](report)
            body = text.split("\n", 1)[1] if report.diagnostics else text
            lines.append("  " + body.strip().replace("\n", "\n  "))
            failed = failed or report.failed or not signed.present
    return "\n".join(lines) + "\n", failed
