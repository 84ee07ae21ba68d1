"""Command line: parse, call one library function, print, exit. No logic lives here."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer

from strataml.atomic import check_output, write_text_atomic
from strataml.confine import check_user_path
from strataml.doctor.engine import parse_codes, run_doctor
from strataml.doctor.explain import explain
from strataml.doctor.report import REPORTERS
from strataml.doctor.rules import RULES
from strataml.errors import StrataError, UsageError
from strataml.suggest import did_you_mean
from strataml.wording import counted
from strataml.workspace import find_root, relative, scan_layout

if TYPE_CHECKING:
    from strataml.importers.record import Outcome
    from strataml.refs import Kind
    from strataml.registry.stages import Promotion


def _lazy(name: str) -> ModuleType:
    """A module loaded on first use: `tools/doctor.py` should not pay for the registry or gpg."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


lfs = _lazy("strataml.lfs")
catalogue = _lazy("strataml.index.catalogue")
site_builder = _lazy("strataml.index.site")
key_store = _lazy("strataml.integrity.keys")
signing = _lazy("strataml.signing")
verifying = _lazy("strataml.doctor.verify")
stamp = _lazy("strataml.integrity.stamp")
datasets = _lazy("strataml.registry.datasets")
exports = _lazy("strataml.registry.exports")
lineage = _lazy("strataml.registry.lineage")
models = _lazy("strataml.registry.models")
runs = _lazy("strataml.registry.runs")
stages = _lazy("strataml.registry.stages")
store = _lazy("strataml.registry.store")
session = _lazy("strataml.runner.session")
execute = _lazy("strataml.runner.execute")
imported = _lazy("strataml.importers.record")
mlflow_store = _lazy("strataml.importers.mlflow")
dvc_project = _lazy("strataml.importers.dvc")
reproducer = _lazy("strataml.runner.reproduce")
verdicts = _lazy("strataml.registry.verdict")

app = typer.Typer(
    name="strata",
    help="Keep ML datasets, runs and models in Git as plain files that validate themselves.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def doctor(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATH", help="Repository or a path inside it; with --files, changed files."
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="text, json, sarif, github or gitlab.")
    ] = "text",
    select: Annotated[
        str, typer.Option(metavar="CODES", help="Only these codes or prefixes, comma-separated.")
    ] = "",
    ignore: Annotated[
        str, typer.Option(metavar="CODES", help="Skip these codes or prefixes, comma-separated.")
    ] = "",
    explain_code: Annotated[
        str | None, typer.Option("--explain", metavar="CODE", help="Describe a rule and exit.")
    ] = None,
    require_content: Annotated[
        bool,
        typer.Option("--require-content", help="Git LFS content that is not pulled is an error."),
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Read every file; ignore (and refresh) the hash cache."),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="REF", help="Check only artifacts changed since this commit."
        ),
    ] = None,
    files: Annotated[
        bool,
        typer.Option(
            "--files", help="PATHs are changed files (pre-commit): check the artifacts they touch."
        ),
    ] = False,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            metavar="REF",
            help="Take trust, keys, policy, ignores and schemas from REF; report changes to them.",
        ),
    ] = None,
) -> None:
    """Validate layout, metadata and checksums (TFC-0006)."""
    if explain_code is not None:
        if explain_code.upper() not in RULES:
            close = did_you_mean(explain_code.upper(), RULES)
            raise UsageError(f"unknown rule code: {explain_code}{close}")
        typer.echo(explain(explain_code.upper()), nl=False)
        return
    if output_format not in REPORTERS:
        raise UsageError(f"unknown format {output_format!r} (choose from {', '.join(REPORTERS)})")
    if len(paths or ()) > 1 and not files:
        raise UsageError("give one PATH, or changed files with --files")
    report = run_doctor(
        Path() if files or not paths else paths[0], strict=strict, select=parse_codes(select),
        ignore=parse_codes(ignore), require_content=require_content, use_cache=not no_cache,
        since=since, changed=(paths or []) if files else None, base=base,
    )  # fmt: skip
    color = output_format == "text" and sys.stdout.isatty()
    typer.echo(REPORTERS[output_format](report, color=color), nl=False)
    raise typer.Exit(report.exit_code)


app.command("doctor")(doctor)


