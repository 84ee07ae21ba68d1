"""The `strata` command: its commands and groups, `--version`.

Command modules import the library inside each command, so that `strata --help` loads
only typer and these modules (mypy still sees every call).
"""

from __future__ import annotations

import os
import sys
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


# Each command and group by its name: the app is built with all of them, or with the one a command
# line names (main).
COMMANDS: dict[str, tuple[Callable[..., None], str]] = {
    "doctor": (doctor_cli.doctor, doctor_cli.EXAMPLES),
    "checksum": (integrity.checksum, integrity.CHECKSUM_EXAMPLES),
    "run": (run_cli.run, run_cli.EXAMPLES),
    "lineage": (lineage_cli.lineage, lineage_cli.EXAMPLES),
    "sign": (integrity.sign, integrity.SIGN_EXAMPLES),
    "verify": (integrity.verify, integrity.VERIFY_EXAMPLES),
    "index": (index_cli.index, index_cli.INDEX_EXAMPLES),
    "serve": (index_cli.serve, index_cli.SERVE_EXAMPLES),
    "resolve": (refs_cli.resolve, refs_cli.RESOLVE_EXAMPLES),
    "status": (status_cli.status, status_cli.EXAMPLES),
}
GROUPS: dict[str, typer.Typer] = {
    "runs": runs.app, "dataset": datasets.app, "model": models.app, "export": exports.app,
    "import": imports.app, "keys": integrity.keys_app, "lfs": lfs.app, "bundle": bundle.app,
    "federation": federation.app,
}  # fmt: skip


def _build(only: str | None = None) -> typer.Typer:
    """The `strata` app with every command and group, or with only the one named `only`."""
    built = typer.Typer(
        name="strata",
        help="Keep ML datasets, runs and models in Git as plain files that validate themselves.",
        no_args_is_help=True,
        add_completion=False,  # its own options (_options): the shell named, never guessed
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        epilog=examples("strata doctor --strict", "strata model list"),
    )
    built.callback()(_options)
    for name, (command, epilog) in COMMANDS.items():
        if only in (None, name):
            built.command(name, epilog=epilog)(command)
    for name, group in GROUPS.items():
        if only in (None, name):
            built.add_typer(group, name=name)
    return built


app = _build()


def main(argv: list[str] | None = None) -> int:
    """Typer reads the signature of every command of the app it runs: 30 ms for all fifty, a
    fifteenth of `strata runs list` on 10,000 runs. A command line that starts with a command's
    or a group's name runs an app of that one alone, which parses it and says the same; any other
    (an option first, a name mistyped, a shell completing) runs the whole app."""
    args = sys.argv[1:] if argv is None else argv
    named = args[0] if args and args[0] in (COMMANDS.keys() | GROUPS.keys()) else None
    if named is None or "_STRATA_COMPLETE" in os.environ:
        return run_app(app, argv, "strata")
    return run_app(_build(named), argv, "strata")
