"""Signatures over CHECKSUMS.txt, verified against keys/ and the trust list only (TFC-0008 R7-R11)."""

from __future__ import annotations

import fnmatch
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
from strataml.integrity.signatures import SIGNATURE, verify_directory
from strataml.registry.policy import load_policy
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


def _required(ctx: Context, artifact: Artifact) -> tuple[int, str | None]:
    """(distinct trusted signers needed, why) from signing.require globs and stage policy."""
    needed, why = 0, None
    for entry in ctx.config.signing.get("require", []):
        if fnmatch.fnmatchcase(artifact.path, entry["path"]) and entry["signers"] > needed:
            needed, why = (
                entry["signers"],
                f"[[tool.strataml.signing.require]] path {entry['path']!r}",
            )
    if artifact.kind == "model":
        document = ctx.document(f"models/{artifact.name}/stages.yaml")
        data = document.data if document is not None and document.ok else None
        if isinstance(data, dict):
            for stage, policy in load_policy(ctx.config.policy).items():
                if data.get(stage) == artifact.version and policy.signatures > needed:
                    needed, why = (
                        policy.signatures,
                        f"[tool.strataml.policy.{stage}] (it is in {stage})",
                    )
    return needed, why


def check_signatures(ctx: Context) -> Iterator[Diagnostic]:
    trusted = frozenset(f.upper() for f in ctx.config.signing.get("trusted", []))
    signed = [a for a in ctx.artifacts if (ctx.root / a.path / SIGNATURE).exists()]
    required = {a.path: _required(ctx, a) for a in ctx.artifacts}
    for artifact in ctx.artifacts:
        needed, why = required[artifact.path]
        if needed and artifact not in signed:
            yield SIG001.at(
                f"{artifact.path}/{SIGNATURE}",
                f"{needed} trusted signature{'s' if needed > 1 else ''} required by {why}, none present",
                hint=f"after review, `strata sign {artifact.path}`",
            )
    check_keys = ctx.whole_repository or within("keys", ctx.target)
    if not signed and not (check_keys and (ctx.rules_root / "keys").is_dir()):
        return
    if not signed and shutil.which("gpg") is None:
        return  # keys/ alone is checked where gpg exists; a signature is never skipped
    with Keyring(ctx.rules_root) as keyring:  # REF's keys/ with --base
        if check_keys:
            for problem in keyring.problems:
                yield SIG010.at(
                    problem.path,
                    problem.message,
                    hint="keys/ holds ASCII-armored public keys, one file each (`strata keys add`)",
                )
            if ctx.whole_repository:
                for fpr in sorted(trusted - set(keyring.keys)):
                    yield SIG011.at(
                        "pyproject.toml",
                        f"trusted fingerprint {fpr} has no public key in keys/",
                        hint="`strata keys add` its key, or remove it from [tool.strataml.signing] trusted",
                    )
        for artifact in signed:
            yield from _check_artifact(ctx, keyring, artifact, trusted, required[artifact.path])


def _check_artifact(
    ctx: Context,
    keyring: Keyring,
    artifact: Artifact,
    trusted: frozenset[str],
    need: tuple[int, str | None],
) -> Iterator[Diagnostic]:
    at = f"{artifact.path}/{SIGNATURE}"
    report = verify_directory(keyring, ctx.root, artifact.path, trusted)
    if report.problem:
        yield SIG008.at(
            at,
            f"{SIGNATURE} {report.problem}",
            hint="remove the damaged part and re-sign (`strata sign PATH`)",
        )
    for block in report.blocks:
        result, who = block.result, _who(block.result.fingerprint, block.result.uid)
        if result.verdict is Verdict.GOOD:
            if not block.trusted:
                yield SIG005.at(
                    at,
                    f"signature {block.index} by {who} is good, but that key is not in [tool.strataml.signing] trusted",
                    hint=f"if you trust it: `strata keys add {result.fingerprint}`",
                )
            continue
        rule, hint = _VERDICT_RULES[result.verdict]
        detail = (
            f" ({result.detail})"
            if result.detail and result.verdict in (Verdict.ERROR, Verdict.MALFORMED)
            else ""
        )
        yield rule.at(
            at,
            f"signature {block.index} by {who}: {result.verdict.value}{detail}",
            hint=hint.replace("PATH", artifact.path),
        )
    needed, why = need
    if needed and len(report.signers) < needed and report.blocks:
        count = len(report.signers)
        yield SIG009.at(
            at,
            f"{count} distinct trusted signer{'s' if count != 1 else ''} ({', '.join(sorted(report.signers)) or 'none'}), {needed} required by {why}",
            hint="more trusted people must review and `strata sign` it; one key signing twice counts once",
        )


def _who(fingerprint: str | None, uid: str | None) -> str:
    if fingerprint is None:
        return "an unknown key"
    return f"{fingerprint}" + (f" ({uid})" if uid else "")
