"""The `strata` command: its commands and groups, `--version`.

Command modules import the library inside each command, so that `strata --help` loads
only typer and these modules (mypy still sees every call).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer._completion_classes import completion_init  # what add_completion=True calls
from typer._completion_shared import Shells
from typer.completion import install_callback, show_callback

from strataml.cli import (
    bundle,
    datasets,
    exports,
    federation,
    imports,
    integrity,
    lfs,
    models,
    runs,
)
from strataml.cli import doctor as doctor_cli
from strataml.cli import index as index_cli
from strataml.cli import lineage as lineage_cli
from strataml.cli import refs as refs_cli
from strataml.cli import run as run_cli
from strataml.cli import status as status_cli
from strataml.cli.exits import run_app
from strataml.cli.options import examples

app = typer.Typer(
    name="strata",
    help="Keep ML datasets, runs and models in Git as plain files that validate themselves.",
    no_args_is_help=True,
    add_completion=False,  # its own options below: the shell named, never guessed
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    epilog=examples("strata doctor --strict", "strata model list"),
)


# Typer's own completion options guess the shell from the processes above this one when they
# have a way to, and then ignore the one named: in a Dockerfile's RUN, a CI job or a detached
# process they find none and fail. These take the shell named (Typer's callbacks, given a name).
SHOW_HELP = "Print the completion script for SHELL, to copy or install."


def _shell_option(name: str, callback: Callable[..., Any], help_text: str) -> Any:
    return typer.Option(
        name, callback=callback, expose_value=False, is_eager=True, metavar="SHELL", help=help_text
    )


completion_init()  # Typer's completion for each shell, as add_completion has it


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
    show_completion: Annotated[
        Shells | None,
        _shell_option("--show-completion", show_callback, SHOW_HELP),
    ] = None,
    install_completion: Annotated[
        Shells | None,
        _shell_option("--install-completion", install_callback, "Install completion for SHELL."),
    ] = None,
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
app.command("resolve", epilog=refs_cli.RESOLVE_EXAMPLES)(refs_cli.resolve)
app.command("status", epilog=status_cli.EXAMPLES)(status_cli.status)
for name, group in {
    "runs": runs.app, "dataset": datasets.app, "model": models.app, "export": exports.app,
    "import": imports.app, "keys": integrity.keys_app, "lfs": lfs.app, "bundle": bundle.app,
    "federation": federation.app,
}.items():  # fmt: skip
    app.add_typer(group, name=name)


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, "strata")