@app.command()
def checksum(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", help="Artifact directories.")],
    check: Annotated[bool, typer.Option("--check", help="Verify instead of writing.")] = False,
) -> None:
    """Write CHECKSUMS.txt and content_hash (TFC-0008), or verify them with --check."""
    failed = False
    for path in paths:
        if check:
            # Content that is not here is not verified: never OK (TFC-0008 R12).
            report = run_doctor(path, select=("CHK", "LAY01", "LFS002"), require_content=True)
            typer.echo(REPORTERS["text"](report), nl=False)
            failed = failed or report.failed
        else:
            done = stamp.stamp_directory(path)
            note = " (metadata.yaml content_hash updated)" if done.metadata_updated else ""
            typer.echo(f"{path}: {done.files} files, {done.content_hash}{note}")
    raise typer.Exit(1 if failed else 0)


def run(
    experiment: Annotated[
        Path | None,
        typer.Option("--experiment", metavar="FILE", help="Experiment spec (experiments/*.yaml)."),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Override a parameter (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the resolved config and fingerprint; create nothing."
        ),
    ] = False,
    reuse_earlier: Annotated[
        bool,
        typer.Option("--reuse", help="Return an earlier succeeded run with the same fingerprint."),
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", metavar="TEXT", help="A label for the run.")
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", metavar="TAG", help="Add a tag (repeatable).")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, metavar="N", help="Sweep points run side by side.")
    ] = 1,
    reproduce_run: Annotated[
        str | None,
        typer.Option(
            "--reproduce", metavar="RUN", help="Re-execute a recorded run; judge PASS/DRIFT/FAIL."
        ),
    ] = None,
) -> None:
    """Run an experiment and record it under runs/ (TFC-0002)."""
    if reproduce_run is not None:
        if experiment or overrides or dry_run or reuse_earlier or name or tags or jobs != 1:
            raise UsageError("--reproduce RUN takes no other option: it runs the recorded config")
        _reproduce(reproduce_run)
    if experiment is None:
        raise UsageError("give --experiment FILE (or --reproduce RUN)")
    root = find_root(experiment.parent if experiment.parent.is_dir() else Path())
    planned = session.plan(
        root, experiment, overrides=overrides or [], name=name, tags=tuple(tags or ())
    )
    if dry_run:
        typer.echo(session.format_plan(planned), nl=False)
        return
    interrupts = execute.Interrupts()
    with execute.forwarding(interrupts):
        results = session.run_all(
            root, planned, jobs=jobs, reuse_earlier=reuse_earlier, interrupts=interrupts,
            echo=(sys.stdout.buffer, sys.stderr.buffer), notify=_note,
        )  # fmt: skip
    if len(planned) > 1:
        typer.echo(session.format_summary(results, len(planned)), err=True, nl=False)
    code = session.exit_code(results)
    if code == 0 and interrupts.received:
        code = 128 + interrupts.received
    raise typer.Exit(code)


def _reproduce(run_ref: str) -> None:
    root = find_root(Path())
    reproduction = reproducer.plan_reproduction(root, run_ref)
    interrupts = execute.Interrupts()
    with execute.forwarding(interrupts):
        verdict = reproducer.reproduce(
            root, reproduction, interrupts=interrupts,
            echo=(sys.stdout.buffer, sys.stderr.buffer), notify=_note,
        )  # fmt: skip
    typer.echo(verdicts.format_report(verdict), nl=False)
    raise typer.Exit(128 + interrupts.received if interrupts.received else verdict.exit_code)


app.command("run")(run)


runs_app = typer.Typer(
    help="Read recorded runs: list, show, compare, best (TFC-0003).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(runs_app, name="runs")

FormatOption = Annotated[
    str, typer.Option("--format", metavar="FORMAT", help="text or json.")
]  # fmt: skip


def _emit(output_format: str, text: str, document: object) -> None:
    if output_format == "json":
        typer.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
    elif output_format == "text":
        typer.echo(text, nl=False)
    else:
        raise UsageError(f"unknown format {output_format!r} (choose from text, json)")


@runs_app.command("list")
def runs_list(
    experiment: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only runs of this experiment.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(metavar="STATUS", help="Only runs with this status (succeeded, failed, …)."),
    ] = None,
    output_format: FormatOption = "text",
) -> None:
    """Runs, newest first."""
    records = runs.load_runs(find_root(Path()), experiment=experiment, status=status)
    text = runs.format_list(records)
    if not records and experiment is not None:
        unknown = runs.unknown_experiment(runs.load_runs(find_root(Path())), experiment)
        text = f"{unknown}\n" if unknown else text
    _emit(output_format, text, [r.summary() for r in reversed(records)])


