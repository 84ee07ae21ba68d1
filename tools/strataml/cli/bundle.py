"""`strata bundle`: air-gap bundles (TFC-0008 R14)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import ForceOption, FormatOption, examples, sub_app
from strataml.cli.output import emit

app = sub_app(
    "Air-gap bundles: history, LFS objects and manifest in one file (TFC-0008 R14).",
    "strata bundle create main -o out/main.bundle",
)
FileArgument = Annotated[Path, typer.Argument(metavar="FILE", help="A bundle file.")]


@app.command(
    "create",
    epilog=examples(
        "strata bundle create main -o out/main.bundle",
        "strata bundle create main --since v1.0 -o out/update.bundle",
    ),
)
def bundle_create(
    refs: Annotated[
        list[str],
        typer.Argument(metavar="REF", help="Branches, tags or commits.", show_default=False),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="Bundle file.")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="BASE", help="Leave out BASE's history (the importer has it)."
        ),
    ] = None,
    allow_missing_lfs: Annotated[
        bool,
        typer.Option("--allow-missing-lfs", help="Leave out LFS objects not present here."),
    ] = False,
    force: ForceOption = False,
) -> None:
    """Write one self-verifying file: a Git bundle, its LFS objects and a manifest."""
    from strataml.bundle.create import create_bundle

    done = create_bundle(
        Path(), refs, output, since=since, allow_missing_lfs=allow_missing_lfs, overwrite=force
    )
    typer.echo(done.text(output), nl=False)


@app.command(
    "verify",
    epilog=examples(
        "strata bundle verify out/main.bundle", "strata bundle verify out/main.bundle --format json"
    ),
)
def bundle_verify(file: FileArgument, output_format: FormatOption = "text") -> None:
    """Check every member, the manifest digest and the Git bundle against this repository."""
    from strataml.bundle.verify import verify_bundle

    done = verify_bundle(file, Path())
    emit(output_format, done)
    if done.problems:
        raise typer.Exit(1)


@app.command(
    "import",
    epilog=examples(
        "strata bundle import out/main.bundle",
        "strata bundle import out/main.bundle --branch from-lab",
    ),
)
def bundle_import(
    file: FileArgument,
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch", metavar="NAME", help="Import the bundle's one branch as this branch."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite local branches and tags that diverged.")
    ] = False,
) -> None:
    """Verify, then fetch the bundle's refs and place its LFS objects; doctor if checked out."""
    from strataml.bundle.importer import import_bundle
    from strataml.doctor.engine import run_doctor
    from strataml.doctor.report import format_text

    done = import_bundle(file, Path(), branch=branch, force=force)
    typer.echo(done.text(), nl=False)
    if done.checked_out is None:
        return
    report = run_doctor(done.root)
    typer.echo(format_text(report), nl=False)
    raise typer.Exit(report.exit_code)
