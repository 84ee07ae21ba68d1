from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from strataml.errors import StrataError


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` so that readers see the old file or the new one, never a mix."""
    with open_atomic(path, mode=mode) as handle:
        handle.write(data)


@contextlib.contextmanager
def open_atomic(path: Path, *, mode: int = 0o644, overwrite: bool = True) -> Iterator[BinaryIO]:
    """A file to stream into that appears at `path` whole when the block ends, or not at all.

    With overwrite=False an existing `path` is refused before and after writing: the final
    step is a hard link, which fails rather than replace a file that appeared meanwhile.
    """
    if not overwrite:
        refuse_existing(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)  # mkstemp creates 0600
        if overwrite:
            Path(tmp).replace(path)
        else:
            _link_new(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def check_output(path: Path, *, overwrite: bool) -> None:
    """A file named by the user (-o, --output) is never clobbered without --force (TFC-0001 R14)."""
    if not path.parent.is_dir():
        raise StrataError(f"{path.parent}: no such directory")
    if path.is_dir():
        raise StrataError(f"{path}: is a directory; name the file to write")
    if not overwrite:
        refuse_existing(path)


def refuse_existing(path: Path) -> None:
    if path.exists() or path.is_symlink():
        raise StrataError(f"{path} exists; give --force to overwrite it")


def _link_new(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise StrataError(f"{path} exists; give --force to overwrite it") from None
    tmp.unlink()


def fsync_path(path: Path) -> None:
    """Flush a file, or a directory's entries (a rename, a new file), to disk."""
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_text_atomic(path: Path, text: str, *, mode: int = 0o644, overwrite: bool = True) -> None:
    with open_atomic(path, mode=mode, overwrite=overwrite) as handle:
        handle.write(text.encode("utf-8"))


def write_files_atomic(files: dict[Path, bytes], *, mode: int = 0o644) -> None:
    """Several files that change together: every byte is written and synced before the first
    rename, so a kill leaves each file whole and the renames, back to back, in the given order."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).chmod(mode)
        for tmp, path in staged:
            Path(tmp).replace(path)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for parent in dict.fromkeys(path.parent for path in files):
        fsync_path(parent)


# Past this many files one sync of every file system costs less than a sync of each file (a
# dashboard of 10,000 runs writes a log file each).
SYNC_ALL_FROM = 256


def _sync_tree(top: Path) -> None:
    """Every file and directory entry under `top` on disk."""
    walked = list(os.walk(top))
    if sum(len(names) for _, _, names in walked) >= SYNC_ALL_FROM:
        os.sync()  # returns once all is written (Linux); one call instead of thousands
        return
    for directory, _, names in walked:
        for name in names:
            fsync_path(Path(directory, name))
        fsync_path(Path(directory))


@contextlib.contextmanager
def staged_directory(final: Path) -> Iterator[Path]:
    """A directory to fill that replaces `final` in one step when the block ends, or never.

    Readers see the old tree or the new one, never a mix (TFC-0001 R12); a kill leaves at most
    `.<name>.<8 characters>.tmp` beside `final`.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        yield staging
        _sync_tree(staging)
        staging.chmod(0o755)  # mkdtemp creates 0700
        if final.is_dir() and not final.is_symlink():
            _exchange(staging, final)  # the old tree is now at `staging`
        else:
            staging.rename(final)
        fsync_path(final.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2  # linux/fs.h


def place_directory(staging: Path, final: Path) -> None:
    """Move a filled directory to `final` (same file system) in one rename that fails if `final`
    exists: readers see nothing or the whole tree, and never one replaced (TFC-0002 R27)."""
    _sync_tree(staging)
    fsync_path(staging)
    if not _renameat2(staging, final, _RENAME_NOREPLACE):
        if os.path.lexists(final):  # no renameat2 here: a check, then the rename
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(final))
        staging.rename(final)
    fsync_path(final.parent)


def _renameat2(a: Path, b: Path, flags: int) -> bool:
    """True once done; False where Linux's renameat2 is missing or unsupported here."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(-100, os.fsencode(a), -100, os.fsencode(b), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _exchange(a: Path, b: Path) -> None:
    """Swap two directories atomically (Linux renameat2); elsewhere two renames, a short gap."""
    import ctypes  # only the site swap needs it

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    at_cwd = -100
    if (
        renameat2 is not None
        and renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), _RENAME_EXCHANGE) == 0
    ):
        return
    code = ctypes.get_errno()
    if renameat2 is not None and code not in (errno.ENOSYS, errno.EINVAL):
        raise OSError(code, os.strerror(code), str(b))
    aside = a.with_name(a.name + ".old")
    b.rename(aside)
    a.rename(b)
    aside.rename(a)
