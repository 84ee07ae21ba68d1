"""`strata model`: register, list, show, promote, check, alias, history (TFC-0005)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli import options
from strataml.cli.options import FormatOption, VersionArgument, examples, sub_app
from strataml.cli.output import emit
from strataml.errors import UsageError
from strataml.wording import counted
from strataml.workspace import find_root

app = sub_app(
    "Model versions and stages: register, list, show, promote, alias, history (TFC-0005).",
    "strata model list",
)
VersionsArgument = Annotated[
    list[str], typer.Argument(metavar="NAME VERSION", help="NAME vN, or NAME@vN.")
]


@app.command(
    "register",
    epilog=examples(
        "strata model register iris-classifier --from-run latest",
        "strata model register petal-width --from-run latest --task regression --license CC-BY-4.0",
        "strata model register iris-centroid --from-stage pipelines/iris.yaml:train --task classification",
    ),
)
def model_register(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    from_run: Annotated[
        str | None, typer.Option("--from-run", metavar="RUN", help="Succeeded run.")
    ] = None,
    from_stage: options.FromStageOption = None,
    allow_stale: options.AllowStaleOption = False,
    artifacts: Annotated[
        list[str] | None,
        typer.Option(
            "--artifact", metavar="PATH", help="File under the run's artifacts/ (default: all)."
        ),
    ] = None,
    parents: Annotated[
        list[str] | None, typer.Option("--parent", metavar="REF", help="Parent model version.")
    ] = None,
    relations: Annotated[
        list[str] | None,
        typer.Option(
            "--relation",
            metavar="KIND",
            help="fine-tune, distill, quantize, prune or merge (one per --parent).",
        ),
    ] = None,
    version: Annotated[
        str | None, typer.Option(metavar="vN", help="Version (default: next).")
    ] = None,
    task: Annotated[str | None, typer.Option(metavar="TASK", help="e.g. classification.")] = None,
    framework: Annotated[str | None, typer.Option(metavar="NAME")] = None,
    license_id: Annotated[str | None, typer.Option("--license", metavar="SPDX")] = None,
    description: Annotated[str | None, typer.Option(metavar="TEXT")] = None,
) -> None:
    """Create the next immutable version of a model from a run's outputs."""
    from strataml.registry import models
    from strataml.registry.stageoutput import producing_run

    if len(parents or []) != len(relations or []):
        raise UsageError("give one --relation for each --parent")
    root = find_root(Path())
    run = producing_run(root, from_run, from_stage, allow_stale=allow_stale)
    if run is None:
        raise UsageError("say which run trained it: --from-run RUN or --from-stage PIPELINE:STAGE")
    registered = models.register_model(
        root, name, run, artifacts=artifacts or (),
        parents=list(zip(parents or [], relations or [], strict=True)), version=version,
        description=description, framework=framework, task=task, license_id=license_id,
    )  # fmt: skip
    typer.echo(
        f"{registered.path}: {counted(len(registered.artifacts), 'artifact file')}, "
        f"{counted(registered.metrics, 'metric')}"
    )
    typer.echo(f"  {registered.ref}")
    if registered.skipped_metrics:
        typer.echo(
            "  not in metrics.yaml (no <split>/ prefix naming a split of the training data): "
            + ", ".join(registered.skipped_metrics),
            err=True,
        )


@app.command(
    "path",
    epilog=examples(
        "strata model path iris-classifier@production",
        "strata model path models/iris-classifier@champion --no-pull",
    ),
)
def model_path(
    ref: Annotated[
        str,
        typer.Argument(
            metavar="REF", help="NAME@production, @staging, @ALIAS, @latest, @vN, or models/…"
        ),
    ],
    no_pull: Annotated[
        bool, typer.Option("--no-pull", help="Do not fetch missing LFS content; fail instead.")
    ] = False,
) -> None:
    """Print the absolute path of the version REF names, only once it verifies (checksums,
    required signatures, LFS content); exit 2 with the failing code otherwise."""
    from strataml.registry.fetch import fetch

    reference = ref if ref.startswith("models/") else f"models/{ref}"
    typer.echo(str(fetch(reference, root=find_root(Path()), pull=not no_pull)))


@app.command("list", epilog=examples("strata model list", "strata model list --format json"))
def model_list(output_format: FormatOption = "text") -> None:
    """Every model version with its stage."""
    from strataml.registry import listings, models

    emit(output_format, listings.ModelList(tuple(models.list_models(find_root(Path())))))


