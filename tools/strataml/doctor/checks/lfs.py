"""Git LFS: content pulled or not, pointers well formed, large files kept out of Git (TFC-0008 R12)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import LFS001, LFS002, LFS003, LFS005, LFS006
from strataml.integrity.checksums import CHECKSUMS, MAX_LISTING_BYTES
from strataml.integrity.hashing import hash_file
from strataml.lfs import BadPointer, Pointer, parse_pointer
from strataml.workspace import Artifact

# Records people review as text stay in Git whatever their size.
DOCUMENTS = frozenset({
    "metadata.yaml", "metrics.yaml", "card.md", "datasheet.md", "CHECKSUMS.txt", "SIGNATURE.asc",
    "config.yaml", "system.json", "metrics.json", "logs.txt", "README.md",
})  # fmt: skip
# A run's metric history is a record too (TFC-0003 R15): doctor reads it to check the summary.
RUN_DOCUMENTS = frozenset({"metrics.csv"})


def _suffix_pattern(artifact: Artifact, rel: str) -> str:
    suffix = rel.rsplit(".", 1)[1] if "." in rel.rsplit("/", 1)[-1] else None
    top = artifact.path.split("/", 1)[0]
    tree = "runs/*/artifacts" if top == "runs" else top
    return f"{tree}/**/*.{suffix}" if suffix else f"{artifact.path}/{rel}"


def check_lfs(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    files = ctx.scan(artifact).files
    pointers = ctx.pointers(artifact)
    listed = (
        _listed(ctx, artifact) if any(isinstance(p, Pointer) for p in pointers.values()) else {}
    )
    for rel, pointer in sorted(pointers.items()):
        path = f"{artifact.path}/{rel}"
        if isinstance(pointer, BadPointer):
            yield LFS003.at(
                path,
                f"looks like a Git LFS pointer but {pointer.reason}",
                line=1,
                hint=f"restore it (git checkout -- {path}), then `git lfs pull`",
            )
        elif rel in listed and listed[rel] == hash_file(ctx.root / path):
            continue  # the pointer text is the content CHECKSUMS.txt lists: a file, not a pointer
        else:
            yield LFS002.at(
                path,
                f"LFS content not pulled ({pointer.size} bytes, sha256 {pointer.oid[:12]}…): not verified",
                hint=f"`strata lfs pull {artifact.path}` fetches and verifies it",
            )
    if not ctx.in_git:
        return  # which files LFS covers is Git's answer (.gitattributes)
    limit = ctx.config.max_plain_bytes
    # Same files (stat keys), same attributes, same index and limit as a clean run before: clean.
    state = None
    if ctx.cache is not None and ctx.use_cache and not pointers and ctx.attributes_known:
        state = _state(ctx, artifact, limit)
        if ctx.cache.get_note(f"lfs:{artifact.path}") == state:
            return
    found = list(_git_checks(ctx, artifact, files, pointers, limit))
    yield from found
    if ctx.cache is not None and state is not None and ctx.settled(artifact):
        ctx.cache.set_note(f"lfs:{artifact.path}", None if found else state)


def _listed(ctx: Context, artifact: Artifact) -> dict[str, str]:
    """What CHECKSUMS.txt lists ({} where there is no readable listing: CHK001 says why)."""
    if ctx.scan(artifact).files.get(CHECKSUMS, MAX_LISTING_BYTES + 1) > MAX_LISTING_BYTES:
        return {}  # none, or too large to be one (CHK002)
    listing = ctx.listing(artifact.path)
    return {} if isinstance(listing, OSError) else listing.digests()


def _state(ctx: Context, artifact: Artifact, limit: int) -> str:
    # The attributes as Git gives them for each file (one check-attr for the whole run): a
    # .gitattributes anywhere on the way, .git/info/attributes or the user's own file all count.
    # Files with the same attributes share one mapping (Context.attributes): each distinct one
    # is spelled out once, and each file names its own by number.
    numbers: dict[int, int] = {}
    distinct: list[list[tuple[str, str]]] = []
    attributes = []
    for rel in ctx.scan(artifact).files:
        mapping = ctx.attributes(f"{artifact.path}/{rel}")
        number = numbers.get(id(mapping))
        if number is None:
            number = numbers[id(mapping)] = len(distinct)
            distinct.append(sorted(mapping.items()))
        attributes.append((rel, number))
    try:  # what the index stages (the check compares it with the files)
        st = os.stat(f"{ctx.root}/.git/index")  # noqa: PTH116 (a string: no Path built)
        index = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    except OSError:
        index = "-"
    return ";".join(
        [
            ctx.fingerprint(artifact),
            str(limit),
            repr(distinct),
            repr(attributes),
            f".git/index:{index}",
        ]
    )


def _git_checks(
    ctx: Context,
    artifact: Artifact,
    files: dict[str, int],
    pointers: dict[str, Pointer | BadPointer],
    limit: int,
) -> Iterator[Diagnostic]:
    paths = {f"{artifact.path}/{rel}": rel for rel in files if rel not in pointers}
    # The run's one `git check-attr` already answered for every file (Context.attributes).
    covered = {path for path in paths if ctx.attributes(path).get("filter") == "lfs"}
    for path, rel in sorted(paths.items()):
        exempt = rel in DOCUMENTS or (artifact.kind == "run" and rel in RUN_DOCUMENTS)
        if files[rel] > limit and path not in covered and not exempt:
            if not ctx.attributes_known:  # fail closed, naming the cause
                yield LFS001.at(
                    path,
                    f"{files[rel]} bytes, over the {limit}-byte limit for plain Git files, and git check-attr failed: no LFS attribute is known to cover it",
                    hint=f"run git check-attr filter -- {path} to see why Git cannot read the attributes",
                )
                continue
            pattern = _suffix_pattern(artifact, rel)
            yield LFS001.at(
                path,
                f"{files[rel]} bytes, over the {limit}-byte limit for plain Git files, and no LFS attribute covers it",
                hint=f'git lfs track "{pattern}", then git add --renormalize {path}; if it is already committed, '
                f'git lfs migrate import --include="{path}" rewrites the history',
            )
    # The run's one look at the index answered for every covered file (Context.lfs_stored), and
    # Git's stat cache says which files changed since they were added: hash only those.
    changed = ctx.modified
    for path in sorted(covered):
        stored = ctx.lfs_stored.get(path)
        if stored is None:
            continue  # not in the index yet
        committed = parse_pointer(stored) if isinstance(stored, bytes) else None
        if not isinstance(committed, Pointer):
            size = stored if isinstance(stored, int) else len(stored)
            yield LFS006.at(
                path,
                f"an LFS attribute covers it, but Git stored its {size} bytes raw",
                hint=f'git add --renormalize {path} (or git lfs migrate import --include="{path}" if committed)',
            )
            continue
        size = files[paths[path]]
        if size != committed.size or (path in changed and _sha256(ctx, path) != committed.oid):
            yield LFS005.at(
                path,
                f"content differs from its LFS pointer (pointer: {committed.size} bytes, sha256 {committed.oid[:12]}…)",
                hint=f"restore it: git checkout -- {path} (git lfs pull fetches the committed content)",
            )


def _sha256(ctx: Context, path: str) -> str:
    digest = hashlib.sha256()
    with (ctx.root / path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
