"""`strata verify`: per artifact, each signer's verdict, then doctor's findings on its bytes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from strataml.config import load_config
from strataml.doctor.engine import Report, run_doctor
from strataml.doctor.report import REPORTERS, report_document
from strataml.integrity.gpg import Keyring, Verdict
from strataml.integrity.signatures import DirectoryReport, verify_directory


@dataclass(frozen=True, slots=True)
class ArtifactVerification:
    path: str
    signed: DirectoryReport
    report: Report  # doctor's CHK/LAY/SIG findings on the artifact's bytes

    @property
    def failed(self) -> bool:  # an unsigned artifact is not verified
        return self.report.failed or not self.signed.present

    def text(self) -> str:
        lines = [self.path]
        for block in self.signed.blocks:
            result = block.result
            plain = block.trusted or result.verdict is not Verdict.GOOD
            state = result.verdict.value + ("" if plain else ", untrusted")
            who = (result.fingerprint or "unknown key") + (f" {result.uid}" if result.uid else "")
            lines.append(f"  signature {block.index}: {state}: {who}")
        if not self.signed.present:
            lines.append(
                "  no SIGNATURE.asc: unsigned, so not verified (exit code 1) even where the"
                f" checksums match; after review, `strata sign {self.path}`"
            )
        text = REPORTERS["text"](self.report)
        body = text.split("\n", 1)[1] if self.report.diagnostics else text
        lines.append("  " + body.strip().replace("\n", "\n  "))
        return "\n".join(lines)

    def document(self) -> dict[str, object]:
        doctor = report_document(self.report)
        return {
            "path": self.path,
            "verified": not self.failed,
            "signed": self.signed.present,
            "signature_problem": self.signed.problem,
            "signatures": [
                {
                    "index": block.index,
                    "verdict": block.result.verdict.name.lower().replace("_", "-"),
                    "trusted": block.trusted,
                    "fingerprint": block.result.fingerprint,
                    "uid": block.result.uid,
                }
                for block in self.signed.blocks
            ],
            "summary": doctor["summary"],
            "diagnostics": doctor["diagnostics"],
        }


@dataclass(frozen=True, slots=True)
class Verification:
    artifacts: tuple[ArtifactVerification, ...]

    @property
    def failed(self) -> bool:
        return any(a.failed for a in self.artifacts)

    def text(self) -> str:
        return "\n".join(a.text() for a in self.artifacts) + "\n"

    def document(self) -> dict[str, object]:
        """schemas/verify-report.schema.json."""
        return {
            "schema_version": 1,
            "exit_code": 1 if self.failed else 0,
            "artifacts": [a.document() for a in self.artifacts],
        }


def verify_artifacts(root: Path, paths: list[str]) -> Verification:
    """`strata verify`: per artifact, each signer's verdict, then doctor's CHK/LAY/SIG findings.
    It fails where anything failed, an unsigned artifact included."""
    trusted = load_config(root).trusted
    found = []
    with Keyring(root) as keyring:
        for path in paths:
            report = run_doctor(
                root / path, select=("CHK", "LAY01", "LFS002", "SIG"), require_content=True
            )
            signed = verify_directory(keyring, root, path, trusted)
            found.append(ArtifactVerification(path, signed, report))
    return Verification(tuple(found))