@runs_app.command("show")
def runs_show(
    run_ref: Annotated[
        str,
        typer.Argument(metavar="RUN", help="Run id, runs/<id>, a unique part of it, or latest."),
    ],
    output_format: FormatOption = "text",
) -> None:
    """One run: outcome, code, inputs, params, metrics."""
    record = runs.resolve_run(find_root(Path()), run_ref)
    document = {
        **record.summary(),
        "config": record.config,
        "system": record.system,
        "metrics": record.metrics,
    }
    _emit(output_format, runs.format_show(record), document)


@runs_app.command("compare")
def runs_compare(
    run_refs: Annotated[
        list[str], typer.Argument(metavar="RUN", help="Two or more runs.", show_default=False)
    ],
    show_all: Annotated[bool, typer.Option("--all", help="Show identical fields too.")] = False,
    output_format: FormatOption = "text",
) -> None:
    """Params, metrics, inputs, code and environment side by side; only what differs."""
    if len(run_refs) < 2:
        raise UsageError("compare needs at least two runs")
    root = find_root(Path())
    comparison = runs.compare_runs(
        [runs.resolve_run(root, ref) for ref in run_refs], show_all=show_all
    )
    _emit(output_format, runs.format_compare(comparison), comparison.document())


@runs_app.command("best")
def runs_best(
    experiment: Annotated[str, typer.Option(metavar="NAME", help="Experiment name.")],
    metric: Annotated[str, typer.Option(metavar="NAME", help="Final metric to rank by.")],
    minimize: Annotated[bool, typer.Option("--minimize", help="Lower is better.")] = False,
    output_format: FormatOption = "text",
) -> None:
    """The succeeded run with the best final value of a metric."""
    root = find_root(Path())
    best = runs.best_run(root, experiment, metric, minimize=minimize)
    if best is None:
        typer.echo(f"strata: {runs.why_no_best(root, experiment, metric)}", err=True)
        raise typer.Exit(1)
    _emit(output_format, best.text(), best.document())


def _sub_app(help_text: str) -> typer.Typer:
    return typer.Typer(
        help=help_text, no_args_is_help=True, add_completion=False,
        pretty_exceptions_enable=False, rich_markup_mode=None,
    )  # fmt: skip


dataset_app = _sub_app("Dataset versions: add, list, show (TFC-0004).")
model_app = _sub_app(
    "Model versions and stages: register, list, show, promote, alias, history (TFC-0005)."
)
app.add_typer(dataset_app, name="dataset")
app.add_typer(model_app, name="model")


@dataset_app.command("add")
def dataset_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Dataset name.")],
    source: Annotated[Path, typer.Argument(metavar="SRC", help="File or directory to version.")],
    version: Annotated[
        str | None, typer.Option(metavar="vN", help="Version (default: next).")
    ] = None,
    license_id: Annotated[
        str | None, typer.Option("--license", metavar="SPDX", help="Licence of the data.")
    ] = None,
    description: Annotated[str | None, typer.Option(metavar="TEXT")] = None,
    derived_from: Annotated[
        list[str] | None,
        typer.Option("--derived-from", metavar="REF", help="Parent dataset version."),
    ] = None,
    from_run: Annotated[
        str | None, typer.Option("--from-run", metavar="RUN", help="Run that produced the data.")
    ] = None,
    source_names: Annotated[
        list[str] | None, typer.Option("--source", metavar="NAME|URL", help="External origin.")
    ] = None,
    splits: Annotated[
        list[str] | None,
        typer.Option(
            "--split", metavar="NAME=PATH", help="A split (default: train/val/test folders)."
        ),
    ] = None,
) -> None:
    """Create the next immutable version of a dataset from files."""
    added = datasets.add_dataset(
        find_root(Path()), name, source, version=version, description=description,
        license_id=license_id, derived_from=derived_from or (), from_run=from_run,
        sources=source_names or (), splits=splits or (),
    )  # fmt: skip
    split_text = ", ".join(f"{k} {counted(v['files'], 'file')}" for k, v in added.splits.items())
    typer.echo(f"{added.path}: {counted(added.files, 'file')}, {added.bytes} bytes ({split_text})")
    typer.echo(f"  {added.ref}")


