"""`strata doctor` (also `python tools/doctor.py`)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from strataml.cli.options import examples
from strataml.errors import UsageError

if TYPE_CHECKING:
    from strataml.gitrepo import Uncommitted

EXAMPLES = examples(
    "strata doctor --strict",
    "strata doctor models/iris-classifier/v1 --format json --select CHK,SIG",
)


def doctor(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATH", help="Repository or a path inside it; with --files, changed files."
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="text, json, sarif, github or gitlab.")
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
    require_content: Annotated[
        bool,
        typer.Option("--require-content", help="Git LFS content that is not pulled is an error."),
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Read every file; ignore (and refresh) the hash cache."),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="REF", help="Check only artifacts changed since this commit."
        ),
    ] = None,
    files: Annotated[
        bool,
        typer.Option(
            "--files", help="PATHs are changed files (pre-commit): check the artifacts they touch."
        ),
    ] = False,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            metavar="REF",
            help="Take trust, keys, policy, ignores and schemas from REF; report changes to them.",
        ),
    ] = None,
) -> None:
    """Validate layout, metadata and checksums (TFC-0006)."""
    if explain_code is not None:
        _explain(explain_code)
        return
    start = Path() if files or not paths else paths[0]
    with contextlib.ExitStack() as stack:
        # --since asks `git status` of the whole work tree: started before doctor's own modules
        # load, it walks the tree meanwhile; waited for on every way out.
        status = _status_started(start, stack) if since is not None and not files else None
        from strataml.doctor.engine import parse_codes, run_doctor
        from strataml.doctor.report import REPORTERS

        if output_format not in REPORTERS:
            known = ", ".join(REPORTERS)
            raise UsageError(f"unknown format {output_format!r} (choose from {known})")
        if len(paths or ()) > 1 and not files:
            raise UsageError("give one PATH, or changed files with --files")
        report = run_doctor(
            start, strict=strict, select=parse_codes(select), ignore=parse_codes(ignore),
            require_content=require_content, use_cache=not no_cache, since=since,
            changed=(paths or []) if files else None, base=base, status=status,
        )  # fmt: skip
    color = output_format == "text" and sys.stdout.isatty()
    typer.echo(REPORTERS[output_format](report, color=color), nl=False)
    raise typer.Exit(report.exit_code)


def _status_started(start: Path, stack: contextlib.ExitStack) -> Uncommitted | None:
    from strataml.errors import StrataError
    from strataml.gitrepo import uncommitted_later
    from strataml.workspace import find_root

    try:
        root = find_root(start)
    except StrataError:
        return None  # doctor says so itself
    status = uncommitted_later(root)
    stack.callback(status)
    return status


def _explain(code: str) -> None:
    from strataml.doctor.explain import explain
    from strataml.doctor.rules import RULES
    from strataml.suggest import did_you_mean

    if code.upper() not in RULES:
        raise UsageError(f"unknown rule code: {code}{did_you_mean(code.upper(), RULES)}")
    typer.echo(explain(code.upper()), nl=False)
