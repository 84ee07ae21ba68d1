"""One way from a command's outcome to an exit code and a one-line error, for every program."""

from __future__ import annotations

from collections.abc import Callable

import typer

from strataml.errors import StrataError


def run_app(app_: typer.Typer, argv: list[str] | None, prog_name: str) -> int:
    try:
        # Without standalone mode typer returns the code of a raised typer.Exit.
        code = typer.main.get_command(app_).main(
            args=argv, prog_name=prog_name, standalone_mode=False
        )
    except typer.Exit as exc:
        return int(exc.exit_code)
    except SystemExit as exc:  # shell completion exits from inside click
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        raise
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


def run_alone(
    command: Callable[..., None], epilog: str, argv: list[str] | None, prog_name: str
) -> int:
    """One command as a program of its own: `python tools/<prog_name>.py`."""
    alone = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    alone.command(epilog=epilog)(command)
    return run_app(alone, argv, prog_name)
