"""The Git side of a bundle, through the git binary with fixed argv: refs, scratch repositories,
`git bundle`, and what the bundled history holds (LFS pointers, integrity files at each tip)."""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from strataml.bundle.manifest import LfsEntry, RefEntry, Tip, TipFile
from strataml.config import parse_config
from strataml.errors import StrataError
from strataml.gitrepo import git_ok, run_git, split_batch
from strataml.integrity.hashing import hash_bytes
from strataml.lfs import MAX_POINTER_BYTES, Pointer, parse_pointer

# The files a receiver checks trust with: every artifact's listing and signatures, and the keys.
_TIP_FILE = re.compile(
    r"(datasets|models)/[^/]+/[^/]+/(CHECKSUMS\.txt|SIGNATURE\.asc)"
    r"|runs/[^/]+/(CHECKSUMS\.txt|SIGNATURE\.asc)|keys/[^/]+\.asc"
)
_HEADER = re.compile(rb"# v[23] git bundle\n")


def toplevel(start: Path) -> Path:
    top = git_ok(start, "rev-parse", "--show-toplevel")
    if not top:
        raise StrataError(f"{start.resolve()}: not inside a Git work tree")
    return Path(top)


def objects_dir(root: Path) -> Path:
    return Path(
        run_git(root, "rev-parse", "--path-format=absolute", "--git-path", "objects")
        .decode()
        .strip()
    )


def lfs_objects_dir(root: Path) -> Path:
    common = Path(
        run_git(root, "rev-parse", "--path-format=absolute", "--git-common-dir").decode().strip()
    )
    storage = git_ok(root, "config", "--get", "lfs.storage")
    return (common / storage if storage else common / "lfs") / "objects"


def lfs_object_path(store: Path, oid: str) -> Path:
    return store / oid[:2] / oid[2:4] / oid


@contextlib.contextmanager
def scratch_repository(borrow_from: Path | None) -> Iterator[Path]:
    """A throwaway bare repository that reads `borrow_from`'s objects and never writes to them."""
    object_format = "sha1"
    if borrow_from is not None:
        object_format = run_git(borrow_from, "rev-parse", "--show-object-format").decode().strip()
    with tempfile.TemporaryDirectory(prefix="strata-bundle-") as scratch:
        repo = Path(scratch) / "repo.git"
        run_git(
            Path(scratch), "init", "-q", "--bare", f"--object-format={object_format}", str(repo)
        )
        run_git(repo, "config", "gc.auto", "0")
        if borrow_from is not None:
            (repo / "objects" / "info" / "alternates").write_text(f"{objects_dir(borrow_from)}\n")
        yield repo


def resolve_refs(root: Path, names: Iterable[str]) -> list[RefEntry]:
    """Branches, tags and commits as bundle refs; a bare commit travels as a branch bundle-<id>."""
    found: dict[str, RefEntry] = {}
    for name in names:
        if (
            name.startswith("-")
            or git_ok(root, "rev-parse", "--verify", "-q", f"{name}^{{commit}}") is None
        ):
            raise StrataError(f"{name}: no such branch, tag or commit")
        full = git_ok(root, "rev-parse", "--symbolic-full-name", name) or ""
        commit = run_git(root, "rev-parse", f"{name}^{{commit}}").decode().strip()
        if full.startswith(("refs/heads/", "refs/tags/")):
            target = run_git(root, "rev-parse", full).decode().strip()
        else:
            full, target = f"refs/heads/bundle-{commit[:12]}", commit
        found[full] = RefEntry(full, target, commit)
    return [found[name] for name in sorted(found)]


def since_commit(root: Path, base: str) -> str:
    sha = (
        None
        if base.startswith("-")
        else git_ok(root, "rev-parse", "--verify", "-q", f"{base}^{{commit}}")
    )
    if not sha:
        raise StrataError(f"--since {base}: no such commit")
    return sha


