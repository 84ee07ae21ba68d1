"""Model versions: register the next immutable version from a run's outputs (TFC-0005)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml.atomic import write_text_atomic
from strataml.confine import confined
from strataml.errors import StrataError
from strataml.integrity.digest import PLACEHOLDER
from strataml.integrity.stamp import stamp_directory
from strataml.refs import ArtifactRef, Kind
from strataml.registry.cards import render_card
from strataml.registry.producer import check_copies, run_outputs, sealed_run, stage_link
from strataml.registry.resolve import resolve_as
from strataml.registry.runrecord import RunRecord
from strataml.registry.stages import stage_of
from strataml.registry.store import (
    RegistryError,
    check_name,
    existing,
    load_mapping,
    names,
    next_version,
    publish,
    staging,
    versions,
)
from strataml.registry.versionviews import ModelVersionView
from strataml.yamltext import dump_yaml

KIND: Kind = "models"
RELATIONS = ("fine-tune", "distill", "quantize", "prune", "merge")
RESERVED = frozenset({"metadata.yaml", "metrics.yaml", "card.md", "CHECKSUMS.txt", "SIGNATURE.asc"})
FRAMEWORKS = {
    ".pt": "pytorch", ".pth": "pytorch", ".safetensors": "safetensors", ".onnx": "onnx",
    ".joblib": "sklearn", ".pkl": "pickle", ".npz": "numpy", ".npy": "numpy", ".h5": "keras",
    ".keras": "keras", ".gguf": "gguf", ".json": "json", ".txt": "text", ".bin": "binary",
    ".skops": "sklearn",  # read from the file: the package of the object it holds
}  # fmt: skip
_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse", "perplexity", "wer", "cer", "latency")
_HIGHER_IS_BETTER = ("acc", "f1", "auc", "precision", "recall", "bleu", "rouge", "map", "r2", "iou")
_META_MODELINE = "../../../schemas/model-metadata.schema.json"
_METRICS_MODELINE = "../../../schemas/model-metrics.schema.json"


@dataclass(frozen=True)
class RegisteredModel:
    ref: ArtifactRef  # pinned
    path: str
    artifacts: tuple[str, ...]
    metrics: int
    skipped_metrics: tuple[str, ...]  # run metrics with no <split>/ prefix a dataset declares


def _dataset_inputs(root: Path, run: RunRecord) -> list[ArtifactRef]:
    refs = []
    for name, text in run.inputs.items():
        try:
            ref = ArtifactRef.parse(text)
        except ValueError as exc:
            raise RegistryError(
                f"{run.path}/config.yaml: input {name} is not a reference; run `strata doctor`"
            ) from exc
        if ref.kind == "datasets":
            try:
                refs.append(existing(root, ref))
            except RegistryError as exc:
                raise RegistryError(f"{run.run_id} input {name}: {exc}") from exc
    return refs


def _direction(metric: str) -> bool | None:
    lowered = metric.lower()
    if any(word in lowered for word in _LOWER_IS_BETTER):
        return False
    if any(word in lowered for word in _HIGHER_IS_BETTER):
        return True
    return None


def model_metrics(
    root: Path, run: RunRecord, datasets: list[ArtifactRef]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run metrics named <split>/<metric>, tied to the training dataset that declares the split."""
    declared = []
    for ref in datasets:
        splits = load_mapping(root / ref.path / "metadata.yaml").get("splits")
        declared.append((ref, set(splits) if isinstance(splits, dict) else set()))
    entries: list[dict[str, Any]] = []
    skipped: list[str] = []
    for name, value in sorted(run.final.items()):
        split, _, metric = name.partition("/")
        owner = next((ref for ref, splits in declared if split in splits), None)
        if (
            not metric
            or owner is None
            or isinstance(value, bool)
            or not isinstance(value, int | float)
        ):
            skipped.append(name)
            continue
        entry: dict[str, Any] = {
            "name": metric,
            "value": value,
            "dataset": str(owner),
            "split": split,
        }
        direction = _direction(metric)
        if direction is not None:
            entry["higher_is_better"] = direction
        entries.append(entry)
    return entries, skipped


