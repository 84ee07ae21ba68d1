"""What dataset and model writers share: version numbering, references, staging and publishing."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from strataml.atomic import fsync_path
from strataml.confine import check_user_path, confined
from strataml.errors import StrataError, UsageError
from strataml.integrity.digest import is_tagged
from strataml.refs import ArtifactRef, Kind, is_name, is_version, version_key
from strataml.safeopen import read_regular
from strataml.workspace import relative, scan_layout
from strataml.yamlio import MAX_BYTES, parse_yaml

SCRATCH = ".strata"


class RegistryError(UsageError):
    """A registry command that cannot be carried out as asked: exit 2, nothing changed."""


def versions(root: Path, kind: Kind, name: str) -> list[str]:
    """The version directories of one dataset or model, oldest first."""
    directory = root / kind / name
    if not directory.is_dir():
        return []
    found = [
        p.name
        for p in directory.iterdir()
        if is_version(p.name) and p.is_dir() and not p.is_symlink()
    ]
    return sorted(found, key=version_key)


def names(root: Path, kind: Kind) -> list[str]:
    directory = root / kind
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if is_name(p.name) and p.is_dir())


def next_version(root: Path, kind: Kind, name: str, wanted: str | None) -> str:
    existing = versions(root, kind, name)
    if wanted is not None:
        if not is_version(wanted):
            raise RegistryError(f"bad version {wanted!r}: write v<N> or v<MAJOR>.<MINOR>.<PATCH>")
        if wanted in existing or (root / kind / name / wanted).exists():
            raise RegistryError(f"{kind}/{name}/{wanted} already exists; versions are immutable")
        return wanted
    if not existing:
        return "v1"
    major = version_key(existing[-1])[0]
    return f"v{major + 1}"


def check_name(kind: Kind, name: str) -> None:
    if not is_name(name):
        raise RegistryError(
            f"bad {kind[:-1]} name {name!r}: lower-case letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 64 characters"
        )


def parse_ref(text: str, kind: Kind, *, name_only_ok: bool = False) -> ArtifactRef:
    """`datasets/iris@v1`, or `iris@v1` when the kind is clear from the command."""
    candidate = text if text.startswith(f"{kind}/") else f"{kind}/{text}"
    try:
        return ArtifactRef.parse(candidate)
    except ValueError:
        pass
    hint = f"{kind}/<name>@v<N>" + (" or <name>@v<N>" if name_only_ok else "")
    raise RegistryError(f"not a {kind[:-1]} reference: {text!r} (expected {hint})")


def versioned(ref: str, version: str | None) -> str:
    """NAME vN and NAME@vN name the same version, wherever a version is named."""
    if version is None:
        return ref
    if "@" in ref:
        raise UsageError(f"{ref!r} already names a version; give NAME VERSION or NAME@VERSION")
    return f"{ref}@{version}"


def parse_versions(args: Sequence[str], kind: Kind) -> list[ArtifactRef]:
    """`NAME vN` pairs and `NAME@vN` words, mixed, as on `strata model promote`."""
    found = []
    pending = list(args)
    while pending:
        head = pending.pop(0)
        if "@" in head:
            found.append(parse_ref(head, kind, name_only_ok=True))
        elif pending:
            found.append(ArtifactRef(kind, head, pending.pop(0)))
        else:
            raise UsageError(f"{head!r}: give NAME VERSION or NAME@VERSION")
    return found


def artifact_dir(root: Path, path: Path) -> str:
    """The repo-relative directory of the dataset version, model version or run at `path`."""
    check_user_path(path)
    resolved = path.resolve()
    rel = relative(root, resolved) if resolved.is_relative_to(root) else None
    if rel is None or not any(a.path == rel for a in scan_layout(root).artifacts):
        raise UsageError(f"{path}: not a dataset version, model version or run directory")
    return rel


def existing(root: Path, ref: ArtifactRef) -> ArtifactRef:
    """The reference, checked to exist; pinned to the version's content hash."""
    directory = root / ref.path
    if directory.is_symlink() or not directory.is_dir():
        available = versions(root, ref.kind, ref.name)
        known = (
            f" (it has {', '.join(available)})"
            if available
            else f" (no {ref.kind[:-1]} {ref.name!r})"
        )
        raise RegistryError(f"{ref.kind}/{ref.name}@{ref.version} does not exist{known}")
    metadata = load_mapping(directory / "metadata.yaml")
    pin = metadata.get("content_hash")
    if not isinstance(pin, str) or not is_tagged(pin):
        raise RegistryError(
            f"{ref.path}/metadata.yaml has no content_hash; run `strata checksum {ref.path}`"
        )
    if ref.pin is not None and ref.pin != pin:
        raise RegistryError(f"{ref} is pinned to {ref.pin} but {ref.path} holds {pin}")
    return ArtifactRef(ref.kind, ref.name, ref.version, pin)


def load_mapping(path: Path) -> dict[str, Any]:
    """A YAML mapping the registry needs to read; StrataError, never a traceback, otherwise."""
    try:
        raw = read_regular(path, MAX_BYTES + 1)
    except OSError as exc:
        raise StrataError(f"{path}: {exc.strerror or exc}") from exc
    document = parse_yaml(raw)
    if not document.ok:
        problem = document.problems[0]
        where = f":{problem.line}" if problem.line else ""
        raise StrataError(f"{path}{where}: {problem.message}; run `strata doctor`")
    if not isinstance(document.data, dict):
        raise StrataError(f"{path}: not a YAML mapping; run `strata doctor`")
    return document.data


@contextlib.contextmanager
def staging(root: Path) -> Iterator[Path]:
    """A scratch directory on the repository's file system, removed whatever happens."""
    scratch = confined(root, root / SCRATCH / "tmp")
    scratch.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="stage-", dir=scratch))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def publish(staged: Path, final: Path) -> None:
    """Move a finished version directory into place in one rename; never over an existing one."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        final.mkdir()  # claim: fails if another writer got there first
    except FileExistsError as exc:
        raise RegistryError(f"{final} already exists; versions are immutable") from exc
    try:
        staged.rename(final)  # replaces the empty claimed directory atomically
    except OSError:
        final.rmdir()
        raise
    fsync_path(final.parent)


@contextlib.contextmanager
def locked(root: Path, name: str) -> Iterator[None]:
    """An exclusive lock shared by every writer of one mutable file (e.g. a stages.yaml)."""
    locks = confined(root, root / SCRATCH / "locks")
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(locks / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
