"""The code state a run records and the fingerprint that identifies its computation (TFC-0002 R10)."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml.errors import StrataError
from strataml.gitcode import CodeSnapshot, code_snapshot
from strataml.gitrepo import ARTIFACT_TREES
from strataml.integrity.cache import HashCache
from strataml.integrity.checksums import content_hash
from strataml.integrity.digest import Digest, is_hex_digest
from strataml.integrity.hashing import hash_bytes, hash_files
from strataml.integrity.localrecords import keep, kept

# Never code, even outside Git: VCS metadata and local caches (TFC-0001).
_SKIP_DIRS = frozenset(
    {
        ".git",
        ".strata",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
    }
)


@dataclass(frozen=True, slots=True)
class CodeState:
    commit: str | None
    branch: str | None
    dirty: bool
    diff_hash: str | None
    tree_hash: str


def code_state(root: Path) -> CodeState:
    snapshot = code_snapshot(root)
    if snapshot is None:
        files = _walk_code(root)
        return CodeState(None, None, False, None, _tree_hash(root, files, cached=True))
    return CodeState(
        snapshot.commit,
        snapshot.branch,
        snapshot.dirty,
        _diff_hash(root, snapshot) if snapshot.dirty else None,
        _tree_hash(root, snapshot.files, cached=not snapshot.local_state_tracked),
    )


def tracked_identity(root: Path) -> str | None:
    """HEAD and the tracked changes, untracked files left out: a Slurm task compares this with
    its submission's, as a command may write untracked files meanwhile (TFC-0002 R23); None
    outside Git, where every file is code."""
    snapshot = code_snapshot(root)
    if snapshot is None:
        return None
    return f"{snapshot.commit}:{Digest.of(snapshot.diff)}"


# The stat key and digest of every code file the last run hashed: a file whose key is the same
# is not read again. Only keys older than the racy window are kept (TFC-0008 R13).
_KEPT = "code-files"
StatKey = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


def _tree_hash(root: Path, files: tuple[str, ...], *, cached: bool) -> str:
    """The content hash of the code files; `cached`: unless a commit ships .strata/ (what the
    code state's `ls-files` already said, so no git process more is started)."""
    with contextlib.closing(HashCache(root, enabled=cached)) as cache:
        found = kept(cache, _KEPT, "1")
        known: dict[object, object] = found if isinstance(found, dict) else {}
        digests, keys, todo = _known_digests(root, files, known)
        for path, digest in zip(todo, hash_files([root / p for p in todo]), strict=True):
            if isinstance(digest, OSError):
                raise StrataError(f"{path}: cannot read code file: {digest.strerror or digest}")
            digests[path] = digest
        if cache.db is not None and (todo or len(known) != len(keys)):
            settled = cache.settled_before
            keep(cache, _KEPT, "1", {
                p: (key, digests[p]) for p, key in keys.items() if key[2] < settled
            })  # fmt: skip
    return content_hash(digests)


def _known_digests(
    root: Path, files: tuple[str, ...], known: dict[object, object]
) -> tuple[dict[str, str], dict[str, StatKey], list[str]]:
    """The digests of links (their target text, as Git stores it) and of files whose stat key
    is as kept; every file's stat key, taken before any byte is read; the files left to read."""
    digests: dict[str, str] = {}
    keys: dict[str, StatKey] = {}
    for path in files:
        full = f"{root}/{path}"
        try:
            st = os.lstat(full)
        except OSError as exc:
            raise StrataError(f"{path}: cannot read code file: {exc.strerror or exc}") from None
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(full)  # noqa: PTH115 (a string: no Path built)
            digests[path] = hash_bytes(os.fsencode(target))
            continue
        key = keys[path] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        entry = known.get(path)
        if type(entry) is tuple and len(entry) == 2 and entry[0] == key and is_hex_digest(entry[1]):
            digests[path] = entry[1]
    return digests, keys, [path for path in keys if path not in digests]


def _diff_hash(root: Path, snapshot: CodeSnapshot) -> str:
    # Tracked changes as Git's binary diff, then each untracked file's name and bytes.
    untracked = {
        p: d
        for p, d in zip(
            snapshot.untracked, hash_files([root / p for p in snapshot.untracked]), strict=True
        )
        if isinstance(d, str)
    }
    listing = "".join(f"{d}  {p}\n" for p, d in sorted(untracked.items())).encode()
    return str(Digest.of(snapshot.diff + b"\0" + listing))


def code_files(root: Path) -> tuple[str, ...]:
    """The files a run's code state covers (R10): what a Ray task gets to run (TFC-0002 R26)."""
    snapshot = code_snapshot(root)
    return _walk_code(root) if snapshot is None else snapshot.files


def _walk_code(root: Path) -> tuple[str, ...]:
    found = []
    for directory, dirs, names in os.walk(root):
        here = Path(directory)
        top = here == root
        dirs[:] = sorted(
            d for d in dirs if d not in _SKIP_DIRS and not (top and d in ARTIFACT_TREES)
        )
        found += [(here / n).relative_to(root).as_posix() for n in names]
    return tuple(sorted(found))


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def fingerprint(
    *, experiment: str, command: tuple[str, ...] | str, shell: bool, params: dict[str, Any],
    inputs: dict[str, str], outputs: tuple[str, ...], tree_hash: str,
) -> str:  # fmt: skip
    """Same computation, same fingerprint: nothing about when, where or which run."""
    payload = {
        "experiment": experiment,
        "command": list(command) if isinstance(command, tuple) else command,
        "shell": shell,
        "params": params,
        "inputs": inputs,
        "outputs": sorted(outputs),
        "code": tree_hash,
    }
    return str(Digest.of(canonical_json(payload)))
