"""The manifest of an air-gap bundle and the digest line that binds it (TFC-0008 R14)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from strataml import schemas
from strataml.bundle.problems import BundleError
from strataml.integrity.hashing import hash_bytes
from strataml.jsonio import load_json

FORMAT = "strataml-bundle/1"
MANIFEST = "manifest.json"
DIGEST = "manifest.b3"
GIT_BUNDLE = "repo.bundle"
LFS_PREFIX = "lfs/"
MAX_MANIFEST_BYTES = 64 << 20
_DIGEST_LINE = re.compile(rb"([0-9a-f]{64})  manifest\.json\n")


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    size: int
    blake3: str


@dataclass(frozen=True, slots=True)
class RefEntry:
    name: str  # refs/heads/… or refs/tags/…
    object: str  # what the ref points at (a tag object for an annotated tag)
    commit: str  # the commit it peels to


@dataclass(frozen=True, slots=True)
class LfsEntry:
    oid: str  # sha256 hex
    size: int
    path: str  # a path that holds a pointer to it (the first by name)


@dataclass(frozen=True, slots=True)
class TipFile:
    path: str
    blake3: str


@dataclass(frozen=True, slots=True)
class Tip:
    ref: str
    files: tuple[TipFile, ...]  # CHECKSUMS.txt and SIGNATURE.asc of every artifact, keys/*.asc
    trusted: tuple[str, ...]  # [tool.strataml.signing] trusted at the tip


@dataclass(frozen=True, slots=True)
class Manifest:
    members: tuple[Member, ...]
    refs: tuple[RefEntry, ...]
    prerequisites: tuple[str, ...]  # commits the importer must already hold (--since)
    lfs: tuple[LfsEntry, ...]
    lfs_missing: tuple[LfsEntry, ...]  # referenced but left out (--allow-missing-lfs)
    tips: tuple[Tip, ...]

    def dumps(self) -> bytes:
        document = {"format": FORMAT, **asdict(self)}
        return (json.dumps(document, sort_keys=True, indent=1) + "\n").encode()


def lfs_member(oid: str) -> str:
    return f"{LFS_PREFIX}{oid}"


def digest_line(manifest_bytes: bytes) -> bytes:
    """`b3sum` format, so that `b3sum --check manifest.b3` verifies the extracted manifest."""
    return f"{hash_bytes(manifest_bytes)}  {MANIFEST}\n".encode()


def parse_digest(data: bytes) -> str | None:
    match = _DIGEST_LINE.fullmatch(data)
    return match.group(1).decode() if match else None


def parse_manifest(data: bytes) -> Manifest:
    try:
        document = load_json(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError("bundle-manifest", MANIFEST, f"not valid JSON ({exc})") from exc
    violations = schemas.validate("bundle-manifest", document)
    if violations:
        raise BundleError("bundle-manifest", MANIFEST, violations[0].message)
    return Manifest(
        members=tuple(Member(**m) for m in document["members"]),
        refs=tuple(RefEntry(**r) for r in document["refs"]),
        prerequisites=tuple(document["prerequisites"]),
        lfs=tuple(LfsEntry(**e) for e in document["lfs"]),
        lfs_missing=tuple(LfsEntry(**e) for e in document["lfs_missing"]),
        tips=tuple(
            Tip(t["ref"], tuple(TipFile(**f) for f in t["files"]), tuple(t["trusted"]))
            for t in document["tips"]
        ),
    )
