"""Command line: parse, call one library function, print, exit. No logic lives here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from strataml.doctor.engine import parse_codes, run_doctor
from strataml.doctor.report import REPORTERS, explain
from strataml.doctor.rules import RULES
from strataml.errors import StrataError, UsageError
from strataml.integrity.stamp import stamp_directory
from strataml.registry import runs
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


runs_app = typer.Typer(
    help="Read recorded runs: list, show, compare, best (TFC-0003).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(runs_app, name="runs")

FormatOption = Annotated[
    str, typer.Option("--format", metavar="FORMAT", help="text or json.")
]  # fmt: skip


def _emit(output_format: str, text: str, document: object) -> None:
    if output_format == "json":
        typer.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
    elif output_format == "text":
        typer.echo(text, nl=False)
    else:
        raise UsageError(f"unknown format {output_format!r} (choose from text, json)")


@runs_app.command("list")
def runs_list(
    experiment: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only runs of this experiment.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(metavar="STATUS", help="Only runs with this status (succeeded, failed, …)."),
    ] = None,
    output_format: FormatOption = "text",
) -> None:
    """Runs, newest first."""
    records = runs.load_runs(find_root(Path()), experiment=experiment, status=status)
    _emit(output_format, runs.format_list(records), [r.summary() for r in reversed(records)])


@runs_app.command("show")
def runs_show(
    run_ref: Annotated[
        str,
        typer.Argument(metavar="RUN", help="Run id, runs/<id>, a unique part of it, or latest."),
    ],
    output_format: FormatOption = "text",
) -> None:
    """One run: outcome, code, inputs, params, metrics."""
    record = runs.resolve_run(find_root(Path()), run_ref)
    document = {
        **record.summary(),
        "config": record.config,
        "system": record.system,
        "metrics": record.metrics,
    }
    _emit(output_format, runs.format_show(record), document)


@runs_app.command("compare")
def runs_compare(
    run_refs: Annotated[list[str], typer.Argument(metavar="RUN…", help="Two or more runs.")],
    show_all: Annotated[bool, typer.Option("--all", help="Show identical fields too.")] = False,
    output_format: FormatOption = "text",
) -> None:
    """Params, metrics, inputs, code and environment side by side; only what differs."""
    if len(run_refs) < 2:
        raise UsageError("compare needs at least two runs")
    root = find_root(Path())
    comparison = runs.compare_runs(
        [runs.resolve_run(root, ref) for ref in run_refs], show_all=show_all
    )
    _emit(output_format, runs.format_compare(comparison), comparison.document())


@runs_app.command("best")
def runs_best(
    experiment: Annotated[str, typer.Option(metavar="NAME", help="Experiment name.")],
    metric: Annotated[str, typer.Option(metavar="NAME", help="Final metric to rank by.")],
    minimize: Annotated[bool, typer.Option("--minimize", help="Lower is better.")] = False,
    output_format: FormatOption = "text",
) -> None:
    """The succeeded run with the best final value of a metric."""
    best = runs.best_run(find_root(Path()), experiment, metric, minimize=minimize)
    if best is None:
        typer.echo(f"strata: no succeeded run of {experiment!r} reports {metric!r}", err=True)
        raise typer.Exit(1)
    text = f"{best.run.run_id}  {metric}={best.value:.6g}  (best of {best.considered}, {'lowest' if minimize else 'highest'})\n"
    _emit(output_format, text, best.document())


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
