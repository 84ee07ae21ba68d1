"""A model's metrics.yaml against the record of the run that computed it (TFC-0005 R13).

Policy thresholds read metrics.yaml, so its numbers are claims; the run's sealed metrics.json
is the evidence. One run's metrics.json and config.yaml (and, for a separate evaluation run,
its system.json) per model version, nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strataml.doctor.checks.artifacts import metadata
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import MOD006, MOD007
from strataml.refs import is_run_id
from strataml.schemas import is_safe_relative_path
from strataml.workspace import Artifact

_HINT = (
    "metrics.yaml repeats its source run's final metrics (`strata model register` writes it); "
    "metrics evaluated by another run name that run in source_run"
)


def _mapping(ctx: Context, path: str) -> dict[str, Any] | None:
    document = ctx.document(path)
    ok = document is not None and document.ok and isinstance(document.data, dict)
    return document.data if ok and document is not None else None


def _input_datasets(config: dict[str, Any] | None) -> set[str] | None:
    """The dataset versions a run read, unpinned; None when its config.yaml cannot say."""
    inputs = config.get("inputs") if config is not None else None
    if not isinstance(inputs, dict):
        return None
    refs = (spec.get("ref") for spec in inputs.values() if isinstance(spec, dict))
    return {r.split("#", 1)[0] for r in refs if isinstance(r, str) and r.startswith("datasets/")}


def check_claimed_metrics(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    if artifact.kind != "model":
        return
    path = f"{artifact.path}/metrics.yaml"
    document = ctx.document(path)
    if document is None or not document.ok or not isinstance(document.data, dict):
        return  # MOD004 or SCH report it
    loaded = metadata(ctx, artifact)
    training = loaded[1].get("training") if loaded else None
    trained_by = training.get("run") if isinstance(training, dict) else None
    stated = document.data.get("source_run")
    run_id = stated if stated is not None else trained_by
    if not isinstance(run_id, str) or not is_run_id(run_id):
        return  # the schema reports it
    run_dir = ctx.root / "runs" / run_id
    if run_dir.is_symlink() or not run_dir.is_dir():
        if run_id != trained_by:  # a missing training run is LIN001's
            yield MOD006.at(
                path,
                f"source_run {run_id} does not exist, so no record backs these metrics",
                line=document.line_of(("source_run",)),
                hint=_HINT,
            )
        return
    if run_id != trained_by:  # the training run's status is LIN004's
        system = _mapping(ctx, f"runs/{run_id}/system.json")
        status = system.get("status") if system is not None else None
        if status != "succeeded":
            yield MOD006.at(
                path,
                f"source_run {run_id} is {status or 'unreadable'}, not succeeded",
                line=document.line_of(("source_run",)),
                hint=_HINT,
            )
            return
    record = _mapping(ctx, f"runs/{run_id}/metrics.json")
    final = record.get("final") if record is not None else None
    if not isinstance(final, dict):
        return  # the run's own checks report a run without its metrics (RUN, SCH)
    read = _input_datasets(_mapping(ctx, f"runs/{run_id}/config.yaml"))
    entries = document.data.get("metrics")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        found = _disagreement(run_id, entry, final, read)
        if found is not None:
            key, message = found
            yield MOD006.at(
                path, message, line=document.line_of(("metrics", index, key)), hint=_HINT
            )


def _disagreement(
    run_id: str, entry: object, final: dict[str, Any], read: set[str] | None
) -> tuple[str, str] | None:
    """(key of the entry at fault, message) when the run's record does not back the entry."""
    if not isinstance(entry, dict):
        return None
    name, split, dataset, value = (entry.get(k) for k in ("name", "split", "dataset", "value"))
    if not (isinstance(name, str) and isinstance(split, str) and isinstance(dataset, str)):
        return None  # the schema reports it
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    unpinned = dataset.split("#", 1)[0]
    claim = f"{name} on {unpinned} {split}"
    recorded = final.get(f"{split}/{name}")
    if isinstance(recorded, bool) or not isinstance(recorded, int | float):
        return "name", f"{claim} is {value!r}, but {run_id} recorded no {split}/{name}"
    if recorded != value:
        return "value", f"{claim} is {value!r}, but {run_id} recorded {split}/{name} = {recorded!r}"
    if read is not None and unpinned not in read:
        shown = ", ".join(sorted(read)) or "no dataset"
        return "dataset", f"{claim}: {run_id} did not read {unpinned} (it read {shown})"
    return None


def check_artifacts_from_run(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    """Each file a model version lists under `artifacts` is, byte for byte, what its training run
    wrote under artifacts/: the two listings name the same digest (TFC-0005 R14). Two listings
    read, nothing hashed: the checksum checks prove each listing against its bytes."""
    if artifact.kind != "model":
        return
    loaded = metadata(ctx, artifact)
    if not loaded:
        return
    data = loaded[1]
    training = data.get("training")
    run_id = training.get("run") if isinstance(training, dict) else None
    declared = data.get("artifacts")
    if not isinstance(run_id, str) or not is_run_id(run_id) or not isinstance(declared, list):
        return  # the schema reports it
    mine = _listing(ctx, artifact.path)
    theirs = _listing(ctx, f"runs/{run_id}")
    if mine is None or theirs is None:
        return  # CHK001 (or the run's RUN005, LIN001) says why there is no listing
    for entry in declared:
        rel = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(rel, str) or not is_safe_relative_path(rel):
            continue  # the schema reports it
        files = [p for p in mine if p == rel or p.startswith(rel.rstrip("/") + "/")]
        for path in sorted(files):
            made = theirs.get(f"artifacts/{path}")
            if made == mine[path]:
                continue
            said = (
                f"differs from runs/{run_id}/artifacts/{path} (blake3 {mine[path][:12]}…, the run "
                f"wrote {made[:12]}…)"
                if made is not None
                else f"is not among the outputs of {run_id} (no artifacts/{path} in its listing)"
            )
            yield MOD007.at(
                f"{artifact.path}/{path}",
                said,
                hint="register the version from the run that wrote it (`strata model register "
                "NAME --from-run RUN`); a file made elsewhere needs its own run",
            )


def _listing(ctx: Context, directory: str) -> dict[str, str] | None:
    listing = ctx.listing(directory)
    return None if isinstance(listing, OSError) else listing.digests()
