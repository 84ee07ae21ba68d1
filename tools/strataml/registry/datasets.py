"""Dataset versions: add the next immutable version from files, list and show them (TFC-0004)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml.atomic import write_text_atomic
from strataml.confine import confined, symlink_on_the_way
from strataml.errors import StrataError
from strataml.gitrepo import user_identity
from strataml.integrity.digest import PLACEHOLDER
from strataml.integrity.stamp import stamp_directory
from strataml.refs import ArtifactRef, Kind
from strataml.registry.producer import (
    check_copies,
    run_outputs,
    sealed_run,
    stage_link,
    succeeded_run,
)
from strataml.registry.resolve import resolve_as
from strataml.registry.rows import COLUMN_TYPES, count_rows, csv_columns
from strataml.registry.runrecord import RunRecord
from strataml.registry.store import (
    RegistryError,
    check_name,
    load_mapping,
    names,
    next_version,
    publish,
    staging,
    versions,
)
from strataml.registry.versionviews import DatasetVersionView
from strataml.safeopen import LinkOnPathError, open_beneath
from strataml.wording import counted
from strataml.yamltext import dump_yaml

KIND: Kind = "datasets"
SPLIT_DIRS = ("train", "val", "test")
SPLIT_ALIASES = {"validation": "val", "valid": "val", "dev": "val", "testing": "test"}
SPLIT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")  # the schema's split-name pattern
RESERVED = frozenset({"metadata.yaml", "datasheet.md", "CHECKSUMS.txt", "SIGNATURE.asc"})
DATASHEET_SECTIONS = (
    "Motivation",
    "Composition",
    "Collection process",
    "Preprocessing/cleaning/labeling",
    "Uses",
    "Distribution",
    "Maintenance",
)
_MODELINE = "../../../schemas/dataset-metadata.schema.json"


@dataclass(frozen=True)
class AddedDataset:
    ref: ArtifactRef  # pinned
    path: str
    files: int
    bytes: int
    splits: dict[str, dict[str, int]]

    def text(self) -> str:
        split_text = ", ".join(f"{k} {counted(v['files'], 'file')}" for k, v in self.splits.items())
        totals = f"{counted(self.files, 'file')}, {self.bytes} bytes"
        return f"{self.path}: {totals} ({split_text})\n  {self.ref}\n"


def _regular_files(root: Path, source: Path) -> list[Path]:
    """Every file under `source`, refusing what a version may not hold (TFC-0001 R9)."""
    if source.is_symlink():
        raise RegistryError(f"{source}: is a symlink; give the real file or directory")
    inside = Path(os.path.abspath(source))  # noqa: PTH100 - resolve() follows the links we look for
    if inside.is_relative_to(root) and (link := symlink_on_the_way(root, inside)) is not None:
        raise RegistryError(f"{link}: is a symlink; give the real file or directory")
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise RegistryError(f"{source}: no such file or directory")
    found: list[Path] = []
    for directory, subdirs, files in os.walk(source):
        subdirs.sort()
        for name in sorted(files) + [d for d in subdirs if (Path(directory) / d).is_symlink()]:
            path = Path(directory) / name
            mode = path.lstat().st_mode
            if not stat.S_ISREG(mode):
                raise RegistryError(
                    f"{path}: not a regular file (symlinks, FIFOs and devices cannot be versioned)"
                )
            found.append(path)
    if not found:
        raise RegistryError(f"{source}: holds no files")
    return found


def _plan_layout(
    root: Path, source: Path, given: Sequence[str], files: list[Path] | None = None
) -> tuple[dict[str, str], dict[Path, str]]:
    """(split -> path in the version, source file -> path in the version); `files`: those of
    `source` to take (a run's chosen outputs), else all it holds."""
    if files is None:
        files = _regular_files(root, source)
    if source.is_file():
        placed = {source: f"data/{source.name}"}
        return {_split_for_file(source, given): "data"}, placed
    placed = {f: f.relative_to(source).as_posix() for f in files}
    for rel in placed.values():
        if rel in RESERVED:
            raise RegistryError(
                f"{source / rel}: {rel} is written by strata; rename the source file"
            )
    if given:
        splits = {}
        for item in given:
            split, _, path = item.partition("=")
            if not SPLIT_NAME.fullmatch(split) or not path:
                raise RegistryError(
                    f"--split {item!r}: expected NAME=PATH, NAME lower-case letters, digits, "
                    "'_' and '-', PATH inside the source"
                )
            if not any(
                rel == path.rstrip("/") or rel.startswith(path.rstrip("/") + "/")
                for rel in placed.values()
            ):
                raise RegistryError(f"--split {item!r}: {source / path} holds no files")
            splits[split] = path.rstrip("/")
        return splits, placed
    top = {rel.split("/", 1)[0] for rel in placed.values() if "/" in rel}
    detected = {
        SPLIT_ALIASES.get(d, d): d for d in sorted(top) if SPLIT_ALIASES.get(d, d) in SPLIT_DIRS
    }
    if detected:
        return detected, placed
    return {"all": "data"}, {f: f"data/{rel}" for f, rel in placed.items()}


def _copy_in(source: Path, src: Path, target: Path) -> None:
    """One file of `source`, opened beneath it: a directory swapped for a symlink after the walk
    is refused, not followed (TFC-0004 R11)."""
    base, rel = (
        (source.parent, source.name)
        if src == source
        else (source, src.relative_to(source).as_posix())
    )
    try:
        fd = open_beneath(base, rel)
    except LinkOnPathError as exc:
        raise RegistryError(
            f"{base / exc.component}: is a symlink; give the real file or directory"
        ) from exc
    except OSError as exc:
        raise RegistryError(f"{src}: cannot read: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as reader, target.open("xb") as writer:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise RegistryError(
                f"{src}: not a regular file (symlinks, FIFOs and devices cannot be versioned)"
            )
        shutil.copyfileobj(reader, writer, 1 << 20)


def _split_for_file(source: Path, given: Sequence[str]) -> str:
    if not given:
        return "all"
    if (
        len(given) != 1
        or not given[0].endswith("=" + source.name)
        or not SPLIT_NAME.fullmatch(given[0].split("=", 1)[0])
    ):
        raise RegistryError("a single source file is one split: --split NAME=" + source.name)
    return given[0].split("=", 1)[0]


def add_dataset(
    root: Path,
    name: str,
    source: Path | None,
    *,
    version: str | None = None,
    description: str | None = None,
    license_id: str | None = None,
    derived_from: Sequence[str] = (),
    from_run: str | None = None,
    outputs: Sequence[str] = (),
    sources: Sequence[str] = (),
    splits: Sequence[str] = (),
    today: dt.date | None = None,
) -> AddedDataset:
    """Create datasets/<name>/<next version>/ from `source`, or from the `outputs` of the run
    `from_run` (verified against its CHECKSUMS.txt, TFC-0004 R12): all or nothing."""
    check_name(KIND, name)
    if (source is None) == (not outputs):
        raise RegistryError(
            "give the data: a SOURCE file or directory, or --output with --from-run or --from-stage"
        )
    parents = [resolve_as(root, text, KIND) for text in derived_from]
    run_id, link, taken = None, None, None
    if outputs and from_run is None:
        raise RegistryError("--output names a file of a run's artifacts/: give --from-run RUN")
    if from_run is not None:
        run = (sealed_run if outputs else succeeded_run)(root, from_run, makes="a dataset")
        run_id = run.run_id
        if outputs:  # the stage is recorded only for bytes taken from its run (TFC-0004 R12)
            source, taken = _outputs_source(root, run, outputs)
            link = stage_link(run)
    if license_id is None and parents:
        inherited = {
            str(load_mapping(root / p.path / "metadata.yaml").get("license")) for p in parents
        }
        if len(inherited) == 1:
            license_id = inherited.pop()
    if license_id is None:
        raise RegistryError(
            "say under which licence the data may be used: --license SPDX-ID (e.g. CC-BY-4.0)"
        )
    if not (sources or parents or run_id):
        raise RegistryError(
            "say where the data came from: --source NAME|URL, --derived-from REF or --from-run RUN"
        )
    number = next_version(root, KIND, name, version)
    assert source is not None
    split_paths, placed = _plan_layout(root, source, splits, taken)
    target = confined(root, root / KIND / name / number)
    with staging(root) as stage:
        for src, rel in placed.items():
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            _copy_in(source, src, stage / rel)
        metadata = _metadata(
            name, number, stage, split_paths, placed, description=description, license_id=license_id,
            parents=parents, run_id=run_id, link=link, sources=sources, today=today or dt.date.today(), root=root,
        )  # fmt: skip
        write_text_atomic(stage / "metadata.yaml", dump_yaml(metadata, modeline=_MODELINE))
        write_text_atomic(stage / "datasheet.md", datasheet(name, number, metadata))
        stamp = stamp_directory(stage)
        if taken is not None:  # a run's outputs: the copies are what the run sealed
            artifacts = root / f"runs/{run_id}/artifacts"
            check_copies(root, run, stage, {rel: src.relative_to(artifacts).as_posix()
                                             for src, rel in placed.items()})  # fmt: skip
        publish(stage, target)
    totals = metadata["splits"]
    return AddedDataset(
        ArtifactRef(KIND, name, number, stamp.content_hash),
        f"{KIND}/{name}/{number}",
        sum(s["files"] for s in totals.values()),
        sum(s["bytes"] for s in totals.values()),
        totals,
    )


def _outputs_source(root: Path, run: RunRecord, outputs: Sequence[str]) -> tuple[Path, list[Path]]:
    """(the source, its files) for a run's outputs: one file or one directory as given, several
    as they lie under artifacts/."""
    artifacts = root / run.path / "artifacts"
    chosen = [
        artifacts / rel
        for rel in run_outputs(root, run, outputs, option="--output", reserved=RESERVED)
    ]
    if len(outputs) == 1:
        named = artifacts / outputs[0].removeprefix("artifacts/").rstrip("/")
        if named.is_file() or named.is_dir():
            return named, chosen
    return artifacts, chosen


def _metadata(
    name: str,
    number: str,
    stage: Path,
    split_paths: dict[str, str],
    placed: dict[Path, str],
    *,
    description: str | None,
    license_id: str,
    parents: list[ArtifactRef],
    run_id: str | None,
    link: dict[str, str] | None,
    sources: Sequence[str],
    today: dt.date,
    root: Path,
) -> dict[str, Any]:
    split_info: dict[str, dict[str, Any]] = {}
    for split, path in sorted(split_paths.items()):
        members = [
            stage / rel for rel in placed.values() if rel == path or rel.startswith(path + "/")
        ]
        info: dict[str, Any] = {
            "path": path,
            "files": len(members),
            "bytes": sum(m.stat().st_size for m in members),
        }
        counts = [count_rows(m) for m in members]
        if counts and all(c is not None for c in counts):
            info["rows"] = sum(c for c in counts if c is not None)
        split_info[split] = info
    suffixes = Counter(Path(rel).suffix.lower().lstrip(".") for rel in placed.values())
    provenance: dict[str, Any] = {}
    if sources:
        provenance["sources"] = [
            {"name": s, "url": s} if "://" in s else {"name": s} for s in sources
        ]
    if parents:
        provenance["derived_from"] = [str(p) for p in parents]
    if run_id:
        provenance["generated_by"] = run_id
    if link:
        provenance["stage"] = link  # TFC-0004 R12
    metadata: dict[str, Any] = {
        "schema_version": 1,
        "name": name,
        "version": number,
        "description": description or f"{name} {number}.",
        "license": license_id,
        "created": today.isoformat(),
    }
    who = user_identity(root)
    if who:
        metadata["creators"] = [who]
    fmt = suffixes.most_common(1)[0][0] if suffixes else ""
    if fmt:
        metadata["format"] = fmt
    metadata["provenance"] = provenance
    metadata["splits"] = split_info
    csv_files = sorted(stage / rel for rel in placed.values() if rel.endswith(".csv"))
    columns = [cols for f in csv_files if (cols := csv_columns(f))]
    headers = {tuple(c["name"] for c in cols) for cols in columns}
    if len(headers) == 1 and len(csv_files) == len(placed):
        # A column is as wide as its widest file: 1 in one split and 1.5 in another is float.
        metadata["columns"] = [
            {"name": name, "type": max(kinds, key=COLUMN_TYPES.index)}
            for name, *kinds in zip(
                headers.pop(), *([c["type"] for c in cols] for cols in columns), strict=True
            )
        ]
    metadata["content_hash"] = str(PLACEHOLDER)  # replaced by the stamp below
    return metadata


def datasheet(name: str, number: str, metadata: dict[str, Any]) -> str:
    """A datasheet skeleton (Gebru et al.) with what the metadata already knows filled in."""
    splits = ", ".join(
        f"`{k}` ({counted(v['files'], 'file')}, {v['bytes']} bytes"
        + (f", {counted(v['rows'], 'row')})" if "rows" in v else ")")
        for k, v in metadata["splits"].items()
    )
    known = {
        "Composition": f"Splits: {splits}.",
        "Distribution": f"Licence: {metadata['license']}.",
    }
    provenance = metadata["provenance"]
    if run := provenance.get("generated_by"):
        link = provenance.get("stage")
        stage = f", stage `{link['stage']}` of `{link['pipeline']}`" if link else ""
        known["Collection process"] = f"Written by run `{run}`{stage}."
    lines = [
        f"# {name} {number}",
        "",
        'A datasheet in the form proposed by Gebru et al., "Datasheets for Datasets"',
        "(Communications of the ACM 64(12), 2021). Answer each section, or say why",
        "it does not apply.",
    ]
    for section in DATASHEET_SECTIONS:
        lines += ["", f"## {section}", "", known.get(section, "_To be written._")]
    return "\n".join(lines) + "\n"


# --- reading ------------------------------------------------------------------------------------


def list_datasets(root: Path) -> list[DatasetVersionView]:
    return [
        describe(root, name, number)
        for name in names(root, KIND)
        for number in versions(root, KIND, name)
    ]


def describe(root: Path, name: str, number: str) -> DatasetVersionView:
    ref, path = f"{KIND}/{name}@{number}", f"{KIND}/{name}/{number}"
    try:
        metadata = load_mapping(root / path / "metadata.yaml")
    except StrataError as exc:  # a damaged version is still listed
        return DatasetVersionView(ref, path, problem=str(exc).removeprefix(f"{root}/"))
    splits = metadata.get("splits")
    return DatasetVersionView(
        ref, path, description=metadata.get("description"), license=metadata.get("license"),
        created=metadata.get("created"), content_hash=metadata.get("content_hash"),
        splits=splits if isinstance(splits, dict) else {}, provenance=metadata.get("provenance"),
    )  # fmt: skip
