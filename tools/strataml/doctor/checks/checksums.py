"""CHECKSUMS.txt against the files, and content_hash against CHECKSUMS.txt (TFC-0008 R1-R5)."""

from __future__ import annotations

from collections.abc import Iterator

from strataml.doctor.checks.artifacts import metadata
from strataml.doctor.checks.history import committed_versions
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import (
    CHK001,
    CHK002,
    CHK003,
    CHK004,
    CHK005,
    CHK006,
    CHK007,
    CHK008,
    CHK009,
    CHK010,
)
from strataml.integrity.checksums import (
    CHECKSUMS,
    EXCLUDED,
    MAX_LISTING_BYTES,
    ChecksumEntry,
    Checksums,
    LineProblem,
    content_hash,
)
from strataml.integrity.digest import is_tagged, shown
from strataml.integrity.hashing import FileChangedError
from strataml.lfs import Pointer
from strataml.workspace import Artifact

_LINE_RULES = {
    LineProblem.MALFORMED: CHK002,
    LineProblem.DUPLICATE: CHK007,
    LineProblem.UNSORTED: CHK008,
    LineProblem.EXCLUDED: CHK009,
    LineProblem.UNSAFE: CHK010,
}


def _advice(artifact: Artifact, first: str | None, committed: str | None = None) -> str:
    """How to repair a listing mismatch: an uncommitted version may be re-stamped; a committed
    one or a finished run never changes, and re-stamping it would add IMM002, LIN002, RUN011."""
    if artifact.kind == "run":
        sealed = "a finished run never changes (TFC-0003 R7)"
        return f"{first}; {sealed}" if first else f"restore it from Git; {sealed}"
    if committed is not None:
        how = (
            "strata dataset add NAME SRC"
            if artifact.kind == "dataset"
            else "strata model register NAME --from-run RUN"
        )
        return (
            f"{first or 'restore it from Git'}; {artifact.path} was committed in {committed[:12]} "
            f"and never changes: put changed files in a new version (`{how}`)"
        )
    restamp = f"if the change is intended, run `strata checksum {artifact.path}`"
    return f"{first}, or {restamp}" if first else restamp


def _committed(ctx: Context, artifact: Artifact) -> str | None:
    """The commit that introduced a dataset or model version, asked only when a hint needs it."""
    if artifact.kind == "run":
        return None
    return committed_versions(ctx).get(artifact.path)


def _verified_before(ctx: Context, artifact: Artifact) -> tuple[str | None, int | None]:
    """The artifact's fingerprint where the cache may vouch for its listing, and the number of
    files a listing verified before over these same stat keys holds (None: not verified)."""
    scan = ctx.scan(artifact)
    if (
        ctx.cache is None
        or not ctx.use_cache
        or ctx.pointers(artifact)
        or scan.symlinks
        or scan.special
        or scan.unportable
        or scan.unreadable
    ):
        return None, None
    fingerprint = ctx.fingerprint(artifact)
    known = ctx.cache.get_note(f"verified:{artifact.path}")
    if known is not None and known.split(":", 1)[0] == fingerprint:
        return fingerprint, int(known.split(":", 1)[1])
    return fingerprint, None


def paths_to_hash(ctx: Context, artifact: Artifact) -> list[str]:
    """The files `check_checksums` will ask `ctx.hash` for, so that the engine can have them read
    beside the other checks (TFC-0006 R20); the same decisions, in the same order."""
    cache = ctx.cache
    note = cache.get_note(f"verified:{artifact.path}") if cache is not None else None
    if note is not None and _verified_before(ctx, artifact)[1] is not None:
        return []  # (asked only where a note is held: the answer needs Git's, the pointers)
    scan = ctx.scan(artifact)
    if scan.files.get(CHECKSUMS, MAX_LISTING_BYTES + 1) > MAX_LISTING_BYTES:
        return []  # none (a run not sealed yet, CHK001), or too large to be one (CHK002)
    listing = ctx.listing(artifact.path)
    if isinstance(listing, OSError):
        return []
    return [e.path for e in _to_hash(ctx, artifact, listing)]


def _to_hash(ctx: Context, artifact: Artifact, listing: Checksums) -> list[ChecksumEntry]:
    """The listed files that are on disk: the ones a check reads."""
    on_disk = {p for p in ctx.scan(artifact).files if p not in EXCLUDED}
    return [e for e in listing.entries if e.path in on_disk]


