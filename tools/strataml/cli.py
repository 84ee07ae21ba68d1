"""Command line: parse, call one library function, print, exit. No logic lives here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from strataml.doctor.engine import parse_codes, run_doctor
from strataml.doctor.report import REPORTERS, explain
from strataml.doctor.rules import RULES
from strataml.errors import StrataError, UsageError
from strataml.integrity.stamp import stamp_directory
from strataml.runner import session
from strataml.runner.execute import Interrupts, forwarding
from strataml.workspace import find_root

app = typer.Typer(
    name="strata",
    help="Keep ML datasets, runs and models in Git as plain files that validate themselves.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def doctor(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="Repository or a path inside it.")
    ] = Path(),
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="text, json, sarif or github.")
    ] = "text",
    select: Annotated[
        str, typer.Option(metavar="CODES", help="Only these codes or prefixes, comma-separated.")
    ] = "",
    ignore: Annotated[
        str, typer.Option(metavar="CODES", help="Skip these codes or prefixes, comma-separated.")
    ] = "",
    explain_code: Annotated[
        str | None, typer.Option("--explain", metavar="CODE", help="Describe a rule and exit.")
    ] = None,
) -> None:
    """Validate layout, metadata and checksums (TFC-0006)."""
    if explain_code is not None:
        if explain_code.upper() not in RULES:
            raise UsageError(f"unknown rule code: {explain_code}")
        typer.echo(explain(explain_code.upper()), nl=False)
        return
    if output_format not in REPORTERS:
        raise UsageError(f"unknown format {output_format!r} (choose from {', '.join(REPORTERS)})")
    report = run_doctor(path, strict=strict, select=parse_codes(select), ignore=parse_codes(ignore))
    color = output_format == "text" and sys.stdout.isatty()
    typer.echo(REPORTERS[output_format](report, color=color), nl=False)
    raise typer.Exit(report.exit_code)


app.command("doctor")(doctor)


@app.command()
def checksum(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", help="Artifact directories.")],
    check: Annotated[bool, typer.Option("--check", help="Verify instead of writing.")] = False,
) -> None:
    """Write CHECKSUMS.txt and content_hash (TFC-0008), or verify them with --check."""
    failed = False
    for path in paths:
        if check:
            report = run_doctor(path, select=("CHK", "LAY01"))
            typer.echo(REPORTERS["text"](report), nl=False)
            failed = failed or report.failed
        else:
            stamp = stamp_directory(path)
            note = " (metadata.yaml content_hash updated)" if stamp.metadata_updated else ""
            typer.echo(f"{path}: {stamp.files} files, {stamp.content_hash}{note}")
    raise typer.Exit(1 if failed else 0)


def run(
    experiment: Annotated[
        Path,
        typer.Option("--experiment", metavar="FILE", help="Experiment spec (experiments/*.yaml)."),
    ],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Override a parameter (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the resolved config and fingerprint; create nothing."
        ),
    ] = False,
    reuse_earlier: Annotated[
        bool,
        typer.Option("--reuse", help="Return an earlier succeeded run with the same fingerprint."),
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", metavar="TEXT", help="A label for the run.")
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", metavar="TAG", help="Add a tag (repeatable).")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, metavar="N", help="Sweep points run side by side.")
    ] = 1,
) -> None:
    """Run an experiment and record it under runs/ (TFC-0002)."""
    root = find_root(experiment.parent if experiment.parent.is_dir() else Path())
    planned = session.plan(
        root, experiment, overrides=overrides or [], name=name, tags=tuple(tags or ())
    )
    if dry_run:
        typer.echo(session.format_plan(planned), nl=False)
        return
    interrupts = Interrupts()
    with forwarding(interrupts):
        results = session.run_all(
            root, planned, jobs=jobs, reuse_earlier=reuse_earlier, interrupts=interrupts,
            echo=(sys.stdout.buffer, sys.stderr.buffer), notify=_note,
        )  # fmt: skip
    if len(planned) > 1:
        typer.echo(session.format_summary(results, len(planned)), err=True, nl=False)
    code = session.exit_code(results)
    if code == 0 and interrupts.received:
        code = 128 + interrupts.received
    raise typer.Exit(code)


app.command("run")(run)


def _note(message: str) -> None:
    typer.echo(f"[strata] {message}", err=True)


def _run(app_: typer.Typer, argv: list[str] | None, prog_name: str) -> int:
    try:
        # Without standalone mode typer returns the code of a raised typer.Exit.
        code = typer.main.get_command(app_).main(
            args=argv, prog_name=prog_name, standalone_mode=False
        )
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:  # typer's usage errors (unknown option, bad value)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"{prog_name}: error: {message}", err=True)
        return int(getattr(exc, "exit_code", 2))
    except (typer.Abort, KeyboardInterrupt):
        typer.echo(f"{prog_name}: interrupted", err=True)
        return 130
    except StrataError as exc:
        typer.echo(f"{prog_name}: error: {exc}", err=True)
        return 2
    return code if isinstance(code, int) else 0


def main(argv: list[str] | None = None) -> int:
    return _run(app, argv, "strata")


def run_main(argv: list[str] | None = None) -> int:
    single = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None
    )
    single.command()(run)
    return _run(single, argv, "run")


def doctor_main(argv: list[str] | None = None) -> int:
    single = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None
    )
    single.command()(doctor)
    return _run(single, argv, "doctor")
