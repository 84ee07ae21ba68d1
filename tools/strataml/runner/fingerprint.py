"""The code state a run records and the fingerprint that identifies its computation (TFC-0002 R10)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml.errors import StrataError
from strataml.gitcode import CodeSnapshot, code_snapshot
from strataml.gitrepo import ARTIFACT_TREES
from strataml.integrity.checksums import content_hash
from strataml.integrity.digest import Digest
from strataml.integrity.hashing import hash_bytes, hash_files

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
        return CodeState(None, None, False, None, _tree_hash(root, files))
    return CodeState(
        snapshot.commit,
        snapshot.branch,
        snapshot.dirty,
        _diff_hash(root, snapshot) if snapshot.dirty else None,
        _tree_hash(root, snapshot.files),
    )


def tracked_identity(root: Path) -> str | None:
    """HEAD and the tracked changes, untracked files left out: a Slurm task compares this with
    its submission's, as a command may write untracked files meanwhile (TFC-0002 R23); None
    outside Git, where every file is code."""
    snapshot = code_snapshot(root)
    if snapshot is None:
        return None
    return f"{snapshot.commit}:{Digest.of(snapshot.diff)}"


def _tree_hash(root: Path, files: tuple[str, ...]) -> str:
    digests: dict[str, str] = {}
    regular = [f for f in files if not (root / f).is_symlink()]
    for path, digest in zip(regular, hash_files([root / f for f in regular]), strict=True):
        if isinstance(digest, OSError):
            raise StrataError(f"{path}: cannot read code file: {digest.strerror or digest}")
        digests[path] = digest
    for path in files:
        if (root / path).is_symlink():  # a link is its target text, as Git stores it
            digests[path] = hash_bytes(os.fsencode((root / path).readlink()))
    return content_hash(digests)


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
