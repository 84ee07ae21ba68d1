from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG

_UNPORTABLE = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True, slots=True)
class TreeScan:
    """What lies under a directory, without following symlinks; paths relative, POSIX."""

    files: dict[str, int] = field(default_factory=dict)  # regular files -> size
    stats: dict[str, tuple[int, int, int, int]] = field(
        default_factory=dict
    )  # size, mtime, ctime, inode; both in path order
    symlinks: tuple[str, ...] = ()
    special: tuple[str, ...] = ()  # FIFOs, sockets, devices
    unportable: tuple[str, ...] = ()  # names that cannot appear in a CHECKSUMS line
    unreadable: tuple[str, ...] = ()  # directories we could not list
    directories: tuple[
        tuple[str, int, int, int], ...
    ] = ()  # subdirectories: path, mtime, ctime, inode


def scan_tree(root: str | Path) -> TreeScan:
    # Strings, not Path objects, on the way down: this runs once per artifact of a registry
    # (whose callers may pass a string and save building a Path each).
    top = os.fspath(root)
    regular: list[tuple[str, int, int, int, int]] = []  # path, size, mtime, ctime, inode
    symlinks: list[str] = []
    special: list[str] = []
    unportable: list[str] = []
    unreadable: list[str] = []
    directories: list[tuple[str, int, int, int]] = []
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        try:
            with os.scandir(f"{top}/{rel_dir}" if rel_dir else top) as listing:
                entries = list(listing)
        except OSError:
            unreadable.append(rel_dir or ".")
            continue
        prefix = f"{rel_dir}/" if rel_dir else ""
        # One check of all names at once; names one by one only when some name fails it.
        each = not portable_name("".join([e.name for e in entries]))
        for entry in entries:
            rel = prefix + entry.name
            if each and not portable_name(entry.name):
                unportable.append(rel)
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                unreadable.append(rel)
                continue
            mode = st.st_mode
            if S_ISREG(mode):
                regular.append((rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
            elif S_ISDIR(mode):
                pending.append(rel)
                directories.append((rel, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
            elif S_ISLNK(mode):
                symlinks.append(rel)
            else:
                special.append(rel)
    regular.sort()  # by path: both maps iterate in path order
    return TreeScan(
        {entry[0]: entry[1] for entry in regular},
        {entry[0]: entry[1:] for entry in regular},
        tuple(sorted(symlinks)),
        tuple(sorted(special)),
        tuple(sorted(unportable)),
        tuple(sorted(unreadable)),
        tuple(sorted(directories)),
    )


def portable_name(name: str) -> bool:
    # os.scandir decodes undecodable bytes as lone surrogates.
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return _UNPORTABLE.search(name) is None


def symlink_escapes(root: Path, link: Path) -> str | None:
    """Why a symlink is unsafe (leaves `root`, dangles or loops), or None if it stays inside."""
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return f"dangles (points to {str(link.readlink())!r})"
    except (RuntimeError, OSError):
        return "loops"
    if not target.is_relative_to(root.resolve()):
        return f"points outside the repository (to {str(link.readlink())!r})"
    return None
