from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from strataml import yamlio
from strataml.config import Config
from strataml.gitrepo import CommitPresence, commits_present, uncommitted_later
from strataml.integrity.cache import HashCache, StatKey, git_clean_blobs
from strataml.integrity.hashing import hash_bytes, hash_files
from strataml.integrity.progress import HashProgress
from strataml.integrity.tree import TreeScan, scan_tree
from strataml.lfs import MAX_POINTER_BYTES, BadPointer, Pointer, parse_pointer
from strataml.safeopen import read_regular
from strataml.workspace import Artifact, Layout
from strataml.yamlio import MAX_BYTES, YamlDocument, parse_yaml


def within(path: str, target: str) -> bool:
    return target == "." or path == target or path.startswith(target + "/")


@dataclass
class Context:
    """One doctor run: what to look at, plus per-run caches so nothing is read twice."""

    root: Path
    config: Config
    layout: Layout
    target: str = "."  # repo-relative sub-path doctor was asked about
    _scans: dict[str, TreeScan] = field(default_factory=dict)
    _documents: dict[str, YamlDocument | None] = field(default_factory=dict)
    files_hashed: int = 0
    cache: HashCache | None = None  # None: no cache at all (e.g. outside a writable repository)
    use_cache: bool = True  # False (--no-cache): read every file, then refresh the cache
    only: set[str] | None = None  # --since: the artifact directories that changed
    files_read: int = 0  # files actually read to hash them (the rest came from the cache)
    listed: dict[str, dict[str, str]] = field(default_factory=dict)  # artifact -> CHECKSUMS digests
    _pointers: dict[str, dict[str, Pointer | BadPointer]] = field(default_factory=dict)
    _status: Callable[[], list[tuple[str, str]] | None] | None = None
    _fingerprints: dict[str, str] = field(default_factory=dict)
    _commits: list[CommitPresence | None] = field(default_factory=list)

    @property
    def whole_repository(self) -> bool:
        return self.target == "."

    def selected(self, path: str) -> bool:
        """Does `path` lie inside the target, or the target inside it?"""
        return within(path, self.target) or within(self.target, path)

    @property
    def artifacts(self) -> tuple[Artifact, ...]:
        return tuple(
            a for a in self.layout.artifacts
            if self.selected(a.path) and (self.only is None or a.path in self.only)
        )  # fmt: skip

    def scan(self, artifact: Artifact) -> TreeScan:
        if artifact.path not in self._scans:
            self._scans[artifact.path] = scan_tree(self.root / artifact.path)
        return self._scans[artifact.path]

    def document(self, path: str) -> YamlDocument | None:
        """Parsed YAML at a repo-relative path, or None when there is no such regular file."""
        if path not in self._documents:
            raw = self._raw(path)
            self._documents[path] = None if raw is None else parse_yaml(raw)
        return self._documents[path]

    def prefetch(self, paths: list[str]) -> None:
        """Read many documents at once (`parse_many`, in worker processes) before the checks ask
        for them one by one; a few are left to `document`."""
        todo = [p for p in dict.fromkeys(paths) if p not in self._documents]
        if len(todo) < yamlio.POOL_MIN_DOCUMENTS:
            return
        raws = {path: raw for path in todo if (raw := self._raw(path)) is not None}
        self._documents.update(zip(raws, yamlio.parse_many(list(raws.values())), strict=True))

    def _raw(self, path: str) -> bytes | None:
        try:  # bounded: a huge file is reported, not loaded
            return read_regular(self.root / path, MAX_BYTES + 1)
        except OSError:
            return None  # missing, or not a regular file

    def fingerprint(self, artifact: Artifact) -> str:
        """Every file's path and stat key (size, mtime, ctime, inode): the tree as it stands."""
        if artifact.path not in self._fingerprints:
            # The scan's path -> (size, mtime, ctime, inode) map, in path order, as one pickle:
            # a C call, where formatting 20,000 lines cost tens of milliseconds.
            listing = pickle.dumps(self.scan(artifact).stats, protocol=5)
            self._fingerprints[artifact.path] = hash_bytes(listing)
        return self._fingerprints[artifact.path]

    def start_status(self) -> None:
        """Start `git status` of the artifact trees in the background (see `uncommitted`)."""
        if self._status is None:
            self._status = uncommitted_later(self.root, ("datasets", "models", "runs"))

    def uncommitted(self) -> list[tuple[str, str]] | None:
        """`git status` of the artifact trees, once per doctor run (None outside Git)."""
        self.start_status()
        assert self._status is not None
        return self._status()

    def pointers(self, artifact: Artifact) -> dict[str, Pointer | BadPointer]:
        """Files of an artifact that are Git LFS pointers (content not pulled), or broken ones."""
        if artifact.path not in self._pointers:
            found: dict[str, Pointer | BadPointer] = {}
            for rel, size in self.scan(artifact).files.items():
                if size > MAX_POINTER_BYTES:
                    continue
                try:
                    parsed = parse_pointer(
                        read_regular(self.root / artifact.path / rel, MAX_POINTER_BYTES + 1)
                    )
                except OSError:
                    continue
                if parsed is not None:
                    found[rel] = parsed
            self._pointers[artifact.path] = found
        return self._pointers[artifact.path]

    def logical_size(self, artifact: Artifact, rel: str) -> int:
        """A file's size, or for an unpulled LFS pointer the size of the content it stands for."""
        pointer = self.pointers(artifact).get(rel)
        return pointer.size if isinstance(pointer, Pointer) else self.scan(artifact).files[rel]

    def hash(self, artifact: Artifact, paths: list[str]) -> list[str | OSError]:
        """Digests of an artifact's files: from the cache where a key matches, else by reading."""
        self.files_hashed += len(paths)
        rels = [f"{artifact.path}/{p}" for p in paths]
        scanned = self.scan(artifact).stats  # stat taken before any byte is read
        keys = {
            r: StatKey(*scanned[p]) if p in scanned else None
            for r, p in zip(rels, paths, strict=True)
        }
        cache = self.cache
        found: dict[str, str | OSError] = {}
        if cache is not None and self.use_cache:
            for rel, (_, digest) in cache.lookup_stat(keys).items():
                found[rel] = digest
        misses = [
            r for r in rels if r not in found and (cache is None or r not in cache.changed_in_place)
        ]
        blobs = git_clean_blobs(self.root, misses) if cache is not None and misses else {}
        # A blob id names the content only together with the size: an LFS pointer and the
        # content it stands for share a blob id, never a size.
        blobs = {r: f"{b}:{k.size}" for r, b in blobs.items() if (k := keys[r]) is not None}
        if cache is not None and self.use_cache and blobs:
            for rel, cached in cache.lookup_blobs(blobs).items():
                found[rel] = cached
                cache.remember(rel, keys[rel], cached, None)
        todo = [r for r in rels if r not in found]
        self.files_read += len(todo)
        progress = HashProgress(sum(k.size for r in todo if (k := keys[r])), len(todo))
        try:
            digests = hash_files([self.root / r for r in todo], progress)
        finally:
            progress.close()
        for rel, result in zip(todo, digests, strict=True):
            found[rel] = result
            if cache is not None and isinstance(result, str):
                cache.remember(rel, keys[rel], result, blobs.get(rel))
        return [found[r] for r in rels]

    def commits(self) -> CommitPresence | None:
        """Which code commits recorded by the selected runs exist; one Git call per doctor run."""
        if not self._commits:
            shas = []
            for artifact in self.artifacts:
                document = (
                    self.document(f"{artifact.path}/config.yaml")
                    if artifact.kind == "run"
                    else None
                )
                data = document.data if document is not None and document.ok else None
                code = data.get("code") if isinstance(data, dict) else None
                commit = code.get("commit") if isinstance(code, dict) else None
                if isinstance(commit, str):
                    shas.append(commit)
            self._commits.append(commits_present(self.root, shas) if shas else None)
        return self._commits[0]