def register_model(
    root: Path,
    name: str,
    from_run: str,
    *,
    artifacts: Sequence[str] = (),
    parents: Sequence[tuple[str, str]] = (),
    version: str | None = None,
    description: str | None = None,
    framework: str | None = None,
    task: str | None = None,
    license_id: str | None = None,
    today: dt.date | None = None,
) -> RegisteredModel:
    """Create models/<name>/<next version>/ from a run's outputs: all or nothing."""
    check_name(KIND, name)
    run = sealed_run(root, from_run, makes="a model")
    chosen = run_outputs(root, run, artifacts, option="--artifact", reserved=RESERVED)
    datasets = _dataset_inputs(root, run)
    lineage = []
    for ref_text, relation in parents:
        if relation not in RELATIONS:
            raise RegistryError(f"--relation {relation!r}: choose one of {', '.join(RELATIONS)}")
        parent = resolve_as(root, ref_text, KIND)  # recorded pinned
        lineage.append({"ref": str(parent), "relation": relation})
    previous = _previous_metadata(root, name)
    task = task or previous.get("task")
    license_id = license_id or previous.get("license")
    if not task:
        raise RegistryError("say what the model does: --task (e.g. classification)")
    if not license_id:
        raise RegistryError("say under which licence the model may be used: --license SPDX-ID")
    entries, skipped = model_metrics(root, run, datasets)
    if not entries:
        raise RegistryError(
            f"{run.run_id} reported no metric named <split>/<metric> for a split of its datasets "
            "(e.g. test/accuracy); metrics.yaml needs at least one"
        )
    number = next_version(root, KIND, name, version)
    held = {_skops_framework(root / run.path / "artifacts" / rel) for rel in chosen
            if rel.lower().endswith(".skops")}  # fmt: skip
    suffixes = {Path(rel).suffix.lower() for rel in chosen}
    guessed = FRAMEWORKS.get(next(iter(suffixes))) if len(suffixes) == 1 else None
    if suffixes == {".skops"} and len(held) == 1:
        guessed = held.pop()
    metadata: dict[str, Any] = {
        "schema_version": 1,
        "name": name,
        "version": number,
        "description": description
        or previous.get("description")
        or f"{name} {number}, trained by {run.run_id}.",
        "created": (today or dt.date.today()).isoformat(),
        "framework": framework or guessed or previous.get("framework") or "unknown",
        "task": task,
        "license": license_id,
        "artifacts": [
            {"path": rel, "format": Path(rel).suffix.lstrip(".").lower() or "binary"}
            for rel in chosen
        ],
        "training": {"run": run.run_id, "datasets": [str(d) for d in datasets]},
    }
    if (link := stage_link(run)) is not None:
        metadata["training"]["stage"] = link  # TFC-0005 R17
    if lineage:
        metadata["lineage"] = {"parents": lineage}
    metadata["content_hash"] = str(PLACEHOLDER)  # replaced by the stamp below
    target = confined(root, root / KIND / name / number)
    with staging(root) as stage:
        for rel in chosen:
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / run.path / "artifacts" / rel, stage / rel)
        metrics_doc = {"schema_version": 1, "source_run": run.run_id, "metrics": entries}
        write_text_atomic(
            stage / "metrics.yaml", dump_yaml(metrics_doc, modeline=_METRICS_MODELINE)
        )
        write_text_atomic(stage / "metadata.yaml", dump_yaml(metadata, modeline=_META_MODELINE))
        write_text_atomic(stage / "card.md", render_card(metadata, entries))
        stamp = stamp_directory(stage)
        check_copies(root, run, stage, {rel: rel for rel in chosen})
        publish(stage, target)
    return RegisteredModel(
        ArtifactRef(KIND, name, number, stamp.content_hash),
        f"{KIND}/{name}/{number}",
        tuple(chosen),
        len(entries),
        tuple(skipped),
    )


def _skops_framework(path: Path) -> str:
    """The top package of the object a skops file holds, from its schema.json; reading it also
    refuses a file that is no skops archive, such as a pickle renamed (TFC-0005 R16)."""
    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise RegistryError(
            f"{path.name}: not a skops file (a zip archive holding schema.json): {exc}"
        ) from exc
    module = schema.get("__module__") if isinstance(schema, dict) else None
    if not isinstance(module, str) or not module or "protocol" not in schema:
        raise RegistryError(f"{path.name}: schema.json names no __module__ and protocol")
    return module.partition(".")[0]


def _previous_metadata(root: Path, name: str) -> dict[str, Any]:
    earlier = versions(root, KIND, name)
    if not earlier:
        return {}
    try:
        return load_mapping(root / KIND / name / earlier[-1] / "metadata.yaml")
    except StrataError:
        return {}


# --- reading ------------------------------------------------------------------------------------


def describe(root: Path, name: str, number: str) -> ModelVersionView:
    ref, path = f"{KIND}/{name}@{number}", f"{KIND}/{name}/{number}"
    try:
        metadata = load_mapping(root / path / "metadata.yaml")
    except StrataError as exc:  # a damaged version is still listed
        return ModelVersionView(ref, path, problem=str(exc).removeprefix(f"{root}/"))
    try:
        metrics = load_mapping(root / path / "metrics.yaml").get("metrics")
    except StrataError:
        metrics = None
    return ModelVersionView(
        ref, path, stage=stage_of(root, name, number),
        description=metadata.get("description"), framework=metadata.get("framework"),
        task=metadata.get("task"), license=metadata.get("license"),
        created=metadata.get("created"), content_hash=metadata.get("content_hash"),
        training=metadata.get("training"), lineage=metadata.get("lineage"),
        metrics=tuple(metrics) if isinstance(metrics, list) else (),
    )  # fmt: skip


def list_models(root: Path) -> list[ModelVersionView]:
    return [
        describe(root, name, number)
        for name in names(root, KIND)
        for number in versions(root, KIND, name)
    ]
