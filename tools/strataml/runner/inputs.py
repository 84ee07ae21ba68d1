"""Resolve an experiment's inputs to verified, pinned artifact versions (TFC-0002 R4)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from strataml.doctor.engine import run_doctor
from strataml.refs import ArtifactRef
from strataml.runner.experiment import SpecError
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES, parse_yaml

# What must hold before an input's bytes may feed a run: its listing and its files.
_VERIFY = ("CHK", "LAY010", "LAY011", "LAY012", "SCH")


@dataclass(frozen=True, slots=True)
class ResolvedInput:
    name: str
    ref: ArtifactRef  # pinned
    content_hash: str

    @property
    def path(self) -> str:
        return self.ref.path


def resolve_inputs(root: Path, inputs: dict[str, ArtifactRef]) -> dict[str, ResolvedInput]:
    return {name: resolve_input(root, name, ref) for name, ref in sorted(inputs.items())}


def resolve_input(root: Path, name: str, ref: ArtifactRef) -> ResolvedInput:
    directory = root / ref.path
    if directory.is_symlink() or not directory.is_dir():
        raise SpecError(f"input {name}: {ref} does not exist (no directory {ref.path})")
    content_hash = _content_hash(directory, name, ref)
    if ref.pin is not None and ref.pin != content_hash:
        raise SpecError(
            f"input {name}: {ref} is pinned to {ref.pin} but {ref.path} holds {content_hash}"
        )
    report = run_doctor(directory, select=_VERIFY)
    failing = [d for d in report.diagnostics if d.severity.value != "info"]
    if failing:
        first = failing[0]
        more = (
            f" (and {len(failing) - 1} more; see `strata doctor {ref.path}`)"
            if len(failing) > 1
            else ""
        )
        raise SpecError(f"input {name}: {first.path}: {first.code} {first.message}{more}")
    return ResolvedInput(name, dataclasses.replace(ref, pin=content_hash), content_hash)


def _content_hash(directory: Path, name: str, ref: ArtifactRef) -> str:
    try:
        document = parse_yaml(read_regular(directory / "metadata.yaml", MAX_BYTES + 1))
    except OSError as exc:
        raise SpecError(f"input {name}: {ref.path}/metadata.yaml: {exc.strerror or exc}") from exc
    value = document.data.get("content_hash") if isinstance(document.data, dict) else None
    if not isinstance(value, str) or not value.startswith("blake3:"):
        raise SpecError(
            f"input {name}: {ref.path}/metadata.yaml has no content_hash; run `strata checksum {ref.path}`"
        )
    return value
