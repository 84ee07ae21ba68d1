"""Resolve an experiment's inputs to verified, pinned artifact versions (TFC-0002 R4)."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path

from strataml.confine import symlink_on_the_way
from strataml.doctor.intact import BYTES, require_intact
from strataml.doctor.model import Severity
from strataml.errors import StrataError
from strataml.gitrepo import file_at, file_commits, tree_files
from strataml.integrity.checksums import CHECKSUMS, EXCLUDED, content_hash, parse_checksums
from strataml.integrity.digest import is_tagged
from strataml.integrity.hashing import hash_bytes
from strataml.refs import ArtifactRef, Reference
from strataml.registry.resolve import resolve
from strataml.runner.experiment import SpecError
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES, parse_yaml

# What must hold before an input's bytes may feed a run: its listing and its files.
_VERIFY = (*BYTES, "SCH")


@dataclass(frozen=True, slots=True)
class ResolvedInput:
    name: str
    ref: ArtifactRef  # pinned
    content_hash: str
    source: Path | None = None  # where the bytes are, when not at ref.path (restored from Git)
    requested: Reference | None = None  # what the spec asked, when it was a moving reference

    def record(self) -> dict[str, str]:
        """The input's entry in config.yaml (TFC-0003 R2): what it got, and what was asked."""
        entry = {"ref": str(self.ref), "path": self.path, "content_hash": self.content_hash}
        if self.requested is not None:
            entry["requested"] = str(self.requested)
        return entry

    @property
    def path(self) -> str:
        return self.ref.path


def resolve_inputs(root: Path, inputs: dict[str, Reference]) -> dict[str, ResolvedInput]:
    return {name: resolve_request(root, name, ref) for name, ref in sorted(inputs.items())}


def resolve_request(root: Path, name: str, asked: Reference) -> ResolvedInput:
    """An input as the spec asks for it; a moving reference is resolved here, once (TFC-0002 R4)."""
    if asked.version is not None:  # a version named outright: nothing moves
        return resolve_input(
            root, name, ArtifactRef(asked.kind, asked.name, asked.version, asked.pin)
        )
    try:
        resolution = resolve(asked, root=root)
    except StrataError as exc:  # ResolveError, or a version whose metadata cannot be read
        raise SpecError(f"input {name}: {exc}") from None
    resolved = resolve_input(root, name, resolution.ref)
    return dataclasses.replace(resolved, requested=asked)


def resolve_input(root: Path, name: str, ref: ArtifactRef) -> ResolvedInput:
    directory = root / ref.path
    way = symlink_on_the_way(root, directory)
    if way is not None:  # another artifact's bytes, or bytes from outside, under this name
        raise SpecError(f"input {name}: {ref}: {way} is a symlink; inputs are real folders only")
    if not directory.is_dir():
        raise SpecError(f"input {name}: {ref} does not exist (no directory {ref.path})")
    content_hash = read_content_hash(directory, name, ref)
    if ref.pin is not None and ref.pin != content_hash:
        raise SpecError(
            f"input {name}: {ref} is pinned to {ref.pin} but {ref.path} holds {content_hash}"
        )
    require_intact(root, ref.path, what=f"input {name}", select=_VERIFY, worst=Severity.WARNING)
    return ResolvedInput(name, dataclasses.replace(ref, pin=content_hash), content_hash)


def read_content_hash(directory: Path, name: str, ref: ArtifactRef) -> str:
    try:
        document = parse_yaml(read_regular(directory / "metadata.yaml", MAX_BYTES + 1))
    except OSError as exc:
        raise SpecError(f"input {name}: {ref.path}/metadata.yaml: {exc.strerror or exc}") from exc
    value = document.data.get("content_hash") if isinstance(document.data, dict) else None
    if not isinstance(value, str) or not is_tagged(value):
        raise SpecError(
            f"input {name}: {ref.path}/metadata.yaml has no content_hash; run `strata checksum {ref.path}`"
        )
    return value


def restore_input(
    root: Path, name: str, ref: ArtifactRef, destination: Path
) -> tuple[ResolvedInput, str] | None:
    """The pinned bytes of `ref` from Git history, written to `destination`: (input, commit)."""
    assert ref.pin is not None
    metadata = f"{ref.path}/metadata.yaml"
    for commit, _ in file_commits(root, metadata):
        recorded = file_at(root, commit, metadata)
        if recorded is None or _pin(recorded) != ref.pin:
            continue
        prefix = f"{ref.path}/"
        files = {
            path.removeprefix(prefix): file_at(root, commit, path)
            for path in tree_files(root, commit, ref.path)
        }
        found = {path: data for path, data in files.items() if data is not None}
        if not _verifies(found, ref.pin):
            continue  # e.g. LFS pointers in place of the content: not the pinned bytes
        if destination.exists():
            shutil.rmtree(destination)
        for path, data in sorted(found.items()):
            (destination / path).parent.mkdir(parents=True, exist_ok=True)
            (destination / path).write_bytes(data)
        return ResolvedInput(name, ref, ref.pin, destination), commit
    return None


def _pin(metadata: bytes) -> object:
    document = parse_yaml(metadata)
    return document.data.get("content_hash") if isinstance(document.data, dict) else None


def _verifies(files: dict[str, bytes], pin: str) -> bool:
    """Every file listed in CHECKSUMS.txt with its digest, nothing unlisted, and the pin matches."""
    listing = files.get(CHECKSUMS)
    if listing is None:
        return False
    checksums = parse_checksums(listing)
    digests = {p: hash_bytes(data) for p, data in files.items() if p not in EXCLUDED}
    return (
        not checksums.problems and checksums.digests() == digests and content_hash(digests) == pin
    )
