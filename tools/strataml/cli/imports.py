"""`strata import`: runs recorded by MLflow or DVC, as sealed run directories (TFC-0003 R14)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from strataml.cli.options import examples, sub_app
from strataml.workspace import find_root

if TYPE_CHECKING:
    from strataml.importers.record import Outcome

app = sub_app(
    "Runs recorded by MLflow or DVC as sealed run directories (TFC-0003 R14).",
    "strata import mlflow path/to/mlruns",
)


@app.command(
    "mlflow",
    epilog=examples(
        "strata import mlflow path/to/mlruns",
        'strata import mlflow path/to/mlruns --experiment "Iris Sweep"',
    ),
)
def import_mlflow(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="An MLflow file store (mlruns/).")],
    experiment: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this experiment (name or id).")
    ] = None,
) -> None:
    """Import every finished run of an MLflow file store; runs imported before are skipped."""
    from strataml.importers import mlflow, record

    root = find_root(Path())
    found = mlflow.iter_runs(mlflow.find_store(path), experiment=experiment)
    _report(record.import_runs(root, found))


@app.command(
    "dvc",
    epilog=examples(
        "strata import dvc path/to/project",
        "strata import dvc path/to/project --exp-json exps.json",
    ),
)
def import_dvc(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A DVC project.")] = Path(),
    exp_json: Annotated[
        Path | None,
        typer.Option(
            "--exp-json", metavar="FILE", help="Saved `dvc exp show --json`: its experiments."
        ),
    ] = None,
) -> None:
    """Import a DVC project's params, metrics, dvclive history and dvc.lock (or its experiments)."""
    from strataml.importers import dvc, record

    root = find_root(Path())
    found = dvc.iter_runs(dvc.find_project(path), exp_json=exp_json)
    _report(record.import_runs(root, found))


def _report(outcomes: list[Outcome]) -> None:
    from strataml.importers.record import exit_code, format_outcomes

    typer.echo(format_outcomes(outcomes), nl=False)
    raise typer.Exit(exit_code(outcomes))
