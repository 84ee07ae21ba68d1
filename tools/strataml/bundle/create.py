"""`strata bundle create`: history, LFS objects and a manifest in one self-verifying file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from strataml.atomic import open_atomic, refuse_existing
from strataml.bundle.archive import Digests, writing
from strataml.bundle.history import (
    lfs_object_path,
    lfs_objects_dir,
    lfs_pointers,
    read_header,
    resolve_refs,
    scratch_repository,
    since_commit,
    tip_facts,
    toplevel,
    write_git_bundle,
)
from strataml.bundle.manifest import (
    DIGEST,
    GIT_BUNDLE,
    MANIFEST,
    Manifest,
    Member,
    digest_line,
    lfs_member,
)
from strataml.bundle.problems import BundleError
from strataml.errors import StrataError
from strataml.wording import counted


@dataclass(frozen=True, slots=True)
class Created:
    refs: int
    prerequisites: int
    lfs: int
    lfs_missing: int
    size: int
    manifest_blake3: str

    def text(self, output: Path) -> str:
        missing = f", {self.lfs_missing} left out" if self.lfs_missing else ""
        return (
            f"{output}: {counted(self.refs, 'ref')}, {counted(self.prerequisites, 'prerequisite')}, "
            f"{counted(self.lfs, 'LFS object')}{missing}, {self.size} bytes; "
            f"manifest blake3 {self.manifest_blake3}\n"
        )


def create_bundle(
    start: Path, names: list[str], output: Path, *, since: str | None = None,
    allow_missing_lfs: bool = False, overwrite: bool = False,
) -> Created:  # fmt: skip
    root = toplevel(start)
    refs = resolve_refs(root, names)
    base = since_commit(root, since) if since is not None else None
    store = lfs_objects_dir(root)
    if not output.parent.is_dir():
        raise StrataError(f"{output.parent}: no such directory")
    if output.is_dir():
        raise StrataError(f"{output}: is a directory; name the bundle file to write")
    if not overwrite:
        refuse_existing(output)
    with scratch_repository(root) as scratch:
        inner = scratch.parent / GIT_BUNDLE
        write_git_bundle(scratch, inner, refs, base)
        header = read_header(inner)
        assert header is not None  # git just wrote it
        pointers = lfs_pointers(scratch, [r.commit for r in refs], header.prerequisites)
        missing = [e for e in pointers if not lfs_object_path(store, e.oid).is_file()]
        if missing and not allow_missing_lfs:
            first = missing[0]
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise BundleError(
                "bundle-lfs-missing", first.path,
                f"LFS object {first.oid} ({first.size} bytes) is not in {store}{more}; "
                "fetch it (git lfs fetch --all) or pass --allow-missing-lfs",
            )  # fmt: skip
        present = [e for e in pointers if e not in missing]
        with open_atomic(output, overwrite=overwrite) as handle, writing(handle) as writer:
            members = [_member(GIT_BUNDLE, writer.add_file(GIT_BUNDLE, inner))]
            for entry in present:
                name = lfs_member(entry.oid)
                got = writer.add_file(name, lfs_object_path(store, entry.oid))
                if (got.sha256, got.size) != (entry.oid, entry.size):
                    raise BundleError(
                        "bundle-lfs", entry.path,
                        f"the local LFS object {entry.oid} is damaged: sha256 {got.sha256}, "
                        f"{got.size} bytes (expected {entry.size}); git lfs fsck, then fetch it again",
                    )  # fmt: skip
                members.append(_member(name, got))
            manifest = Manifest(
                members=tuple(members), refs=tuple(refs), prerequisites=header.prerequisites,
                lfs=tuple(present), lfs_missing=tuple(missing),
                tips=tuple(tip_facts(scratch, r) for r in refs),
            )  # fmt: skip
            data = manifest.dumps()
            writer.add_bytes(MANIFEST, data)
            line = digest_line(data)
            writer.add_bytes(DIGEST, line)
    return Created(
        len(refs), len(header.prerequisites), len(present), len(missing), output.stat().st_size,
        line.decode().split()[0],
    )  # fmt: skip


def _member(name: str, got: Digests) -> Member:
    return Member(name, got.size, got.blake3)