def write_git_bundle(scratch: Path, out: Path, refs: list[RefEntry], since: str | None) -> None:
    for ref in refs:
        run_git(scratch, "update-ref", ref.name, ref.object)
    run_git(
        scratch,
        "bundle",
        "create",
        "-q",
        str(out),
        *(r.name for r in refs),
        *([f"^{since}"] if since else []),
    )


@dataclass(frozen=True, slots=True)
class BundleHeader:
    prerequisites: tuple[str, ...]
    refs: tuple[tuple[str, str], ...]  # (name, object)


def read_header(path: Path) -> BundleHeader | None:
    """The refs and prerequisites a Git bundle file declares; None if it is not one."""
    with path.open("rb") as handle:
        first = handle.readline(64)
        if not _HEADER.fullmatch(first):
            return None
        prerequisites, refs = [], []
        while (line := handle.readline(4096)) not in (b"\n", b""):
            text = line.decode("utf-8", "replace").rstrip("\n")
            if text.startswith("@"):
                continue  # v3 capabilities
            if text.startswith("-"):
                prerequisites.append(text[1:].split(" ", 1)[0])
            else:
                sha, _, name = text.partition(" ")
                refs.append((name, sha))
    return BundleHeader(tuple(sorted(prerequisites)), tuple(sorted(refs)))


def _blobs(repo: Path, shas: list[str]) -> dict[str, bytes]:
    if not shas:
        return {}
    return split_batch(
        run_git(repo, "cat-file", "--batch", stdin="".join(f"{s}\n" for s in shas).encode())
    )


def lfs_pointers(repo: Path, tips: Iterable[str], exclude: Iterable[str]) -> list[LfsEntry]:
    """Every LFS object a pointer in the commits of tips ^exclude names, by oid."""
    listing = run_git(repo, "rev-list", "--objects", *tips, "--not", *exclude, "--")
    path_of: dict[str, str] = {}
    for line in listing.decode("utf-8", "surrogateescape").splitlines():
        sha, _, path = line.partition(" ")
        if path:
            path_of.setdefault(sha, path)
    if not path_of:
        return []
    checked = run_git(
        repo, "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
        stdin="".join(f"{s}\n" for s in path_of).encode(),
    )  # fmt: skip
    small = [
        sha for sha, kind, size in (line.split() for line in checked.decode().splitlines())
        if kind == "blob" and int(size) <= MAX_POINTER_BYTES
    ]  # fmt: skip
    found: dict[str, LfsEntry] = {}
    for sha, data in _blobs(repo, small).items():
        pointer = parse_pointer(data)
        if isinstance(pointer, Pointer):
            entry = LfsEntry(pointer.oid, pointer.size, path_of[sha])
            if pointer.oid not in found or entry.path < found[pointer.oid].path:
                found[pointer.oid] = entry
    return [found[oid] for oid in sorted(found)]


def tip_facts(repo: Path, ref: RefEntry) -> Tip:
    """What a receiver checks trust with at a tip: integrity files' digests and the trust list."""
    listing = run_git(repo, "ls-tree", "-r", "-z", "--full-tree", ref.commit)
    wanted: dict[str, str] = {}
    pyproject = None
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, path_bytes = entry.split(b"\t", 1)
        _, kind, sha = meta.decode().split()
        path = path_bytes.decode("utf-8", "surrogateescape")
        if kind == "blob" and _TIP_FILE.fullmatch(path):
            wanted[path] = sha
        elif kind == "blob" and path == "pyproject.toml":
            pyproject = sha
    contents = _blobs(repo, sorted({*wanted.values(), *([pyproject] if pyproject else [])}))
    files = tuple(TipFile(p, hash_bytes(contents[sha])) for p, sha in sorted(wanted.items()))
    return Tip(ref.name, files, _trusted(contents.get(pyproject or "", b"")))


def _trusted(pyproject: bytes) -> tuple[str, ...]:
    """The trust list as doctor reads it: none at all when the configuration is broken."""
    return tuple(sorted(parse_config(pyproject).trusted))
