"""The bundle file: an uncompressed tar, written in one pass and read without extracting
anything but the Git bundle (TFC-0008 R14)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from strataml.bundle.manifest import DIGEST, GIT_BUNDLE, LFS_PREFIX, MANIFEST, MAX_MANIFEST_BYTES
from strataml.bundle.problems import BundleError
from strataml.integrity.hashing import new_hasher
from strataml.schemas import is_safe_relative_path

_LFS_MEMBER = re.compile(rf"{LFS_PREFIX}[0-9a-f]{{64}}")
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Digests:
    size: int
    blake3: str
    sha256: str


class DigestingReader:
    """A reader that hashes what passes through it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.blake3 = new_hasher()
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.handle.read(n)
        self.blake3.update(chunk)
        self.sha256.update(chunk)
        self.size += len(chunk)
        return chunk

    def drain(self, sink: IO[bytes] | None = None) -> Digests:
        while chunk := self.read(_CHUNK):
            if sink is not None:
                sink.write(chunk)
        return Digests(self.size, self.blake3.hexdigest(), self.sha256.hexdigest())


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0  # reproducible headers
    return info


class Writer:
    """Members appended to an open tar; each file is hashed as it is copied in."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar

    def add_bytes(self, name: str, data: bytes) -> None:
        self.tar.addfile(_info(name, len(data)), io.BytesIO(data))

    def add_file(self, name: str, source: Path) -> Digests:
        with source.open("rb") as handle:
            size = handle.seek(0, io.SEEK_END)
            handle.seek(0)
            reader = DigestingReader(handle)
            self.tar.addfile(_info(name, size), reader)
        return Digests(reader.size, reader.blake3.hexdigest(), reader.sha256.hexdigest())


@contextlib.contextmanager
def writing(handle: IO[bytes]) -> Iterator[Writer]:
    with tarfile.open(fileobj=handle, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        yield Writer(tar)


@dataclass(frozen=True, slots=True)
class Contents:
    digests: dict[str, Digests]  # every member by name, in archive order
    manifest: bytes
    digest: bytes
    git_bundle: Path | None  # extracted, for git to read


def _kind(info: tarfile.TarInfo) -> str:
    if info.issym() or info.islnk():
        return "link"
    return "directory" if info.isdir() else "special file"


def _check_member(info: tarfile.TarInfo, seen: dict[str, Digests]) -> None:
    name = info.name
    if not is_safe_relative_path(name):
        why = "member path is absolute, has '..' or control characters"
        raise BundleError("bundle-unsafe-member", name, why)
    if not info.isreg():
        raise BundleError("bundle-unsafe-member", name, f"is a {_kind(info)}, not a regular file")
    if name in seen:
        raise BundleError("bundle-unsafe-member", name, "appears twice")
    if name not in (MANIFEST, DIGEST, GIT_BUNDLE) and not _LFS_MEMBER.fullmatch(name):
        raise BundleError("bundle-unsafe-member", name, "is not a member a strata bundle holds")
    if name in (MANIFEST, DIGEST) and info.size > MAX_MANIFEST_BYTES:
        why = f"{info.size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit"
        raise BundleError("bundle-format", name, why)


def read_archive(path: Path, workdir: Path) -> Contents:
    """Hash every member, keep the manifest and its digest, extract the Git bundle to workdir."""
    digests: dict[str, Digests] = {}
    kept: dict[str, bytes] = {}
    extracted = None
    current = None  # the member being read, to name where a truncated file ends
    try:
        with tarfile.open(path, mode="r:") as tar:
            for info in tar:
                _check_member(info, digests)
                current = info.name
                stream = tar.extractfile(info)
                assert stream is not None  # a regular file always has a stream
                reader = DigestingReader(stream)
                if current == GIT_BUNDLE:
                    extracted = workdir / GIT_BUNDLE
                    with extracted.open("wb") as sink:
                        digests[current] = reader.drain(sink)
                elif current in (MANIFEST, DIGEST):
                    buffer = io.BytesIO()
                    digests[current] = reader.drain(buffer)
                    kept[current] = buffer.getvalue()
                else:
                    digests[current] = reader.drain()
    except tarfile.TarError as exc:
        detail = (
            "not a tar archive" if current is None else f"truncated or damaged in {current} ({exc})"
        )
        raise BundleError(
            "bundle-format", path.name, f"not a readable strata bundle: {detail}"
        ) from exc
    except OSError as exc:
        raise BundleError("bundle-format", path.name, exc.strerror or str(exc)) from exc
    for name in (MANIFEST, DIGEST):
        if name not in kept:
            raise BundleError(
                "bundle-format", path.name, f"no {name}: not a strata bundle, or truncated"
            )
    return Contents(digests, kept[MANIFEST], kept[DIGEST], extracted)


def iter_members(path: Path, names: set[str]) -> Iterator[tuple[str, DigestingReader]]:
    """The named members, read again in one pass (to place them once the whole bundle verified)."""
    with tarfile.open(path, mode="r:") as tar:
        for info in tar:
            if info.name in names and info.isreg():
                stream = tar.extractfile(info)
                assert stream is not None
                yield info.name, DigestingReader(stream)
