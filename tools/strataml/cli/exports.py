"""`strata export`: standard documents from the metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import ForceOption, OutputOption, VersionArgument, examples, sub_app
from strataml.cli.output import write_or_print
from strataml.workspace import find_root

app = sub_app(
    "Standard documents from the metadata: hf-card, croissant.",
    "strata export hf-card models/iris-classifier@v1 -o out/README.md",
)


@app.command(
    "hf-card",
    epilog=examples(
        "strata export hf-card models/iris-classifier@v1 -o out/README.md",
        "strata export hf-card iris-classifier v1",
    ),
)
def export_hf_card(
    ref: Annotated[str, typer.Argument(metavar="REF", help="models/NAME@vN or NAME vN.")],
    version: VersionArgument = None,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """A Hugging Face model card (README.md) for a model version."""
    from strataml.registry.exports import hf_card
    from strataml.registry.store import versioned

    card = hf_card(find_root(Path()), versioned(ref, version))
    write_or_print(card, output, force=force)


@app.command(
    "croissant", epilog=examples("strata export croissant datasets/iris@v1 -o out/croissant.json")
)
def export_croissant(
    ref: Annotated[str, typer.Argument(metavar="REF", help="datasets/NAME@vN or NAME vN.")],
    version: VersionArgument = None,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """A Croissant 1.0 JSON-LD description of a dataset version."""
    from strataml.registry.exports import croissant_json
    from strataml.registry.store import versioned

    document = croissant_json(find_root(Path()), versioned(ref, version))
    write_or_print(document, output, force=force)
