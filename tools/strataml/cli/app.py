"""The `strata` command: its groups, `--version`, and one way to turn errors into exit codes.

Command modules import the library inside each command, so `strata --help` and
`python tools/doctor.py` load only what they run (mypy still sees every call).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from strataml.cli import bundle, datasets, exports, imports, integrity, lfs, models, runs
from strataml.cli import doctor as doctor_cli
from strataml.cli import index as index_cli
from strataml.cli import lineage as lineage_cli
from strataml.cli import run as run_cli
from strataml.cli.options import examples
from strataml.errors import StrataError

app = typer.Typer(
    name="strata",
    help="Keep ML datasets, runs and models in Git as plain files that validate themselves.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    epilog=examples("strata doctor --strict", "strata model list"),
)


def _print_version(value: bool) -> None:
    if value:
        from strataml import tool_version

        typer.echo(f"strata {tool_version()}")
        raise typer.Exit(0)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    pass


app.command("doctor", epilog=doctor_cli.EXAMPLES)(doctor_cli.doctor)
app.command("checksum", epilog=integrity.CHECKSUM_EXAMPLES)(integrity.checksum)
app.command("run", epilog=run_cli.EXAMPLES)(run_cli.run)
app.command("lineage", epilog=lineage_cli.EXAMPLES)(lineage_cli.lineage)
app.command("sign", epilog=integrity.SIGN_EXAMPLES)(integrity.sign)
app.command("verify", epilog=integrity.VERIFY_EXAMPLES)(integrity.verify)
app.command("index", epilog=index_cli.INDEX_EXAMPLES)(index_cli.index)
app.command("serve", epilog=index_cli.SERVE_EXAMPLES)(index_cli.serve)
for name, group in {
    "runs": runs.app, "dataset": datasets.app, "model": models.app, "export": exports.app,
    "import": imports.app, "keys": integrity.keys_app, "lfs": lfs.app, "bundle": bundle.app,
}.items():  # fmt: skip
    app.add_typer(group, name=name)


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


def _single(
    command: Callable[..., None], epilog: str, argv: list[str] | None, prog_name: str
) -> int:
    """One command as a program of its own: `python tools/<prog_name>.py`."""
    alone = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    alone.command(epilog=epilog)(command)
    return _run(alone, argv, prog_name)


def main(argv: list[str] | None = None) -> int:
    return _run(app, argv, "strata")


def run_main(argv: list[str] | None = None) -> int:
    return _single(run_cli.run, run_cli.EXAMPLES, argv, "run")


def doctor_main(argv: list[str] | None = None) -> int:
    return _single(doctor_cli.doctor, doctor_cli.EXAMPLES, argv, "doctor")


def index_main(argv: list[str] | None = None) -> int:
    return _single(index_cli.index, index_cli.INDEX_EXAMPLES, argv, "index")