@dataset_app.command("list")
def dataset_list(output_format: FormatOption = "text") -> None:
    """Every dataset version."""
    rows = datasets.list_datasets(find_root(Path()))
    text = (
        "".join(
            f"{r['ref']}  {r.get('license', '?')}  "
            + ", ".join(f"{k}={v.get('files', '?')}" for k, v in (r.get("splits") or {}).items())
            + (f"  PROBLEM {r['problem']}" if "problem" in r else "")
            + "\n"
            for r in rows
        )
        or "no datasets\n"
    )
    _emit(output_format, text, rows)


VersionArgument = Annotated[
    str | None, typer.Argument(metavar="[VERSION]", help="vN, when REF is only a name.")
]


def _versioned(ref: str, version: str | None) -> str:
    """NAME vN and NAME@vN name the same version, wherever a version is named."""
    if version is None:
        return ref
    if "@" in ref:
        raise UsageError(f"{ref!r} already names a version; give NAME VERSION or NAME@VERSION")
    return f"{ref}@{version}"


@dataset_app.command("show")
def dataset_show(
    ref: Annotated[str, typer.Argument(metavar="REF", help="datasets/NAME@vN, NAME@vN or NAME.")],
    version: VersionArgument = None,
    output_format: FormatOption = "text",
) -> None:
    """One dataset version."""
    _show_version("datasets", _versioned(ref, version), output_format)


def _show_version(kind: Kind, ref: str, output_format: str) -> None:
    root = find_root(Path())
    parsed = store.existing(root, store.parse_ref(ref, kind, name_only_ok=True))
    describe = datasets.describe if kind == "datasets" else models.describe
    row = describe(root, parsed.name, parsed.version)
    text = models.format_show(row) if kind == "models" else _mapping_text(row)
    _emit(output_format, text, row)


def _mapping_text(row: dict[str, object]) -> str:
    return "".join(
        f"{key:<13} {json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, dict | list) else value}\n"
        for key, value in row.items()
    )


