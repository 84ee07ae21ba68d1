"""Names and places (TFC-0001 R4-R9, R11)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator

from strataml.doctor.context import Context, within
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import (
    LAY003,
    LAY004,
    LAY005,
    LAY006,
    LAY010,
    LAY011,
    LAY012,
    LAY014,
    LAY015,
    LAY016,
)
from strataml.integrity.tree import scan_tree, symlink_escapes
from strataml.workspace import Artifact, Misplaced

_HINTS = {
    Misplaced.BAD_NAME: (
        LAY003,
        "name must match ^[a-z0-9][a-z0-9._-]{0,63}$",
        "rename the directory, e.g. lower-case with dashes",
    ),
    Misplaced.BAD_VERSION: (
        LAY004,
        "version directory must be v<N> or v<MAJOR>.<MINOR>.<PATCH>",
        "rename it, e.g. v1",
    ),
    Misplaced.BAD_RUN_NAME: (
        LAY006,
        "run directory must be run-YYYY-MM-DD-<suffix> with a real date",
        "runs are named by tools/run.py, e.g. run-2026-11-24-k7q2xm",
    ),
    Misplaced.STRAY_FILE: (
        LAY005,
        "file where only artifact directories belong",
        "move it into a version directory, or into README.md",
    ),
}


def check_layout(ctx: Context) -> Iterator[Diagnostic]:
    for finding in ctx.layout.findings:
        if not ctx.selected(finding.path):
            continue
        if finding.kind is Misplaced.SYMLINK:
            yield _symlink(ctx, finding.path)
            continue
        rule, message, hint = _HINTS[finding.kind]
        yield rule.at(finding.path, message, hint=hint)


def _symlink(ctx: Context, path: str) -> Diagnostic:
    reason = symlink_escapes(ctx.root, ctx.root / path)
    if reason is not None:
        return LAY010.at(
            path, f"symlink {reason}", hint="replace it with the real file, or remove it"
        )
    return LAY011.at(
        path,
        "symlink where artifacts must hold real files",
        hint="copy the file in instead; checksums must cover the bytes themselves",
    )


def check_experiments_tree(ctx: Context) -> Iterator[Diagnostic]:
    if not ctx.selected("experiments") or not (ctx.root / "experiments").is_dir():
        return
    scan = scan_tree(ctx.root / "experiments")
    for link in scan.symlinks:
        path = f"experiments/{link}"
        reason = symlink_escapes(ctx.root, ctx.root / path)
        if reason is not None and within(path, ctx.target):
            yield LAY010.at(
                path, f"symlink {reason}", hint="keep experiment code inside the repository"
            )


try:
    _PATH_MAX = os.pathconf("/", "PC_PATH_MAX")
except (OSError, ValueError):
    _PATH_MAX = 4096


def check_artifact_tree(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    scan = ctx.scan(artifact)
    for rel in scan.symlinks:
        yield _symlink(ctx, f"{artifact.path}/{rel}")
    for rel in scan.special:
        yield LAY012.at(
            f"{artifact.path}/{rel}",
            "not a regular file (FIFO, socket or device)",
            hint="artifacts hold regular files only; remove it",
        )
    for rel in scan.unportable:
        yield LAY014.at(
            _printable(f"{artifact.path}/{rel}"),
            "file name is not UTF-8 or holds a control character or backslash",
            hint="rename it; CHECKSUMS.txt lines cannot express this name",
        )
    for rel in scan.unreadable:
        full = os.fsencode(ctx.root / artifact.path / rel)
        if len(full) >= _PATH_MAX:  # the kernel refuses the name itself, whatever the permissions
            yield LAY012.at(
                _printable(f"{artifact.path}/{rel}"),
                f"cannot be read: its path is {len(full)} bytes, past the system's limit of "
                f"{_PATH_MAX}",
                hint="shorten the directory names on the way to it",
            )
            continue
        yield LAY012.at(f"{artifact.path}/{rel}", "cannot be read", hint="check its permissions")
    yield from _case_collisions(artifact, [*scan.files, *scan.symlinks, *scan.special])


def _case_collisions(artifact: Artifact, paths: list[str]) -> Iterator[Diagnostic]:
    # On a case-insensitive checkout (macOS, Windows) one file overwrites the other.
    if len({rel.casefold() for rel in paths}) == len(paths):
        return
    first: dict[str, str] = {}
    for rel in sorted(paths):
        folded = rel.casefold()
        if folded in first:
            yield LAY016.at(
                _printable(f"{artifact.path}/{rel}"),
                f"differs from {_printable(first[folded])} only in letter case",
                hint="rename one; a case-insensitive checkout keeps only one of them",
            )
        else:
            first[folded] = rel


def _printable(path: str) -> str:
    return (
        path.encode("utf-8", "backslashreplace")
        .decode("utf-8")
        .encode("unicode_escape")
        .decode("ascii")
    )


# What the atomic writer names its temporary file: ".<name>.<8 random characters>.tmp".
LEFTOVER = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")


def check_leftovers(ctx: Context) -> Iterator[Diagnostic]:
    """Temporary files of writes that were killed before their rename (TFC-0001 R12)."""
    places: list[tuple[str, Iterable[str]]] = [(a.path, ctx.scan(a).files) for a in ctx.artifacts]
    models = ctx.root / "models"
    if models.is_dir():
        for model in sorted(p for p in models.iterdir() if p.is_dir() and not p.is_symlink()):
            places.append(
                (f"models/{model.name}", [f.name for f in model.iterdir() if f.is_file()])
            )
    for base, names in places:
        for rel in sorted(name for name in names if name.endswith(".tmp")):
            match = LEFTOVER.fullmatch(rel.rsplit("/", 1)[-1])
            path = f"{base}/{rel}"
            if match and ctx.selected(path):
                yield LAY015.at(
                    path,
                    f"temporary file of an interrupted write of {match.group(1)}; "
                    f"{match.group(1)} itself is whole (the old or the new version)",
                    hint=f"delete it: rm {path}",
                )
    if ctx.whole_repository:  # e.g. index.json, or the staging copy of a site (tools/index.py)
        for entry in sorted(ctx.root.iterdir()):
            match = LEFTOVER.fullmatch(entry.name)
            if match:
                what = "copy" if entry.is_dir() and not entry.is_symlink() else "file"
                yield LAY015.at(
                    entry.name,
                    f"temporary {what} of an interrupted write of {match.group(1)}; "
                    f"{match.group(1)} itself is whole (the old or the new version)",
                    hint=f"delete it: rm {'-r ' if what == 'copy' else ''}{entry.name}",
                )
