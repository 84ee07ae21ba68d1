"""Signatures over CHECKSUMS.txt, verified against keys/ and the trust list only (TFC-0008 R7-R11)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

from strataml.doctor.context import Context, within
from strataml.doctor.model import Diagnostic, Rule
from strataml.doctor.rules import (
    SIG001,
    SIG002,
    SIG003,
    SIG004,
    SIG005,
    SIG006,
    SIG007,
    SIG008,
    SIG009,
    SIG010,
    SIG011,
)
from strataml.integrity.gpg import Keyring, Verdict
from strataml.integrity.keyfiles import ONE_FILE_EACH
from strataml.integrity.signatures import SIGNATURE, DirectoryReport, verify_directory
from strataml.registry.policy import (
    STAGES,
    SignatureFailure,
    SignerNeed,
    signature_failures,
    signer_need,
)
from strataml.workspace import Artifact

_VERDICT_RULES: dict[Verdict, tuple[Rule, str]] = {
    Verdict.MISMATCH: (
        SIG002,
        "it was made over other bytes: CHECKSUMS.txt changed since, or the file was copied from another artifact; re-sign after review (`strata sign PATH`)",
    ),
    Verdict.ERROR: (SIG003, "re-sign it (`strata sign PATH`)"),
    Verdict.NO_KEY: (
        SIG004,
        "add the signer's public key (`strata keys add FILE`) if you trust it",
    ),
    Verdict.EXPIRED_KEY: (
        SIG006,
        "the signer must extend the key's expiry and update keys/, or re-sign with a current key",
    ),
    Verdict.EXPIRED_SIGNATURE: (SIG006, "re-sign it"),
    Verdict.REVOKED_KEY: (SIG007, "a revoked key vouches for nothing; re-sign with a current key"),
    Verdict.MALFORMED: (SIG008, "remove the block and re-sign (`strata sign PATH`)"),
}


def _required(ctx: Context, artifact: Artifact) -> SignerNeed:
    """What signing.require and the policy of the stages the artifact holds ask of it."""
    held: tuple[str, ...] = ()
    if artifact.kind == "model":
        document = ctx.document(f"models/{artifact.name}/stages.yaml")
        data = document.data if document is not None and document.ok else None
        if isinstance(data, dict):
            held = tuple(stage for stage in STAGES if data.get(stage) == artifact.version)
    return signer_need(ctx.config, artifact.path, held)


def _signed(ctx: Context, artifact: Artifact) -> bool:
    """Is there a SIGNATURE.asc (the scan knows; a symlink counts only if it leads to a file)?"""
    scan = ctx.scan(artifact)
    if SIGNATURE in scan.files:
        return True
    return SIGNATURE in scan.symlinks and (ctx.root / artifact.path / SIGNATURE).exists()


def check_signatures(ctx: Context) -> Iterator[Diagnostic]:
    trusted = ctx.config.trusted
    signed = [a for a in ctx.artifacts if _signed(ctx, a)]
    required = {a.path: _required(ctx, a) for a in ctx.artifacts}
    signed_paths = {a.path for a in signed}  # a set: a list would be searched once per artifact
    for artifact in ctx.artifacts:
        if artifact.path not in signed_paths:
            unsigned = DirectoryReport(artifact.path, False, None, ())
            for failure in signature_failures(unsigned, required[artifact.path]):
                yield _finding(failure, artifact)
    check_keys = ctx.whole_repository or within("keys", ctx.target)
    if not signed and not (check_keys and (ctx.rules_root / "keys").is_dir()):
        return
    if not signed and shutil.which("gpg") is None:
        return  # keys/ alone is checked where gpg exists; a signature is never skipped
    with Keyring(ctx.rules_root) as keyring:  # REF's keys/ with --base
        if check_keys:
            for problem in keyring.problems:
                yield SIG010.at(problem.path, problem.message, hint=problem.hint or ONE_FILE_EACH)
            if ctx.whole_repository:
                for fpr in sorted(trusted - set(keyring.keys)):
                    yield SIG011.at(
                        "pyproject.toml",
                        f"trusted fingerprint {fpr} has no public key in keys/",
                        hint="`strata keys add` its key, or remove it from [tool.strataml.signing] trusted",
                    )
        for artifact in signed:
            report = verify_directory(keyring, ctx.root, artifact.path, trusted)
            for failure in signature_failures(report, required[artifact.path]):
                yield _finding(failure, artifact)


def _finding(failure: SignatureFailure, artifact: Artifact) -> Diagnostic:
    at = f"{artifact.path}/{SIGNATURE}"
    if failure.kind == "missing":
        return SIG001.at(at, failure.message, hint=f"after review, `strata sign {artifact.path}`")
    if failure.kind == "malformed":
        return SIG008.at(
            at, failure.message, hint="remove the damaged part and re-sign (`strata sign PATH`)"
        )
    if failure.kind == "untrusted":
        return SIG005.at(
            at, failure.message, hint=f"if you trust it: `strata keys add {failure.fingerprint}`"
        )
    if failure.kind == "too-few":
        return SIG009.at(
            at,
            failure.message,
            hint="more trusted people must review and `strata sign` it; one key signing twice counts once",
        )
    assert failure.verdict is not None
    rule, hint = _VERDICT_RULES[failure.verdict]
    return rule.at(at, failure.message, hint=hint.replace("PATH", artifact.path))