@model_app.command("register")
def model_register(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    from_run: Annotated[str, typer.Option("--from-run", metavar="RUN", help="Succeeded run.")],
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
    if len(parents or []) != len(relations or []):
        raise UsageError("give one --relation for each --parent")
    registered = models.register_model(
        find_root(Path()), name, from_run, artifacts=artifacts or (),
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


@model_app.command("list")
def model_list(output_format: FormatOption = "text") -> None:
    """Every model version with its stage."""
    rows = models.list_models(find_root(Path()))
    text = (
        "".join(
            f"{r['ref']}  {r.get('stage', '?')}  {r.get('task', '?')}  "
            + " ".join(f"{m['split']}/{m['name']}={m['value']:.4g}" for m in r.get("metrics", []))
            + "\n"
            for r in rows
        )
        or "no models\n"
    )
    _emit(output_format, text, rows)


@model_app.command("show")
def model_show(
    ref: Annotated[str, typer.Argument(metavar="REF", help="models/NAME@vN, NAME@vN or NAME.")],
    version: VersionArgument = None,
    output_format: FormatOption = "text",
) -> None:
    """One model version: stage, task, training run and data, metrics (--format json: all)."""
    _show_version("models", _versioned(ref, version), output_format)


def _promotions(args: list[str], to: str) -> list[Promotion]:
    items = []
    pending = list(args)
    while pending:
        head = pending.pop(0)
        if "@" in head:
            ref = store.parse_ref(head, "models", name_only_ok=True)
            items.append(stages.Promotion(ref.name, ref.version, to))
        elif pending:
            items.append(stages.Promotion(head, pending.pop(0), to))
        else:
            raise UsageError(f"{head!r}: give NAME VERSION or NAME@VERSION")
    return items


@model_app.command("promote")
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
    result = stages.promote(
        find_root(Path()), _promotions(targets, to), reason=reason, override=override,
        commit=commit, with_lineage=with_lineage,
    )  # fmt: skip
    for name, entry in result.entries:
        typer.echo(f"models/{name}@{entry['version']}: {entry['from']} -> {entry['to']}")
    if result.commit:
        typer.echo(f"committed {result.commit[:12]}")


readiness = _lazy("strataml.registry.readiness")


@model_app.command("check")
def model_check(
    target: Annotated[
        list[str], typer.Argument(metavar="NAME VERSION", help="NAME vN, or NAME@vN.")
    ],
    stage: Annotated[
        str, typer.Option("--stage", metavar="STAGE", help="staging or production.")
    ] = "production",
) -> None:
    """What a version still lacks for a stage, one line each: promote's checks, nothing written.

    Example: strata model check iris-classifier v2 --stage production
    """
    items = _promotions(target, stage)
    if len(items) != 1:
        raise UsageError("name one model version: NAME VERSION or NAME@VERSION")
    item = items[0]
    missing = readiness.missing_for_stage(find_root(Path()), item.name, item.version, stage)
    for lack in missing:
        typer.echo(f"{lack.path}: {lack.message}")
    ref = f"models/{item.name}@{item.version}"
    if missing:
        plural = "s" if len(missing) > 1 else ""
        typer.echo(f"{ref}: {len(missing)} thing{plural} missing for {stage}")
        raise typer.Exit(1)
    typer.echo(f"{ref}: ready for {stage}")


@model_app.command("alias")
def model_alias(
    name: Annotated[str, typer.Argument(metavar="NAME", help="NAME, or NAME@vN for the target.")],
    alias: Annotated[str, typer.Argument(metavar="ALIAS", help="e.g. champion.")],
    version: Annotated[str | None, typer.Argument(metavar="vN", help="Target version.")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
) -> None:
    """Point an alias at a version (NAME ALIAS vN, or NAME@vN ALIAS), or remove it with --delete."""
    if "@" in name:
        ref = store.parse_ref(_versioned(name, version), "models", name_only_ok=True)
        name, version = ref.name, ref.version
    if (version is None) != delete:
        raise UsageError("give a version, or --delete")
    stages.set_alias(find_root(Path()), name, alias, None if delete else version)
    typer.echo(
        f"models/{name}: {alias} -> {version}" if version else f"models/{name}: {alias} removed"
    )


@model_app.command("history")
def model_history(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="WHEN", help="Date or date-time: what held each stage then."),
    ] = None,
    output_format: FormatOption = "text",
) -> None:
    """Stage transitions, or (with --at) the stages as committed at a time, from Git history."""
    root = find_root(Path())
    if at is None:
        entries = list(stages.history_entries(root, name))
        text = (
            "".join(
                f"{e['at']}  {e['version']}  {e['from']} -> {e['to']}  by {e['by']}: {e['reason']}\n"
                for e in entries
            )
            or f"models/{name}: no stage changes yet\n"
        )
        _emit(output_format, text, entries)
        return
    moment = stages.parse_moment(at)
    found = stages.stages_at(root, name, moment)
    state = found.stages
    document = {
        "model": name, "at": moment.isoformat(), "commit": found.commit,
        "committed": found.committed.isoformat() if found.committed else None,
        "production": state.production, "staging": state.staging,
        "archived": state.archived, "aliases": state.aliases,
    }  # fmt: skip
    source = (
        f"as committed in {found.commit[:12]} ({document['committed']})"
        if found.commit else "no stages.yaml committed by then: every version experimental"
    )  # fmt: skip
    text = (
        f"models/{name} at {moment.isoformat()}, {source}\n"
        f"  production  {state.production or '-'}\n  staging     {state.staging or '-'}\n"
        f"  archived    {', '.join(state.archived) or '-'}\n"
    )
    _emit(output_format, text, document)


@app.command("lineage")
def lineage_command(
    ref: Annotated[
        str, typer.Argument(metavar="REF", help="datasets/NAME@vN, models/NAME@vN or a run id.")
    ],
    version: VersionArgument = None,
    up: Annotated[bool, typer.Option("--up", help="Only what it came from.")] = False,
    down: Annotated[bool, typer.Option("--down", help="Only what came from it.")] = False,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="text, dot, mermaid or prov-json.")
    ] = "text",
) -> None:
    """Walk dataset -> run -> model -> derived models (TFC-0005 R5)."""
    if output_format not in lineage.FORMATS:
        raise UsageError(
            f"unknown format {output_format!r} (choose from {', '.join(lineage.FORMATS)})"
        )
    start = lineage.normalise(_versioned(ref, version))
    both = not up and not down
    graph = lineage.subgraph(
        lineage.build_graph(find_root(Path())), start, up=up or both, down=down or both
    )
    typer.echo(lineage.render(graph, start, output_format), nl=False)


