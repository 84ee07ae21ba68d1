from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG
from typing import Protocol

_UNPORTABLE = re.compile(r"[\x00-\x1f\x7f\\]")
Entry = tuple[str, "os.stat_result | OSError | None"]  # a name, its lstat (None: not asked)


class DirListings(Protocol):
    """Directory listings kept from an earlier scan (integrity/dirlistings.py)."""

    def entries(self, label: str, where: str, own: os.stat_result) -> list[Entry] | None: ...

    def listed(self, label: str, own: os.stat_result, names: tuple[str, ...]) -> None: ...


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


def scan_tree(root: str | Path, listings: DirListings | None = None, label: str = "") -> TreeScan:
    """`listings` (with `label`, the directory's name there) lets a directory whose stat key is
    unchanged since it was last listed be taken from there: its entries are asked for by name."""
    # Strings, not Path objects, on the way down: this runs once per artifact of a registry
    # (whose callers may pass a string and save building a Path each).
    top = os.fspath(root)
    regular: list[tuple[str, int, int, int, int]] = []  # path, size, mtime, ctime, inode
    symlinks: list[str] = []
    special: list[str] = []
    unportable: list[str] = []
    unreadable: list[str] = []
    directories: list[tuple[str, int, int, int]] = []
    pending: list[tuple[str, os.stat_result | None]] = [("", None)]
    if listings is not None:  # the stat key of the top, taken before it is listed
        with contextlib.suppress(OSError):
            top_stat = os.lstat(top)
            pending = [("", top_stat if S_ISDIR(top_stat.st_mode) else None)]
    while pending:
        rel_dir, own = pending.pop()
        where = f"{top}/{rel_dir}" if rel_dir else top
        named = f"{label}/{rel_dir}" if rel_dir else label
        found = None if listings is None or own is None else listings.entries(named, where, own)
        if found is None:
            try:
                with os.scandir(where) as listing:
                    entries = list(listing)
            except OSError:
                unreadable.append(rel_dir or ".")
                continue
            found = _asked(entries)
            if listings is not None and own is not None:
                listings.listed(named, own, tuple(entry.name for entry in entries))
        prefix = f"{rel_dir}/" if rel_dir else ""
        for name, st in found:
            rel = prefix + name
            if st is None:
                unportable.append(rel)
                continue
            if isinstance(st, OSError):
                unreadable.append(rel)
                continue
            mode = st.st_mode
            if S_ISREG(mode):
                regular.append((rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
            elif S_ISDIR(mode):
                pending.append((rel, st))
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


def _asked(entries: list[os.DirEntry[str]]) -> list[Entry]:
    """Each entry's name with its `lstat` (an OSError where that failed; None for a name that
    cannot appear in a CHECKSUMS line, not asked about)."""
    # One check of all names at once; names one by one only when some name fails it.
    each = not portable_name("".join([e.name for e in entries]))
    found: list[Entry] = []
    for entry in entries:
        if each and not portable_name(entry.name):
            found.append((entry.name, None))
            continue
        try:
            found.append((entry.name, entry.stat(follow_symlinks=False)))
        except OSError as exc:
            found.append((entry.name, exc))
    return found


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
