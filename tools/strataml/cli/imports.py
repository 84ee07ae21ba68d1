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
    epilog="With --pipeline NAME, dvc.yaml's stages become pipelines/NAME.yaml, the files "
    "they read are copied under experiments/NAME/, and each stage whose dvc.lock entry matches "
    "the workspace becomes a sealed stage run, so that `strata status` tells what DVC would "
    "rerun. A cmd with no shell syntax is split into argv, one with any runs as [sh, -c, CMD]. "
    "Re-import after `dvc repro` or an edit: runs already there are kept (TFC-0003 R19).\n\n"
    + examples(
        "strata import dvc path/to/project",
        "strata import dvc path/to/project --exp-json exps.json",
        "strata import dvc path/to/project --pipeline churn",
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
    pipeline: Annotated[
        str | None,
        typer.Option(
            "--pipeline", metavar="NAME", help="Import dvc.yaml's stages as pipelines/NAME.yaml."
        ),
    ] = None,
) -> None:
    """Import a DVC project's params, metrics, dvclive history and dvc.lock (or its experiments,
    or with --pipeline its stages)."""
    from strataml.importers import dvc, record

    root = find_root(Path())
    project = dvc.find_project(path)
    if pipeline is not None:
        from strataml.errors import UsageError
        from strataml.importers import dvcpipeline

        if exp_json is not None:
            raise UsageError("--pipeline and --exp-json import different things: give one")
        _report(dvcpipeline.import_pipeline(root, project, pipeline))
    found = dvc.iter_runs(project, exp_json=exp_json)
    _report(record.import_runs(root, found))


def _report(outcomes: list[Outcome]) -> None:
    from strataml.importers.record import exit_code, format_outcomes

    typer.echo(format_outcomes(outcomes), nl=False)
    raise typer.Exit(exit_code(outcomes))
