"""Options and arguments more than one command takes, written once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FormatOption = Annotated[
    str, typer.Option("--format", metavar="FORMAT", help="text or json.")
]  # fmt: skip
VersionArgument = Annotated[
    str | None, typer.Argument(metavar="[VERSION]", help="vN, when REF is only a name.")
]
OutputOption = Annotated[
    Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write here, not to stdout.")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")]
FromStageOption = Annotated[
    str | None,
    typer.Option(
        "--from-stage",
        metavar="PIPELINE:STAGE",
        help="The up-to-date run of a pipeline stage (as `strata status` judges it).",
    ),
]
AllowStaleOption = Annotated[
    bool, typer.Option("--allow-stale", help="With --from-stage: take a stale stage's latest run.")
]
ArtifactPaths = Annotated[
    list[Path], typer.Argument(metavar="PATH", help="Artifact directories.", show_default=False)
]


def examples(*commands: str) -> str:
    """The end of a --help: real commands, one a line, as typed (\\b: click keeps the lines)."""
    head = "Examples:" if len(commands) > 1 else "Example:"
    return f"{head}\n\n\b\n" + "\n".join(f"  {c}" for c in commands)


def sub_app(help_text: str, *commands: str) -> typer.Typer:
    """A command group as every group is made: plain help, examples last, exceptions as is."""
    return typer.Typer(
        help=help_text, epilog=examples(*commands), no_args_is_help=True, add_completion=False,
        pretty_exceptions_enable=False, rich_markup_mode=None,
    )  # fmt: skip