export_app = _sub_app("Standard documents from the metadata: hf-card, croissant.")
app.add_typer(export_app, name="export")
import_app = _sub_app("Runs recorded by MLflow or DVC as sealed run directories (TFC-0003 R14).")
app.add_typer(import_app, name="import")


@import_app.command("mlflow")
def import_mlflow(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="An MLflow file store (mlruns/).")],
    experiment: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this experiment (name or id).")
    ] = None,
) -> None:
    """Import every finished run of an MLflow file store; runs imported before are skipped."""
    root = find_root(Path())
    found = mlflow_store.iter_runs(mlflow_store.find_store(path), experiment=experiment)
    _import_report(imported.import_runs(root, found))


@import_app.command("dvc")
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
    root = find_root(Path())
    found = dvc_project.iter_runs(dvc_project.find_project(path), exp_json=exp_json)
    _import_report(imported.import_runs(root, found))


def _import_report(outcomes: list[Outcome]) -> None:
    typer.echo(imported.format_outcomes(outcomes), nl=False)
    raise typer.Exit(imported.exit_code(outcomes))


def _write_or_print(text: str, output: Path | None, *, force: bool) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        check_output(output, overwrite=force)
        write_text_atomic(output, text, overwrite=force)
        typer.echo(f"wrote {output}", err=True)


OutputOption = Annotated[
    Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write here, not to stdout.")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")]


@export_app.command("hf-card")
def export_hf_card(
    ref: Annotated[str, typer.Argument(metavar="REF", help="models/NAME@vN or NAME vN.")],
    version: VersionArgument = None,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """A Hugging Face model card (README.md) for a model version."""
    card = exports.hf_card(find_root(Path()), _versioned(ref, version))
    _write_or_print(card, output, force=force)


@export_app.command("croissant")
def export_croissant(
    ref: Annotated[str, typer.Argument(metavar="REF", help="datasets/NAME@vN or NAME vN.")],
    version: VersionArgument = None,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """A Croissant 1.0 JSON-LD description of a dataset version."""
    document = exports.croissant_json(find_root(Path()), _versioned(ref, version))
    _write_or_print(document, output, force=force)


def _artifact_path(root: Path, path: Path) -> str:
    check_user_path(path)
    resolved = path.resolve()
    rel = relative(root, resolved) if resolved.is_relative_to(root) else None
    if rel is None or not any(a.path == rel for a in scan_layout(root).artifacts):
        raise UsageError(f"{path}: not a dataset version, model version or run directory")
    return rel


@app.command("sign")
def sign(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Artifact directories.", show_default=False)
    ],
    key: Annotated[
        str | None,
        typer.Option("--key", metavar="FPR", help="Signing key fingerprint (default: gpg's)."),
    ] = None,
) -> None:
    """Add your detached signature over CHECKSUMS.txt to SIGNATURE.asc (TFC-0008 R7)."""
    root = find_root(Path())
    targets = [_artifact_path(root, p) for p in paths]
    for target in targets:
        done = signing.sign(root, target, key)
        verb = "re-signed" if done.replaced else "signed"
        who = f"{done.fingerprint}" + (f" ({done.uid})" if done.uid else "")
        typer.echo(
            f"{target}: {verb} by {who}; {done.signatures} signature{'s' if done.signatures != 1 else ''}"
        )


@app.command("verify")
def verify(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Artifact directories.", show_default=False)
    ],
) -> None:
    """Checksums, then signatures against keys/ and the trust list only (TFC-0008 R8)."""
    root = find_root(Path())
    targets = [_artifact_path(root, p) for p in paths]
    text, failed = verifying.verify_artifacts(root, targets)
    typer.echo(text, nl=False)
    raise typer.Exit(1 if failed else 0)


keys_app = _sub_app("Trusted public keys: keys/ and [tool.strataml.signing] trusted (TFC-0008 R9).")
app.add_typer(keys_app, name="keys")


@keys_app.command("add")
def keys_add(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|FPR", help="Armored public key file, or a fingerprint in your keyring."
        ),
    ],
) -> None:
    """Add a public key to keys/ and trust its fingerprint."""
    row = key_store.add_key(find_root(Path()), source)
    typer.echo(f"{row.file}: {row.fingerprint} {row.uid or ''}".rstrip() + " (trusted)")


