"""`strata checksum`, `sign`, `verify` and `keys`: content hashes, signatures, trusted keys (TFC-0008)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import ArtifactPaths, FormatOption, examples, sub_app
from strataml.cli.output import emit
from strataml.wording import counted
from strataml.workspace import find_root

CHECKSUM_EXAMPLES = examples(
    "strata checksum datasets/iris/v1", "strata checksum --check datasets/iris/v1"
)
SIGN_EXAMPLES = examples(
    "strata sign models/iris-classifier/v1",
    "strata sign models/iris-classifier/v1 --key 0123456789ABCDEF0123456789ABCDEF01234567",
)
VERIFY_EXAMPLES = examples(
    "strata verify models/iris-classifier/v1 datasets/iris/v1",
    "strata verify models/iris-classifier/v1 --format json",
)


def checksum(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", help="Artifact directories.")],
    check: Annotated[bool, typer.Option("--check", help="Verify instead of writing.")] = False,
) -> None:
    """Write CHECKSUMS.txt and content_hash (TFC-0008), or verify them with --check."""
    from strataml.integrity.stamp import stamp_directory

    failed = False
    for path in paths:
        if check:
            from strataml.doctor.content import check_checksums  # doctor only for --check
            from strataml.doctor.report import format_text

            report = check_checksums(path)
            typer.echo(format_text(report), nl=False)
            failed = failed or report.failed
        else:
            done = stamp_directory(path)
            note = " (metadata.yaml content_hash updated)" if done.metadata_updated else ""
            typer.echo(f"{path}: {done.files} files, {done.content_hash}{note}")
    raise typer.Exit(1 if failed else 0)


def sign(
    paths: ArtifactPaths,
    key: Annotated[
        str | None,
        typer.Option("--key", metavar="FPR", help="Signing key fingerprint (default: gpg's)."),
    ] = None,
) -> None:
    """Add your detached signature over CHECKSUMS.txt to SIGNATURE.asc (TFC-0008 R7)."""
    from strataml.registry.store import artifact_dir
    from strataml.signing import sign as sign_directory

    root = find_root(Path())
    for target in [artifact_dir(root, p) for p in paths]:
        done = sign_directory(root, target, key)
        verb = "re-signed" if done.replaced else "signed"
        who = done.fingerprint + (f" ({done.uid})" if done.uid else "")
        typer.echo(f"{target}: {verb} by {who}; {counted(done.signatures, 'signature')}")


def verify(paths: ArtifactPaths, output_format: FormatOption = "text") -> None:
    """Checksums, then signatures against keys/ and the trust list only (TFC-0008 R8)."""
    from strataml.doctor.verify import verify_artifacts
    from strataml.registry.store import artifact_dir

    root = find_root(Path())
    done = verify_artifacts(root, [artifact_dir(root, p) for p in paths])
    emit(output_format, done)
    raise typer.Exit(1 if done.failed else 0)


keys_app = sub_app(
    "Trusted public keys: keys/ and [tool.strataml.signing] trusted (TFC-0008 R9).",
    "strata keys list",
)


@keys_app.command(
    "add",
    epilog=examples(
        "strata keys add you.asc", "strata keys add 0123456789ABCDEF0123456789ABCDEF01234567"
    ),
)
def keys_add(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|FPR", help="Armored public key file, or a fingerprint in your keyring."
        ),
    ],
) -> None:
    """Add a public key to keys/ and trust its fingerprint."""
    from strataml.integrity.keys import add_key

    row = add_key(find_root(Path()), source)
    typer.echo(f"{row.file}: {row.fingerprint} {row.uid or ''}".rstrip() + " (trusted)")


@keys_app.command("list", epilog=examples("strata keys list", "strata keys list --format json"))
def keys_list(output_format: FormatOption = "text") -> None:
    """Keys in keys/, with their state and whether they are trusted."""
    from strataml.integrity.keys import key_list

    emit(output_format, key_list(find_root(Path())))


@keys_app.command(
    "remove", epilog=examples("strata keys remove 0123456789ABCDEF0123456789ABCDEF01234567")
)
def keys_remove(fingerprint: Annotated[str, typer.Argument(metavar="FPR")]) -> None:
    """Stop trusting a key and delete its file from keys/."""
    from strataml.integrity.keys import remove_key

    removed = remove_key(find_root(Path()), fingerprint)
    typer.echo(
        f"untrusted {fingerprint.upper()}" + (f"; removed {', '.join(removed)}" if removed else "")
    )
