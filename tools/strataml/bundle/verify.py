"""`strata bundle verify`: every member, the manifest digest, the Git bundle and what it holds,
compared with the manifest. Problems are values; the caller decides (TFC-0008 R14)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from strataml.bundle.archive import Contents, read_archive
from strataml.bundle.history import (
    lfs_pointers,
    read_header,
    scratch_repository,
    tip_facts,
)
from strataml.bundle.manifest import (
    DIGEST,
    GIT_BUNDLE,
    MANIFEST,
    Manifest,
    Tip,
    lfs_member,
    parse_digest,
    parse_manifest,
)
from strataml.bundle.problems import BundleError, Problem
from strataml.errors import StrataError
from strataml.gitrepo import GitError, git_ok, run_git
from strataml.wording import counted


@dataclass(frozen=True, slots=True)
class Opened:
    path: Path
    contents: Contents
    manifest: Manifest | None  # None when it does not parse
    problems: tuple[Problem, ...]
    scratch: Path  # a bare repository holding the bundle's refs, borrowing the importer's objects


@contextlib.contextmanager
def open_bundle(path: Path, repository: Path | None) -> Iterator[Opened]:
    """Read and check a bundle against `repository` (the one it would be imported into)."""
    if not path.is_file():
        raise StrataError(f"{path}: no such file")
    with scratch_repository(repository) as scratch:
        contents = read_archive(path, scratch.parent)
        problems: list[Problem] = []
        manifest = _manifest(contents, problems)
        if manifest is not None:
            problems += _member_problems(contents, manifest)
            bundle_ok = not any(p.member == GIT_BUNDLE for p in problems)
            if bundle_ok and contents.git_bundle is not None:
                problems += _git_problems(contents.git_bundle, scratch, manifest)
        yield Opened(path, contents, manifest, tuple(problems), scratch)


def _manifest(contents: Contents, problems: list[Problem]) -> Manifest | None:
    expected = parse_digest(contents.digest)
    actual = contents.digests[MANIFEST].blake3
    if expected is None:
        problems.append(
            Problem("bundle-digest", DIGEST, "is not one line '<64 hex>  manifest.json'")
        )
    elif expected != actual:
        problems.append(
            Problem("bundle-digest", MANIFEST, f"blake3 is {actual}, {DIGEST} says {expected}")
        )
    try:
        return parse_manifest(contents.manifest)
    except BundleError as exc:
        problems.append(exc.problem)
        return None


def _member_problems(contents: Contents, manifest: Manifest) -> list[Problem]:
    found: list[Problem] = []
    listed = {m.name: m for m in manifest.members}
    for member in manifest.members:
        got = contents.digests.get(member.name)
        if got is None:
            found.append(
                Problem("bundle-member", member.name, "listed in the manifest, not in the bundle")
            )
        elif got.size != member.size:
            found.append(
                Problem(
                    "bundle-member",
                    member.name,
                    f"size is {got.size}, the manifest says {member.size}",
                )
            )
        elif got.blake3 != member.blake3:
            found.append(
                Problem(
                    "bundle-member",
                    member.name,
                    f"blake3 is {got.blake3}, the manifest says {member.blake3}",
                )
            )
    for name in contents.digests:
        if name not in listed and name not in (MANIFEST, DIGEST):
            found.append(
                Problem("bundle-member", name, "in the bundle, not listed in the manifest")
            )
    if GIT_BUNDLE not in listed:
        found.append(Problem("bundle-member", GIT_BUNDLE, "the manifest lists no Git bundle"))
    for entry in manifest.lfs:
        name = lfs_member(entry.oid)
        got = contents.digests.get(name)
        if name not in listed:
            found.append(
                Problem("bundle-lfs", name, "in the manifest's LFS objects, not among its members")
            )
        elif got is not None and got.sha256 != entry.oid:
            found.append(
                Problem("bundle-lfs", name, f"sha256 is {got.sha256}, its oid says {entry.oid}")
            )
        elif got is not None and got.size != entry.size:
            found.append(
                Problem("bundle-lfs", name, f"size is {got.size}, its pointer says {entry.size}")
            )
    lfs_names = {lfs_member(e.oid) for e in manifest.lfs}
    for name in listed:
        if name != GIT_BUNDLE and name not in lfs_names:
            found.append(
                Problem(
                    "bundle-lfs", name, "a member that is not one of the manifest's LFS objects"
                )
            )
    return found


def _git_problems(bundle: Path, scratch: Path, manifest: Manifest) -> list[Problem]:
    header = read_header(bundle)
    if header is None:
        return [
            Problem("bundle-git", GIT_BUNDLE, "is not a Git bundle (no '# v2 git bundle' header)")
        ]
    found: list[Problem] = []
    declared = tuple(sorted((r.name, r.object) for r in manifest.refs))
    if header.refs != declared:
        found.append(
            Problem(
                "bundle-refs",
                GIT_BUNDLE,
                f"holds refs {_refs(header.refs)}, the manifest says {_refs(declared)}",
            )
        )
    if header.prerequisites != tuple(sorted(manifest.prerequisites)):
        found.append(
            Problem("bundle-refs", GIT_BUNDLE, "its prerequisites differ from the manifest's")
        )
    if found:
        return found
    try:
        run_git(scratch, "bundle", "verify", str(bundle))
    except GitError as exc:
        detail = " ".join(exc.stderr.replace("error: ", "").split())
        return [Problem("bundle-git", GIT_BUNDLE, f"git bundle verify failed: {detail[:300]}")]
    try:
        run_git(scratch, "fetch", "-q", "--no-write-fetch-head", str(bundle), "refs/*:refs/*")
    except StrataError as exc:
        return [Problem("bundle-git", GIT_BUNDLE, str(exc))]
    for ref in manifest.refs:
        peeled = git_ok(scratch, "rev-parse", "--verify", "-q", f"{ref.name}^{{commit}}")
        if peeled != ref.commit:
            found.append(
                Problem(
                    "bundle-refs", ref.name, f"peels to {peeled}, the manifest says {ref.commit}"
                )
            )
            continue
        found += _tip_problems(manifest, tip_facts(scratch, ref))
    if found:
        return found
    pointed = {
        (e.oid, e.size)
        for e in lfs_pointers(scratch, [r.commit for r in manifest.refs], manifest.prerequisites)
    }
    carried = {(e.oid, e.size) for e in (*manifest.lfs, *manifest.lfs_missing)}
    for oid, size in sorted(pointed - carried):
        found.append(
            Problem(
                "bundle-lfs",
                lfs_member(oid),
                f"a pointer in the history names it ({size} bytes), the manifest does not",
            )
        )
    for oid, size in sorted(carried - pointed):
        found.append(
            Problem(
                "bundle-lfs",
                lfs_member(oid),
                f"in the manifest ({size} bytes), no pointer in the history names it",
            )
        )
    return found


def _tip_problems(manifest: Manifest, actual: Tip) -> list[Problem]:
    declared = next((t for t in manifest.tips if t.ref == actual.ref), None)
    if declared is None:
        return [Problem("bundle-tip", actual.ref, "the manifest lists no integrity files for it")]
    found = []
    want = {f.path: f.blake3 for f in declared.files}
    have = {f.path: f.blake3 for f in actual.files}
    for path in sorted(want.keys() | have.keys()):
        where = f"{actual.ref}:{path}"
        if path not in have:
            found.append(Problem("bundle-tip", where, "listed in the manifest, not in the commit"))
        elif path not in want:
            found.append(Problem("bundle-tip", where, "in the commit, not listed in the manifest"))
        elif want[path] != have[path]:
            found.append(
                Problem(
                    "bundle-tip", where, f"blake3 is {have[path]}, the manifest says {want[path]}"
                )
            )
    if declared.trusted != actual.trusted:
        found.append(
            Problem(
                "bundle-tip",
                f"{actual.ref}:pyproject.toml",
                f"trusts {list(actual.trusted)}, the manifest says {list(declared.trusted)}",
            )
        )
    return found


def _refs(refs: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{name} {sha[:12]}" for name, sha in refs) or "none"


@dataclass(frozen=True, slots=True)
class Verification:
    path: Path
    problems: tuple[Problem, ...]
    refs: int
    prerequisites: int
    lfs: int
    members: int

    def text(self) -> str:
        path = self.path
        if self.problems:
            failed = f"{path}: FAILED: {counted(len(self.problems), 'problem')}"
            return "".join(f"{path}: {problem}\n" for problem in self.problems) + failed + "\n"
        return (
            f"{path}: verified: {counted(self.refs, 'ref')}, "
            f"{counted(self.prerequisites, 'prerequisite')}, {counted(self.lfs, 'LFS object')}, "
            f"{counted(self.members, 'member')}\n"
        )

    def document(self) -> dict[str, object]:
        """schemas/bundle-verify.schema.json; the counts are those of the manifest."""
        return {
            "schema_version": 1,
            "bundle": str(self.path),
            "verified": not self.problems,
            "counts": {
                "refs": self.refs,
                "prerequisites": self.prerequisites,
                "lfs_objects": self.lfs,
                "members": self.members,
            },
            "problems": [
                {"code": p.code, "member": p.member, "message": p.message} for p in self.problems
            ],
        }


def verify_bundle(path: Path, start: Path) -> Verification:
    """Check a bundle against the repository around `start` (if any), which supplies the
    commits an incremental bundle needs."""
    top = git_ok(start, "rev-parse", "--show-toplevel")
    with open_bundle(path, Path(top) if top else None) as opened:
        m = opened.manifest
        if m is None:
            return Verification(path, opened.problems, 0, 0, 0, 0)
        return Verification(
            path, opened.problems, len(m.refs), len(m.prerequisites), len(m.lfs), len(m.members)
        )
