"""Writers stay inside the repository: no symlinked directory may redirect them (TFC-0001 R8)."""

from __future__ import annotations

import os
from pathlib import Path

from strataml.config import PYPROJECT, has_strataml_table
from strataml.errors import UsageError
from strataml.schemas import is_safe_relative_path


class PathEscapeError(UsageError):
    """A path the tools would write to leaves the repository or passes through a symlink."""


def symlink_on_the_way(root: Path, path: Path) -> str | None:
    """The first repo-relative component of `path` that is a symlink, '..' or outside `root`."""
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
    if rel == ".":
        return None
    if not is_safe_relative_path(rel):
        return rel
    here = root
    for part in rel.split("/"):
        here = here / part
        if here.is_symlink():
            return here.relative_to(root).as_posix()
    return None


def confined(root: Path, path: Path) -> Path:
    """`path` unchanged if writing to it stays inside `root`; PathEscapeError otherwise."""
    bad = symlink_on_the_way(root, path)
    if bad is None:
        return path
    if path.is_relative_to(root) and (root / bad).is_symlink():
        raise PathEscapeError(
            f"{bad} is a symlink; StrataML writes only into real directories of the repository"
        )
    raise PathEscapeError(f"{bad}: outside the repository; StrataML writes only inside it")


def check_user_path(path: Path) -> None:
    """Refuse a path given on the command line whose part inside a repository is a symlink."""
    lexical = Path(os.path.abspath(path))  # noqa: PTH100 - resolve() follows the links we look for
    for ancestor in lexical.parents:
        if has_strataml_table(ancestor / PYPROJECT):
            confined(ancestor, lexical)
            return
