"""Standard documents from our metadata: Hugging Face model cards and Croissant datasets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from strataml import schemas
from strataml.errors import StrataError
from strataml.jsonio import finite
from strataml.refs import ArtifactRef
from strataml.registry.cards import parse_card, render_card
from strataml.registry.resolve import resolve_as
from strataml.registry.store import load_mapping
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES

# The JSON-LD context every Croissant 1.0 document carries (mlcommons.org/croissant/1.0).
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
CROISSANT_VERSION = "http://mlcommons.org/croissant/1.0"
_ENCODINGS = {
    ".csv": "text/csv", ".tsv": "text/tab-separated-values", ".json": "application/json",
    ".jsonl": "application/jsonlines", ".parquet": "application/x-parquet", ".txt": "text/plain",
    ".zip": "application/zip", ".gz": "application/gzip", ".png": "image/png", ".jpg": "image/jpeg",
}  # fmt: skip
_DATA_TYPES = {
    "string": "sc:Text", "integer": "sc:Integer", "float": "sc:Float", "boolean": "sc:Boolean",
    "date": "sc:Date", "datetime": "sc:DateTime", "categorical": "sc:Text", "binary": "sc:Text",
}  # fmt: skip


def hf_card(root: Path, text: str) -> str:
    """card.md regenerated from metadata and metrics, keeping the sections people wrote."""
    ref = resolve_as(root, text, "models")
    directory = root / ref.path
    # The card is written from these documents' fields as their schemas have them.
    metadata = _valid(root, f"{ref.path}/metadata.yaml", "model-metadata")
    metrics = _valid(root, f"{ref.path}/metrics.yaml", "model-metrics")["metrics"]
    try:
        current = read_regular(directory / "card.md", 16 * MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        current = ""
    return render_card(metadata, metrics, parse_card(current).sections)


def _valid(root: Path, path: str, schema: str) -> dict[str, Any]:
    document = load_mapping(root / path)
    problems = schemas.validate(schema, document)
    if problems:
        raise StrataError(f"{path}: {problems[0].message}; fix it first (`strata doctor {path}`)")
    return document


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _license_url(spdx: str) -> str:
    return spdx if "://" in spdx else f"https://spdx.org/licenses/{spdx}.html"


def croissant(root: Path, text: str) -> dict[str, Any]:
    """A Croissant 1.0 JSON-LD description of one dataset version, files by relative URL."""
    ref: ArtifactRef = resolve_as(root, text, "datasets")
    directory = root / ref.path
    # Split paths name what is read and hashed: only as the schema allows them (relative).
    metadata = _valid(root, f"{ref.path}/metadata.yaml", "dataset-metadata")
    splits: dict[str, Any] = _of(metadata.get("splits"), dict)
    columns: list[dict[str, Any]] = _of(metadata.get("columns"), list)
    files: list[dict[str, Any]] = []
    record_sets: list[dict[str, Any]] = []
    for split, spec in sorted(splits.items()):
        where = str(spec.get("path", "")).rstrip("/")
        base = directory / where
        members = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for member in members:
            rel = member.relative_to(directory).as_posix()
            files.append({
                "@type": "cr:FileObject", "@id": rel, "name": rel, "contentUrl": rel,
                "encodingFormat": _ENCODINGS.get(member.suffix.lower(), "application/octet-stream"),
                "sha256": _sha256(member), "contentSize": f"{member.stat().st_size} B",
            })  # fmt: skip
        tabular = members and all(m.suffix.lower() == ".csv" for m in members) and columns
        if tabular and len(members) == 1:
            source = members[0].relative_to(directory).as_posix()
            record_sets.append({
                "@type": "cr:RecordSet", "@id": split, "name": split,
                "description": f"The {split} split ({spec.get('rows', '?')} rows).",
                "field": [
                    {
                        "@type": "cr:Field", "@id": f"{split}/{col['name']}", "name": col["name"],
                        "description": col.get("description", col["name"]),
                        "dataType": _DATA_TYPES.get(col.get("type", "string"), "sc:Text"),
                        "source": {"fileObject": {"@id": source}, "extract": {"column": col["name"]}},
                    }
                    for col in columns
                ],
            })  # fmt: skip
    provenance: dict[str, Any] = _of(metadata.get("provenance"), dict)
    citations = [s.get("citation") for s in provenance.get("sources") or [] if isinstance(s, dict)]
    document: dict[str, Any] = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_VERSION,
        "name": f"{ref.name}",
        "description": str(metadata.get("description", "")).strip(),
        "license": _license_url(str(metadata.get("license", ""))),
        "url": f"{ref.kind}/{ref.name}@{ref.version}",
        "version": _semver(ref.version),
        "datePublished": str(metadata.get("created", "")),
        "identifier": ref.pin,
        "distribution": files,
        "recordSet": record_sets,
    }
    if metadata.get("creators"):
        document["creator"] = [{"@type": "sc:Person", "name": c} for c in metadata["creators"]]
    if any(citations):
        document["citeAs"] = next(c for c in citations if c).strip()
    if metadata.get("tags"):
        document["keywords"] = list(metadata["tags"])
    return document


def _semver(version: str) -> str:
    parts = version.removeprefix("v").split(".")
    return ".".join([*parts, "0", "0"][:3])


def _of(value: Any, kind: type) -> Any:
    return value if isinstance(value, kind) else kind()


def croissant_json(root: Path, text: str) -> str:
    try:
        document = finite(croissant(root, text))
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (OSError, KeyError, TypeError) as exc:
        raise StrataError(f"cannot describe {text}: {exc}") from exc
