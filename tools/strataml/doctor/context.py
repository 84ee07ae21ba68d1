from __future__ import annotations

import errno
import functools
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from strataml.config import Config
from strataml.doctor.hashplan import HashPlan, finish_hash, plan_hash
from strataml.doctor.parsed import Documents, Secrets
from strataml.doctor.tally import Tally
from strataml.doctor.versionhistory import VersionHistory, read_version_history
from strataml.gitcommits import CommitLookup
from strataml.gitindex import (
    Checkout,
    IndexFacts,
    blob_sizes,
    checkout_attributes_later,
    checkout_kind,
    index_facts,
)
from strataml.gitrepo import ARTIFACT_TREES, Uncommitted, head_commit, uncommitted_later
from strataml.integrity.cache import HashCache, StatKey, settled_before
from strataml.integrity.checksums import CHECKSUMS, MAX_LISTING_BYTES, Checksums, parse_checksums
from strataml.integrity.dirlistings import KeptDirListings
from strataml.integrity.hashing import hash_bytes, hash_files
from strataml.integrity.hashjob import HashJob
from strataml.integrity.progress import HashProgress
from strataml.integrity.tree import TreeScan, scan_tree
from strataml.lfs import MAX_POINTER_BYTES, BadPointer, Pointer, in_git, parse_pointer, stored_blobs
from strataml.safeopen import read_regular
from strataml.schemas import PACKAGED, Schemas
from strataml.workspace import Artifact, Layout
from strataml.yamlio import YamlDocument


def within(path: str, target: str) -> bool:
    return target == "." or path == target or path.startswith(target + "/")


# The attributes of a file Git was not asked about: one object, so its id is a stable key.
_NONE: Mapping[str, str] = MappingProxyType({})