def check_checksums(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    """The listing against the files. A listing that verified before, over files whose stat keys
    have not changed since, is not read again (the per-file cache would give the same answer)."""
    cache, note = ctx.cache, f"verified:{artifact.path}"
    scan = ctx.scan(artifact)
    fingerprint, verified_files = _verified_before(ctx, artifact)
    if verified_files is not None:
        ctx.tally.add_hashed(verified_files)
        return
    found = list(_check_checksums(ctx, artifact))
    yield from found
    if cache is not None and fingerprint is not None and ctx.settled(artifact):
        listing = ctx.listing(artifact.path) if not found and CHECKSUMS in scan.files else None
        verified = (
            f"{fingerprint}:{len(listing.digests())}" if isinstance(listing, Checksums) else None
        )
        cache.set_note(note, verified)


def _check_checksums(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    at = f"{artifact.path}/{CHECKSUMS}"
    restamp = _advice(artifact, None)
    scan = ctx.scan(artifact)
    if CHECKSUMS not in scan.files and artifact.kind == "run":
        return  # a run is sealed when it ends: the run checks report an unsealed one (RUN005)
    if CHECKSUMS not in scan.files:
        yield CHK001.at(
            at,
            f"{artifact.kind} version has no {CHECKSUMS}",
            hint=f"run `strata checksum {artifact.path}`",
        )
        return
    if scan.files[CHECKSUMS] > MAX_LISTING_BYTES:
        yield CHK002.at(
            at,
            f"{CHECKSUMS} is {scan.files[CHECKSUMS]} bytes, too large to be a listing",
            hint=restamp,
        )
        return
    listing = ctx.listing(artifact.path)
    if isinstance(listing, OSError):
        yield CHK001.at(
            at,
            f"{CHECKSUMS} cannot be read: {listing.strerror or listing}",
            hint="make it a readable regular file",
        )
        return
    pointers = ctx.pointers(artifact)
    for problem in listing.problems:
        yield _LINE_RULES[problem.kind].at(at, problem.message, line=problem.line, hint=restamp)

    on_disk = {p for p in scan.files if p not in EXCLUDED}
    not_regular = set(scan.symlinks) | set(scan.special)  # reported by the tree check
    to_hash = _to_hash(ctx, artifact, listing)
    for entry in listing.entries:
        if entry.path not in on_disk and entry.path not in not_regular:
            yield CHK003.at(
                f"{artifact.path}/{entry.path}",
                f"listed in {CHECKSUMS} (line {entry.line}) but missing",
                hint=_advice(
                    artifact,
                    f"restore it (git checkout -- {artifact.path})",
                    _committed(ctx, artifact),
                ),
            )
    listed = {e.path for e in listing.entries}
    for path in sorted(on_disk - listed):
        yield CHK004.at(
            f"{artifact.path}/{path}",
            f"not listed in {CHECKSUMS}",
            hint=_advice(artifact, "remove it", _committed(ctx, artifact)),
        )
    digests = ctx.hash(artifact, [e.path for e in to_hash])
    for entry, digest in zip(to_hash, digests, strict=True):
        if isinstance(digest, FileChangedError):
            yield CHK005.at(
                f"{artifact.path}/{entry.path}",
                "changed while it was being read, so it is not verified",
                hint="run doctor again once nothing is writing to it",
            )
        elif isinstance(digest, OSError):
            yield CHK005.at(
                f"{artifact.path}/{entry.path}",
                f"cannot read: {digest.strerror or digest}",
                hint="check its permissions",
            )
        elif digest != entry.digest and isinstance(pointers.get(entry.path), Pointer):
            continue  # LFS content not pulled: not verified, the LFS check says so (LFS002)
        elif digest != entry.digest:
            yield CHK005.at(
                f"{artifact.path}/{entry.path}",
                f"content does not match {CHECKSUMS} line {entry.line} (blake3 {digest[:12]}…, listed {entry.digest[:12]}…)",
                hint=_advice(
                    artifact,
                    f"restore it (git checkout -- {artifact.path})",
                    _committed(ctx, artifact),
                ),
            )
    yield from _check_content_hash(ctx, artifact, listing.digests())


def _check_content_hash(
    ctx: Context, artifact: Artifact, listed: dict[str, str]
) -> Iterator[Diagnostic]:
    loaded = metadata(ctx, artifact)
    declared = loaded[1].get("content_hash") if loaded else None
    if not loaded or not isinstance(declared, str) or not is_tagged(declared):
        return  # missing or malformed: the schema check reports it
    expected = content_hash(listed)
    if declared != expected:
        yield CHK006.at(
            f"{artifact.path}/metadata.yaml",
            f"content_hash {shown(declared)} does not match {CHECKSUMS} ({shown(expected)})",
            line=loaded[0].line_of(("content_hash",)),
            hint=f"run `strata checksum {artifact.path}`",
        )