@keys_app.command("list")
def keys_list(output_format: FormatOption = "text") -> None:
    """Keys in keys/, with their state and whether they are trusted."""
    rows, problems = key_store.list_key_rows(find_root(Path()))
    lines = []
    for r in rows:
        state = "revoked" if r.revoked else "expired" if r.expired else "valid"
        lines.append(
            f"{r.fingerprint}  {'trusted' if r.trusted else 'not trusted'}  {state}  {r.uid or ''}".rstrip()
        )
    text = (
        "\n".join(lines + [f"problem: {p}" for p in problems]) + "\n"
        if lines or problems
        else "no keys\n"
    )
    _emit(output_format, text, {"keys": [r.__dict__ for r in rows], "problems": problems})


@keys_app.command("remove")
def keys_remove(fingerprint: Annotated[str, typer.Argument(metavar="FPR")]) -> None:
    """Stop trusting a key and delete its file from keys/."""
    removed = key_store.remove_key(find_root(Path()), fingerprint)
    typer.echo(
        f"untrusted {fingerprint.upper()}" + (f"; removed {', '.join(removed)}" if removed else "")
    )


lfs_app = _sub_app("Git LFS content of artifacts: status, pull (TFC-0008 R12).")
app.add_typer(lfs_app, name="lfs")


def _artifact_dirs(root: Path, refs: list[str]) -> list[str]:
    """Artifact directories from refs (datasets/x@v1, models/x@v1, run ids) or paths."""
    found = []
    for text in refs:
        if "@" in text:
            kind: Kind = "models" if text.startswith("models/") else "datasets"
            found.append(store.existing(root, store.parse_ref(text, kind)).path)
        else:
            found.append(_artifact_path(root, Path(text)))
    return found


@lfs_app.command("status")
def lfs_status(
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="REF|PATH", help="Artifacts (default: all).", show_default=False),
    ] = None,
    output_format: FormatOption = "text",
) -> None:
    """Artifact files by state: present, pointer (not pulled), plain (not in LFS)."""
    root = find_root(Path())
    targets = (
        _artifact_dirs(root, paths) if paths else [a.path for a in scan_layout(root).artifacts]
    )
    states = lfs.file_states(root, targets)
    text = "".join(f"{s.state:<8} {s.size:>12}  {s.path}\n" for s in states)
    counts = {k: sum(1 for s in states if s.state == k) for k in ("present", "pointer", "plain")}
    text += ", ".join(f"{n} {k}" for k, n in counts.items()) + "\n"
    _emit(output_format, text, [s.__dict__ for s in states])


@lfs_app.command("pull")
def lfs_pull(
    refs: Annotated[
        list[str],
        typer.Argument(metavar="REF", help="e.g. models/iris-classifier@v1.", show_default=False),
    ],
) -> None:
    """Fetch exactly the LFS objects these artifact versions need, then verify them."""
    root = find_root(Path())
    targets = _artifact_dirs(root, refs)
    lfs.pull(root, targets)
    failed = False
    for target in targets:
        report = run_doctor(root / target, select=("CHK", "LFS"), require_content=True)
        present = sum(1 for s in lfs.file_states(root, [target]) if s.state == "present")
        status = "verified" if not report.failed else "FAILED"
        typer.echo(
            f"{target}: {present} LFS files present, {report.files_hashed} files hashed, {status}"
        )
        if report.failed:
            typer.echo(REPORTERS["text"](report), nl=False)
        failed = failed or report.failed
    raise typer.Exit(1 if failed else 0)


bundle_app = _sub_app(
    "Air-gap bundles: history, LFS objects and manifest in one file (TFC-0008 R14)."
)
app.add_typer(bundle_app, name="bundle")
bundle_create_mod = _lazy("strataml.bundle.create")
bundle_verify_mod = _lazy("strataml.bundle.verify")
bundle_import_mod = _lazy("strataml.bundle.importer")