@app.command(
    "show",
    epilog=examples(
        "strata model show iris-classifier v1", "strata model show iris-classifier@v1 --format json"
    ),
)
def model_show(
    ref: Annotated[str, typer.Argument(metavar="REF", help="models/NAME@vN, NAME@vN or NAME.")],
    version: VersionArgument = None,
    output_format: FormatOption = "text",
) -> None:
    """One model version: stage, task, training run and data, metrics (--format json: all)."""
    from strataml.registry import listings, store

    wanted = store.versioned(ref, version)
    emit(output_format, listings.show_version(find_root(Path()), "models", wanted))


@app.command(
    "promote",
    epilog=examples(
        'strata model promote iris-classifier v2 --to production --reason "better recall" --commit',
        "strata model promote iris-classifier@v1 --to archived",
    ),
)
def model_promote(
    targets: Annotated[
        list[str], typer.Argument(metavar="NAME VERSION", help="One or more: NAME vN, or NAME@vN.")
    ],
    to: Annotated[
        str, typer.Option("--to", metavar="STAGE", help="staging, production or archived.")
    ],
    reason: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Why (kept in history).")
    ] = None,
    override: Annotated[
        bool, typer.Option("--override", help="Allow archived -> production.")
    ] = False,
    commit: Annotated[
        bool, typer.Option("--commit", help="Commit the stage files, all in one commit.")
    ] = False,
    with_lineage: Annotated[
        bool,
        typer.Option(
            "--with-lineage",
            help="Commit each version, its training run and datasets too (implies --commit).",
        ),
    ] = False,
) -> None:
    """Move model versions between stages (TFC-0005 R9)."""
    from strataml.registry import listings, stages
    from strataml.registry.resolve import resolve_versions

    root = find_root(Path())
    wanted = [
        stages.Promotion(r.name, r.version, to) for r in resolve_versions(root, targets, "models")
    ]
    result = stages.promote(
        root, wanted, reason=reason, override=override, commit=commit, with_lineage=with_lineage
    )
    typer.echo(listings.promotion_text(result), nl=False)


@app.command(
    "check",
    epilog=examples(
        "strata model check iris-classifier v2 --stage production",
        "strata model check iris-classifier@v2 --format json",
    ),
)
def model_check(
    target: VersionsArgument,
    stage: Annotated[
        str, typer.Option("--stage", metavar="STAGE", help="staging or production.")
    ] = "production",
    output_format: FormatOption = "text",
) -> None:
    """What a version still lacks for a stage, one line each: promote's checks, nothing written."""
    from strataml.registry import readiness
    from strataml.registry.resolve import resolve_versions

    found = resolve_versions(find_root(Path()), target, "models")
    if len(found) != 1:
        raise UsageError("name one model version: NAME VERSION or NAME@VERSION")
    done = readiness.readiness(find_root(Path()), found[0].name, found[0].version, stage)
    emit(output_format, done)
    if done.missing:
        raise typer.Exit(1)


@app.command(
    "alias",
    epilog=examples(
        "strata model alias iris-classifier champion v2",
        "strata model alias iris-classifier champion --delete",
    ),
)
def model_alias(
    name: Annotated[str, typer.Argument(metavar="NAME", help="NAME, or NAME@vN for the target.")],
    alias: Annotated[str, typer.Argument(metavar="ALIAS", help="e.g. champion.")],
    version: Annotated[str | None, typer.Argument(metavar="vN", help="Target version.")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
) -> None:
    """Point an alias at a version (NAME ALIAS vN, or NAME@vN ALIAS), or remove it with --delete."""
    from strataml.registry import stages, store

    if "@" in name:
        ref = store.parse_ref(store.versioned(name, version), "models", name_only_ok=True)
        name, version = ref.name, ref.version
    if (version is None) != delete:
        raise UsageError("give a version, or --delete")
    stages.set_alias(find_root(Path()), name, alias, None if delete else version)
    typer.echo(
        f"models/{name}: {alias} -> {version}" if version else f"models/{name}: {alias} removed"
    )


@app.command(
    "history",
    epilog=examples(
        "strata model history iris-classifier",
        "strata model history iris-classifier --at 2026-11-30",
    ),
)
def model_history(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="WHEN", help="Date or date-time: what held each stage then."),
    ] = None,
    output_format: FormatOption = "text",
) -> None:
    """Stage transitions, or (with --at) the stages as committed at a time, from Git history."""
    from strataml.registry import listings, stages

    root = find_root(Path())
    if at is None:
        emit(output_format, listings.StageHistory(name, tuple(stages.history_entries(root, name))))
        return
    moment = stages.parse_moment(at)
    emit(output_format, listings.StagesView(name, moment, stages.stages_at(root, name, moment)))
