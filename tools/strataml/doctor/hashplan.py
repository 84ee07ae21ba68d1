"""What a checksum check reads: the cache's digests where its keys match, the rest planned for
reading (TFC-0008 R13), and what was read remembered. Split from the reading itself so that a
batch's files can be planned ahead and read beside the other checks (TFC-0006 R20)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from strataml.integrity.cache import HashCache, StatKey
from strataml.integrity.tree import TreeScan
from strataml.lfs import BadPointer, Pointer
from strataml.workspace import Artifact


class Context(Protocol):
    """What planning asks of doctor's Context (which imports this module)."""

    @property
    def cache(self) -> HashCache | None: ...
    @property
    def use_cache(self) -> bool: ...
    def scan(self, artifact: Artifact) -> TreeScan: ...
    def pointers(self, artifact: Artifact) -> dict[str, Pointer | BadPointer]: ...
    def clean_blobs(self, paths: list[str], sizes: dict[str, StatKey | None]) -> dict[str, str]: ...


@dataclass
class HashPlan:
    artifact: Artifact
    paths: list[str]  # as the check asked: relative to the artifact
    rels: list[str]  # repo-relative
    keys: dict[str, StatKey | None]  # stat taken by the scan, before any byte is read
    found: dict[str, str | OSError]  # digests the cache holds for these keys
    blobs: dict[str, str] | None  # clean Git identities to remember digests under (None: later)
    todo: list[str]  # repo-relative paths to read

    def sizes(self) -> list[tuple[str, int]]:
        return [(r, k.size if (k := self.keys[r]) is not None else 0) for r in self.todo]


def plan_hash(
    ctx: Context, artifact: Artifact, paths: list[str], *, ahead: bool = False
) -> HashPlan:
    """The cache's answers, and what is left to read. `ahead` (files read before the checks ask,
    TFC-0006 R20) on a cache that held nothing when the run began asks no Git: neither a stat key
    nor a clean identity can be found in it, so everything is read, and the identities that the
    digests are remembered under are found once they are."""
    rels = [f"{artifact.path}/{p}" for p in paths]
    scanned = ctx.scan(artifact).stats
    keys = {
        r: StatKey(*scanned[p]) if p in scanned else None for r, p in zip(rels, paths, strict=True)
    }
    cache = ctx.cache
    if ahead and (cache is None or cache.held_nothing):
        return HashPlan(artifact, paths, rels, keys, {}, None if cache else {}, rels)
    found: dict[str, str | OSError] = {}
    if cache is not None and ctx.use_cache:
        for rel, (_, digest) in cache.lookup_stat(keys).items():
            found[rel] = digest
    misses = [
        r for r in rels if r not in found and (cache is None or r not in cache.changed_in_place)
    ]
    blobs = _identities(ctx, artifact, misses, keys)
    if cache is not None and ctx.use_cache and blobs:
        for rel, cached in cache.lookup_blobs(blobs).items():
            found[rel] = cached
            cache.remember(rel, keys[rel], cached, None)
    todo = [r for r in rels if r not in found]
    return HashPlan(artifact, paths, rels, keys, found, blobs, todo)


def _identities(
    ctx: Context, artifact: Artifact, paths: list[str], keys: dict[str, StatKey | None]
) -> dict[str, str]:
    """The clean Git identities of those `paths` that have one (`<blob>:<size>[:pointer]`)."""
    blobs = ctx.clean_blobs(paths, keys) if ctx.cache is not None and paths else {}
    # An LFS pointer and the content it stands for share a blob id: the key says which of the
    # two the working tree holds, and its size.
    pointers = ctx.pointers(artifact) if blobs else {}
    return {
        r: f"{b}:{k.size}" + (":pointer" if r[len(artifact.path) + 1 :] in pointers else "")
        for r, b in blobs.items()
        if (k := keys[r]) is not None
    }


def finish_hash(ctx: Context, plan: HashPlan, digests: list[str | OSError]) -> list[str | OSError]:
    """Every asked file's digest (or why it has none), what was read remembered."""
    found = dict(plan.found)
    cache = ctx.cache
    blobs = plan.blobs
    if blobs is None:
        blobs = _identities(ctx, plan.artifact, plan.todo, plan.keys)
    for rel, result in zip(plan.todo, digests, strict=True):
        found[rel] = result
        if cache is not None and isinstance(result, str):
            cache.remember(rel, plan.keys[rel], result, blobs.get(rel))
    return [found[r] for r in plan.rels]