@bundle_app.command("create")
def bundle_create(
    refs: Annotated[
        list[str],
        typer.Argument(metavar="REF", help="Branches, tags or commits.", show_default=False),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="Bundle file.")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="BASE", help="Leave out BASE's history (the importer has it)."
        ),
    ] = None,
    allow_missing_lfs: Annotated[
        bool,
        typer.Option("--allow-missing-lfs", help="Leave out LFS objects not present here."),
    ] = False,
    force: ForceOption = False,
) -> None:
    """Write one self-verifying file: a Git bundle, its LFS objects and a manifest."""
    done = bundle_create_mod.create_bundle(
        Path(), refs, output, since=since, allow_missing_lfs=allow_missing_lfs, overwrite=force
    )
    typer.echo(done.text(output), nl=False)


@bundle_app.command("verify")
def bundle_verify(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A bundle file.")],
) -> None:
    """Check every member, the manifest digest and the Git bundle against this repository."""
    done = bundle_verify_mod.verify_bundle(file, Path())
    typer.echo(done.text(file), nl=False)
    if done.problems:
        raise typer.Exit(1)


@bundle_app.command("import")
def bundle_import(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A bundle file.")],
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch", metavar="NAME", help="Import the bundle's one branch as this branch."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite local branches and tags that diverged.")
    ] = False,
) -> None:
    """Verify, then fetch the bundle's refs and place its LFS objects; doctor if checked out."""
    done = bundle_import_mod.import_bundle(file, Path(), branch=branch, force=force)
    typer.echo(done.text(), nl=False)
    if done.checked_out is None:
        return
    report = run_doctor(done.root)
    typer.echo(REPORTERS["text"](report), nl=False)
    raise typer.Exit(report.exit_code)


def index(
    output: Annotated[
        Path | None,
        typer.Option("--output", metavar="FILE", help="Write index.json here (default: stdout)."),
    ] = None,
    site: Annotated[
        Path | None,
        typer.Option("--site", metavar="DIR", help="Build the static dashboard into DIR."),
    ] = None,
    doctor_report: Annotated[
        Path | None,
        typer.Option(
            "--doctor-report",
            metavar="FILE",
            help="Show findings of `strata doctor --format json`.",
        ),
    ] = None,
    force: ForceOption = False,
) -> None:
    """Catalogue every dataset, model, run and lineage edge; optionally build the site (TFC-0007)."""
    root = find_root(Path())
    if output is not None:
        check_output(output, overwrite=force)  # before the site is built: a refusal changes nothing
    document = catalogue.build_index(root)
    doctor = site_builder.load_doctor_report(doctor_report) if doctor_report else None
    if site is not None:
        count = site_builder.build_site(root, document, site, doctor)
        typer.echo(f"{site}/: {count} files; open {site}/index.html", err=True)
    if output is not None:
        write_text_atomic(output, catalogue.dumps(document), overwrite=force)
    elif site is None:
        typer.echo(catalogue.dumps(document), nl=False)


app.command("index")(index)


@app.command("serve")
def serve(
    directory: Annotated[Path, typer.Option("--dir", metavar="DIR", help="The built site.")] = Path(
        "site"
    ),
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Loopback port (0: any free one).")
    ] = 8000,
) -> None:
    """Serve the built site on 127.0.0.1 (the site also works opened from disk)."""
    import functools
    import http.server

    if not (directory / "index.html").is_file():
        raise UsageError(
            f"{directory}/index.html not found; build it with `python tools/index.py --site {directory}`"
        )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        typer.echo(
            f"serving {directory}/ on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)",
            err=True,
        )
        server.serve_forever()


def _note(message: str) -> None:
    typer.echo(f"[strata] {message}", err=True)


def _run(app_: typer.Typer, argv: list[str] | None, prog_name: str) -> int:
    try:
        # Without standalone mode typer returns the code of a raised typer.Exit.
        code = typer.main.get_command(app_).main(
            args=argv, prog_name=prog_name, standalone_mode=False
        )
    except typer.Exit as exc:
        return int(exc.exit_code)
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


def main(argv: list[str] | None = None) -> int:
    return _run(app, argv, "strata")


def run_main(argv: list[str] | None = None) -> int:
    single = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None
    )
    single.command()(run)
    return _run(single, argv, "run")


def doctor_main(argv: list[str] | None = None) -> int:
    single = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None
    )
    single.command()(doctor)
    return _run(single, argv, "doctor")


def index_main(argv: list[str] | None = None) -> int:
    single = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None
    )
    single.command()(index)
    return _run(single, argv, "index")
