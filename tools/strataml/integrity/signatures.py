"""Signing and verifying an artifact directory's CHECKSUMS.txt (TFC-0008 R7-R11)."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from strataml.atomic import write_atomic
from strataml.errors import StrataError
from strataml.integrity.armor import split_blocks
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


@dataclass(frozen=True)
class Signed:
    path: str
    fingerprint: str
    uid: str | None
    replaced: bool
    signatures: int


def append_signature(root: Path, path: str, key: str | None) -> Signed:
    """Append (or replace) the signer's detached signature over CHECKSUMS.txt, atomically.

    It signs what is there: a caller verifies the directory first (`strataml.signing.sign`)."""
    directory = root / path
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