@dataclass
class Context:
    """One doctor run: what to look at, what to judge it by, and per-run memos so nothing is
    read twice. Checks only ask it; what they tell the engine goes through `tally`."""

    root: Path
    config: Config
    layout: Layout
    target: str = "."  # repo-relative sub-path doctor was asked about
    cache: HashCache | None = None  # None: no cache at all (e.g. outside a writable repository)
    use_cache: bool = True  # False (--no-cache): read every file, then refresh the cache
    declared: Config | None = None  # the working tree's own configuration, when `config` is REF's
    keys_root: Path | None = None  # where keys/ is read from: REF's with --base, else `root`
    schemas: Schemas = PACKAGED  # what documents validate against: REF's with --base
    tracked_state: tuple[str, ...] = ()  # tracked paths under .strata/ (LAY017)
    tally: Tally = field(default_factory=Tally)  # the engine's: files hashed, live state read
    only: set[str] | None = None  # --since: the artifact directories that changed
    git_scope: tuple[str, ...] = ARTIFACT_TREES  # pathspecs Git is asked about (git_scope)
    _scans: dict[str, TreeScan] = field(default_factory=dict)
    _listings: dict[str, Checksums | OSError] = field(default_factory=dict)
    _pointers: dict[str, dict[str, Pointer | BadPointer]] = field(default_factory=dict)
    _status: Uncommitted | None = None
    _fingerprints: dict[str, str] = field(default_factory=dict)
    _blob_sizes: dict[str, int] | None = None
    _kinds: dict[int, Checkout] = field(default_factory=dict)  # id of a shared mapping -> kind
    _attributes: Callable[[], dict[str, Mapping[str, str]] | None] | None = None
    _selection: tuple[Artifact, ...] | None = None  # `artifacts`, once asked
    _files_read: int = 0
    _job: HashJob | None = None  # start_hashing's workers
    _plans: dict[str, HashPlan] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._documents = Documents(self.root, self.cache, use_cache=self.use_cache)

    @property
    def files_read(self) -> int:
        """Files actually read to hash them (the rest came from the cache)."""
        return self._files_read

    @property
    def rules_root(self) -> Path:
        return self.keys_root if self.keys_root is not None else self.root

    @property
    def whole_repository(self) -> bool:
        return self.target == "."

    def selected(self, path: str) -> bool:
        """Does `path` lie inside the target, or the target inside it?"""
        return within(path, self.target) or within(self.target, path)

    @property
    def artifacts(self) -> tuple[Artifact, ...]:
        """The artifacts this run checks: under the target, and among `only` where narrowed."""
        if self._selection is None:
            self._selection = tuple(
                a for a in self.layout.artifacts
                if self.selected(a.path) and (self.only is None or a.path in self.only)
            )  # fmt: skip
        return self._selection

    def narrow(self, only: set[str] | None) -> None:
        """Check only these artifact directories (None: all under the target)."""
        self.only = only
        self._selection = None

    def scan(self, artifact: Artifact) -> TreeScan:
        if artifact.path not in self._scans:
            where = f"{self.root}/{artifact.path}"
            self._scans[artifact.path] = scan_tree(where, self.dir_listings, artifact.path)
        return self._scans[artifact.path]

    def document(self, path: str) -> YamlDocument | None:
        """Parsed YAML at a repo-relative path, or None when there is no such regular file."""
        return self._documents.document(path)

    def secrets(self, path: str) -> Secrets | None:
        return self._documents.secrets(path)

    def prefetch(self, paths: list[str]) -> None:
        self._documents.prefetch(paths)

    def ahead(self, paths: list[str]) -> None:
        self._documents.ahead(paths)

    def forget(self, paths: list[str]) -> None:
        self._documents.forget(paths)

    def close(self) -> None:
        """No worker or git process outlives the run: hashing's, the documents' read-ahead, and
        the commit lookup."""
        try:
            self.finish_hashing()
        finally:
            self._documents.close()
            if self._attributes is not None:
                self._attributes()  # waited for, so that no git process outlives the run
            lookup = self.__dict__.get("commits")  # only if asked for
            if lookup is not None:
                lookup.close()
            kept = self.__dict__.get("dir_listings")  # by a run that scanned every artifact
            if kept is not None and self.only is None and self.whole_repository:
                kept.save()

    @functools.cached_property
    def dir_listings(self) -> KeptDirListings | None:
        """The cache's directory listings (TFC-0008 R13), read by a run over every artifact only."""
        whole = self.only is None and self.whole_repository  # not all of them for a few
        return KeptDirListings.load(self.cache, use=self.use_cache) if whole else None

    @property
    def documents_parsed(self) -> int:
        """Documents actually parsed (the rest came from the parse cache)."""
        return self._documents.parsed

    def listing(self, directory: str) -> Checksums | OSError:
        """CHECKSUMS.txt of a version or run directory, read and parsed once per run; the
        OSError where it cannot be (missing, not a regular file, too large to be a listing)."""
        if directory not in self._listings:
            try:
                raw = read_regular(self.root / directory / CHECKSUMS, MAX_LISTING_BYTES + 1)
                if len(raw) > MAX_LISTING_BYTES:
                    raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
                self._listings[directory] = parse_checksums(raw)
            except OSError as exc:
                self._listings[directory] = exc.with_traceback(None)
        return self._listings[directory]

    @functools.cached_property
    def version_history(self) -> Mapping[str, VersionHistory] | None:
        """Each committed version's history (`versionhistory`), once per run; a hint may ask
        for it once per artifact. None outside Git or before a commit."""
        return read_version_history(self.root, self.head, self.cache, use_cache=self.use_cache)

    def fingerprint(self, artifact: Artifact) -> str:
        """Every file's path and stat key (size, mtime, ctime, inode): the tree as it stands."""
        if artifact.path not in self._fingerprints:
            # The scan's path -> (size, mtime, ctime, inode) map, in path order, as one pickle:
            # a C call, where formatting 20,000 lines cost tens of milliseconds.
            listing = pickle.dumps(self.scan(artifact).stats, protocol=5)
            self._fingerprints[artifact.path] = hash_bytes(listing)
        return self._fingerprints[artifact.path]

    def settled(self, artifact: Artifact) -> bool:
        """Was every file of the artifact last changed long enough ago that a verdict keyed on
        their stat keys cannot go stale within one clock tick? (TFC-0008 R13)"""
        cutoff = self.cache.settled_before if self.cache is not None else settled_before()
        return all(stat[2] < cutoff for stat in self.scan(artifact).stats.values())

    def start_status(self) -> None:
        """Start `git status` of the artifact trees in the background, unless one is known."""
        if self._status is None:
            self._status = uncommitted_later(self.root, self.git_scope)

    def status_from(self, later: Uncommitted) -> None:
        """The status is that answer (the work tree's, or as the verdict cache knows it)."""
        self._status = later

    def uncommitted(self) -> list[tuple[str, str]] | None:
        """`git status` (see `start_status`) once per doctor run; None outside Git."""
        self.start_status()
        assert self._status is not None
        return self._status()

    @functools.cached_property
    def in_git(self) -> bool:
        """A Git work tree, with git at hand: asked once per run, not once per artifact."""
        return in_git(self.root)

    @functools.cached_property
    def head(self) -> str | None:
        """HEAD's commit, asked once per doctor run (None outside Git or before a commit)."""
        return head_commit(self.root)

    @functools.cached_property
    def index(self) -> IndexFacts | None:
        """Git's index of the artifact trees, read once per doctor run (None outside Git)."""
        return index_facts(self.root, self.git_scope)

    def attributes(self, path: str) -> Mapping[str, str]:
        """The checkout attributes of a file of a selected artifact: one `git check-attr` for
        every file of every selected artifact, on first use. Files with the same attributes
        share one mapping, which lives as long as the run."""
        return (self._all_attributes or {}).get(path, _NONE)

    @property
    def attributes_known(self) -> bool:
        """Did `git check-attr` answer? Where it failed, every file reads as having none."""
        return self._all_attributes is not None

    def checkout(self, path: str, index: IndexFacts) -> Checkout:
        """What checkout may do to a file's bytes; worked out once per distinct attributes.
        Where Git could not say what the attributes are, anything (fail closed)."""
        if not self.attributes_known:  # no file's bytes are its blob
            return Checkout.TRANSFORMED
        attributes = self.attributes(path)
        if (kind := self._kinds.get(id(attributes))) is None:
            kind = self._kinds[id(attributes)] = checkout_kind(attributes, index.core)
        return kind

    def start_attributes(self) -> None:
        """Start the run's one `git check-attr` in the background, unless it ran or runs."""
        if self._attributes is None:
            paths = [f"{a.path}/{rel}" for a in self.artifacts for rel in self.scan(a).files]
            self._attributes = checkout_attributes_later(self.root, paths)

    @functools.cached_property
    def _all_attributes(self) -> dict[str, Mapping[str, str]] | None:
        self.start_attributes()
        assert self._attributes is not None
        return self._attributes()

    @functools.cached_property
    def lfs_stored(self) -> dict[str, bytes | int]:
        """What the index holds for every file of the selected artifacts that `filter=lfs`
        covers: the blob's bytes when small enough to be a pointer, else its size. Two git
        processes for the whole run (TFC-0006 R20); the LFS check looks its files up here."""
        index = self.index
        if index is None:
            return {}
        staged = {
            path: blob
            for path, attributes in (self._all_attributes or {}).items()
            if attributes.get("filter") == "lfs" and (blob := index.staged(path)) is not None
        }
        return stored_blobs(self.root, staged)

    @functools.cached_property
    def modified(self) -> frozenset[str]:
        """Tracked files of the artifact trees that `git status` says were modified."""
        return frozenset(path for status, path in self.uncommitted() or [] if "M" in status)

    def pointers(self, artifact: Artifact) -> dict[str, Pointer | BadPointer]:
        """Files of an artifact that are Git LFS pointers (content not pulled), or broken ones.

        Bytes that parse as a pointer count as one only where the attributes say `filter=lfs`
        and the index holds those same bytes (TFC-0008 R12); anywhere else they are a file like
        any other, verified against CHECKSUMS.txt.
        """
        if artifact.path not in self._pointers:
            found: dict[str, Pointer | BadPointer] = {}
            for rel, size in self.scan(artifact).files.items():
                if size > MAX_POINTER_BYTES:
                    continue
                path = f"{artifact.path}/{rel}"
                if self.attributes(path).get("filter") != "lfs":
                    continue  # no pointer, whatever its bytes: only a file LFS covers is read
                try:
                    data = read_regular(f"{self.root}/{path}", MAX_POINTER_BYTES + 1)
                except OSError:
                    continue
                parsed = parse_pointer(data)
                if parsed is None:
                    continue
                index = self.index
                if isinstance(parsed, BadPointer) or (
                    index is not None and index.holds(path, data)
                ):
                    found[rel] = parsed
            self._pointers[artifact.path] = found
        return self._pointers[artifact.path]

    def clean_blobs(self, paths: list[str], sizes: dict[str, StatKey | None]) -> dict[str, str]:
        """Blob ids of those `paths` whose working-tree bytes are exactly their blob: tracked,
        unmodified, and with no attribute that can make the two differ (TFC-0008 R13)."""
        index = self.index
        if index is None:
            return {}
        found: dict[str, str] = {}
        folded: dict[str, str | None] = {}  # path -> blob, None where the file is too fresh
        cutoff = self.cache.settled_before if self.cache is not None else settled_before()
        for path in paths:
            blob = index.blobs.get(path)
            key = sizes.get(path)
            if blob is None or path in index.dirty or key is None:
                continue
            kind = self.checkout(path, index)
            # Git's clean verdict compares whole seconds of ctime on some builds: a file changed
            # within the racy window is read, whatever Git says.
            settled = key.ctime_ns < cutoff
            if kind is Checkout.IDENTITY and settled:
                found[path] = blob
            elif kind is Checkout.LF:
                folded[path] = blob if settled else None
        if folded:
            # One git process for every artifact of the run, asked whether or not the clock
            # left a file to compare: the processes doctor starts depend on the repository,
            # never on how long ago its files were written (TFC-0006 R20).
            if self._blob_sizes is None:
                self._blob_sizes = blob_sizes(self.root, self._folded_blobs(index))
            for path, settled_blob in folded.items():
                key = sizes.get(path)
                if settled_blob and key and self._blob_sizes.get(settled_blob) == key.size:
                    found[path] = settled_blob
        return found

    def _folded_blobs(self, index: IndexFacts) -> list[str]:
        blobs = []
        for artifact in self.artifacts:
            for rel in self.scan(artifact).files:
                path = f"{artifact.path}/{rel}"
                blob = index.blobs.get(path)
                if blob is not None and self.checkout(path, index) is Checkout.LF:
                    blobs.append(blob)
        return blobs

    def logical_size(self, artifact: Artifact, rel: str) -> int:
        """A file's size, or for an unpulled LFS pointer the size of the content it stands for."""
        pointer = self.pointers(artifact).get(rel)
        return pointer.size if isinstance(pointer, Pointer) else self.scan(artifact).files[rel]

    def start_hashing(self, wanted: dict[Artifact, list[str]]) -> None:
        """Have the files these artifacts' checksum checks will ask for read by workers while the
        other checks go on (TFC-0006 R20): planned now, taken by `hash`."""
        self.finish_hashing()
        # Kept whether or not workers start: `hash` takes each plan, and asks the cache once.
        self._plans = {a.path: plan_hash(self, a, ps, ahead=True) for a, ps in wanted.items() if ps}
        groups = {key: plan.sizes() for key, plan in self._plans.items() if plan.todo}
        if HashJob.worth_it(groups):
            self._job = HashJob({k: [(f"{self.root}/{r}", n) for r, n in files]
                                 for k, files in groups.items()}, os.cpu_count() or 1)  # fmt: skip

    def finish_hashing(self) -> None:
        """End the workers of `start_hashing`, whatever was not taken (a check that ended early)."""
        if self._job is not None:
            self._job.close()
        self._job, self._plans = None, {}

    def hash(self, artifact: Artifact, paths: list[str]) -> list[str | OSError]:
        """Digests of an artifact's files: from the cache where a key matches, else by reading."""
        self.tally.add_hashed(len(paths))
        plan = self._plans.pop(artifact.path, None)
        if plan is None or plan.paths != paths:  # not planned ahead (or asked otherwise)
            plan, job = plan_hash(self, artifact, paths), None
        else:  # planned ahead: its files, if any are left to read, are the workers'
            job = self._job if plan.todo else None
        self._files_read += len(plan.todo)
        progress = HashProgress(sum(size for _, size in plan.sizes()), len(plan.todo))
        try:
            if job is not None:
                digests = job.take(artifact.path, progress)
            else:
                digests = hash_files([self.root / r for r in plan.todo], progress)
        finally:
            progress.close()
        return finish_hash(self, plan, digests)

    @functools.cached_property
    def commits(self) -> CommitLookup | None:
        """Which code commits exist, asked as each run is checked of one `git cat-file` kept for
        the run (None outside Git)."""
        return CommitLookup.open(self.root)
