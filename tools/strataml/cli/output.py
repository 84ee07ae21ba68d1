"""How commands print: a value in the chosen format, a file or stdout, a note on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import typer

from strataml.atomic import check_output, write_text_atomic
from strataml.errors import UsageError
from strataml.jsonio import finite


class Shown(Protocol):
    """What a read command prints: its text form, or (--format json) its document."""

    def text(self) -> str: ...

    def document(self) -> object: ...


def emit(output_format: str, shown: Shown) -> None:
    if output_format == "json":
        # A value copied from a document may be NaN or an infinity, which JSON has not: null.
        document = finite(shown.document())
        typer.echo(
            json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        )
    elif output_format == "text":
        typer.echo(shown.text(), nl=False)
    else:
        raise UsageError(f"unknown format {output_format!r} (choose from text, json)")


def write_or_print(text: str, output: Path | None, *, force: bool) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        check_output(output, overwrite=force)
        write_text_atomic(output, text, overwrite=force)
        typer.echo(f"wrote {output}", err=True)


def note(message: str) -> None:
    typer.echo(f"[strata] {message}", err=True)
