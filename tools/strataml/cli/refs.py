"""`strata resolve`: what a reference names now, pinned (TFC-0001, TFC-0005 R15)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import FormatOption, examples
from strataml.cli.output import emit
from strataml.workspace import find_root

RESOLVE_EXAMPLES = examples(
    "strata resolve models/iris-classifier@production",
    "strata resolve datasets/iris@latest --format json",
)
RefArgument = Annotated[
    str,
    typer.Argument(
        metavar="REF",
        help="e.g. models/NAME@production, @staging, @ALIAS, @latest, @v2, #blake3:<hex>.",
        show_default=False,
    ),
]


def resolve(ref: RefArgument, output_format: FormatOption = "text") -> None:
    """The version REF names now, pinned to its content hash (verifies nothing)."""
    from strataml.registry.resolve import resolve as resolve_ref

    emit(output_format, resolve_ref(ref, root=find_root(Path())))
