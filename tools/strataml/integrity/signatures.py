"""Signing and verifying an artifact directory's CHECKSUMS.txt (TFC-0008 R7-R11)."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from strataml.atomic import write_atomic
from strataml.errors import StrataError, UsageError
from strataml.integrity.checksums import CHECKSUMS
from strataml.integrity.gpg import (
    BlockResult,
    Keyring,
    Verdict,
    issuer_fingerprint,
    list_keys,
    normalise_fingerprint,
    primary_of,
    run_gpg,
    split_blocks,
)
from strataml.safeopen import read_regular

SIGNATURE = "SIGNATURE.asc"


@dataclass(frozen=True)
class BlockReport:
    index: int  # 1-based
    result: BlockResult
    trusted: bool

    @property
    def counts(self) -> bool:
        return self.result.verdict is Verdict.GOOD and self.trusted


@dataclass(frozen=True)
class DirectoryReport:
    path: str
    present: bool
    problem: str | None  # SIGNATURE.asc as a whole is malformed
    blocks: tuple[BlockReport, ...]

    @property
    def signers(self) -> set[str]:
        """Distinct trusted primary fingerprints with a good signature."""
        return {b.result.fingerprint for b in self.blocks if b.counts and b.result.fingerprint}


def verify_directory(
    keyring: Keyring, root: Path, path: str, trusted: frozenset[str]
) -> DirectoryReport:
    directory = root / path
    try:
        raw = read_regular(directory / SIGNATURE)
    except FileNotFoundError:
        return DirectoryReport(path, False, None, ())
    except OSError as exc:
        return DirectoryReport(path, True, f"cannot be read: {exc.strerror or exc}", ())
    parsed = split_blocks(raw)
    reports = []
    data = directory / CHECKSUMS
    for index, block in enumerate(parsed.blocks, start=1):
        if not data.is_file() or data.is_symlink():
            result = BlockResult(Verdict.ERROR, detail="no CHECKSUMS.txt to check it against")
        else:
            result = keyring.verify_block(block, data)
        reports.append(BlockReport(index, result, result.fingerprint in trusted))
    return DirectoryReport(path, True, parsed.problem, tuple(reports))


def verify_artifacts(root: Path, paths: list[str]) -> tuple[str, bool]:
    """`strata verify`: per artifact, each signer's verdict, then doctor's CHK/LAY/SIG findings.

    Returns the report text and whether anything failed (an unsigned artifact included)."""
    from strataml.config import load_config
    from strataml.doctor.engine import run_doctor  # doctor imports this module's neighbours
    from strataml.doctor.report import REPORTERS

    trusted = frozenset(f.upper() for f in load_config(root).signing.get("trusted", []))
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


@dataclass(frozen=True)
class Signed:
    path: str
    fingerprint: str
    uid: str | None
    replaced: bool
    signatures: int


def sign_directory(root: Path, path: str, key: str | None) -> Signed:
    """Append (or replace) the signer's detached signature over CHECKSUMS.txt, atomically."""
    from strataml.doctor.engine import run_doctor  # doctor imports this module's neighbours

    directory = root / path
    report = run_doctor(directory, select=("CHK", "LAY010", "LAY011", "LAY012"))
    failing = [d for d in report.diagnostics if d.severity.value == "error"]
    if failing:
        first = failing[0]
        raise UsageError(
            f"{path} does not verify, not signing: {first.path}: {first.code} {first.message}"
        )
    fingerprint = normalise_fingerprint(key) if key else None
    with tempfile.TemporaryDirectory(prefix="strata-sign-") as scratch:
        out = Path(scratch) / "signature.asc"
        args = ["--armor", "--detach-sign", "--output", str(out)]
        if fingerprint:
            args += ["--local-user", fingerprint]
        result = run_gpg([*args, "--", str(directory / CHECKSUMS)], home=None)
        created = result.first("SIG_CREATED")
        if result.returncode != 0 or created is None or not out.is_file():
            reason = " ".join(result.stderr.split()) or f"gpg exit {result.returncode}"
            raise StrataError(f"gpg could not sign {path}/{CHECKSUMS}: {reason}")
        block = out.read_bytes()
    user_keys = list_keys(None)
    signer = primary_of(user_keys, created[-1]) or created[-1].upper()
    existing: list[bytes] = []
    with contextlib.suppress(FileNotFoundError):
        existing = split_blocks(read_regular(directory / SIGNATURE)).blocks
    kept = []
    for old in existing:
        issuer = issuer_fingerprint(old)
        owner = primary_of(user_keys, issuer) if issuer else None
        if (owner or issuer) != signer:
            kept.append(old)
    write_atomic(
        directory / SIGNATURE, b"".join([*kept, block if block.endswith(b"\n") else block + b"\n"])
    )
    uid = user_keys[signer].uids[0] if signer in user_keys and user_keys[signer].uids else None
    return Signed(path, signer, uid, len(kept) < len(existing), len(kept) + 1)
