"""run.log_artifact: a file or directory of the repository copied into a run's artifacts/,
never through a symlink, each file whole or absent (TFC-0002 R17, TFC-0003 R6, R8)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from strataml.atomic import open_atomic
from strataml.confine import PathEscapeError, confined, symlink_on_the_way
from strataml.integrity.tree import portable_name
from strataml.runner.origin import repository_path
from strataml.safeopen import open_beneath
from strataml.schemas import is_safe_relative_path
from strataml.tracking import TrackingError


def copy_artifact(
    root: Path, path: str | os.PathLike[str], output_dir: Path, name: str | None
) -> Path:
    """Where the copy is; TrackingError, before anything is copied, for a path outside the
    repository, a symlink on the way or inside, a special file or an unportable name."""
    rel = repository_path(
        root, path, "a run keeps only what the repository holds", what="log_artifact "
    )
    source = root / rel
    bad = symlink_on_the_way(root, source)
    if bad is not None:
        raise TrackingError(f"log_artifact {path}: {bad} is a symlink, which is never followed")
    target = name if name is not None else source.name
    if not is_safe_relative_path(target) or not all(map(portable_name, target.split("/"))):
        raise TrackingError(
            f"log_artifact: {target!r} is not a portable relative path inside artifacts/"
        )
    files = _files_of(root, rel, path)
    destination = output_dir / target
    for inner in files:  # every file checked above: nothing is copied from a refused tree
        where = destination / inner if inner else destination
        try:
            confined(root, where)  # before mkdir: no link in artifacts/ may redirect the copy
            where.parent.mkdir(parents=True, exist_ok=True)
            fd = open_beneath(root, f"{rel}/{inner}" if inner else rel)
        except (PathEscapeError, OSError) as exc:
            raise TrackingError(f"log_artifact {path}: {exc}") from exc
        with os.fdopen(fd, "rb") as handle, open_atomic(where) as out:
            shutil.copyfileobj(handle, out)
    return destination


def _files_of(root: Path, rel: str, shown: str | os.PathLike[str]) -> list[str]:
    """The regular files under `rel` ('' for `rel` itself), or TrackingError for any link or
    special file among them."""
    source = root / rel
    try:
        mode = source.lstat().st_mode
    except OSError as exc:
        raise TrackingError(f"log_artifact {shown}: {exc.strerror or exc}") from exc
    if stat.S_ISREG(mode):
        return [""]
    if not stat.S_ISDIR(mode):
        raise TrackingError(f"log_artifact {shown}: not a regular file or directory")
    found = []
    for directory, dirs, names in os.walk(source):
        here = Path(directory)
        for entry in (*dirs, *names):
            mode = (here / entry).lstat().st_mode
            inner = (here / entry).relative_to(source).as_posix()
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise TrackingError(
                    f"log_artifact {shown}: {inner} is a symlink or special file; "
                    "runs hold regular files only"
                )
            if not portable_name(entry):
                raise TrackingError(f"log_artifact {shown}: {inner!r} is not a portable name")
            if stat.S_ISREG(mode):
                found.append(inner)
    return sorted(found)
