"""Git LFS: pointer files, which paths LFS covers, and what Git stored for them (TFC-0008 R12)."""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from strataml.errors import StrataError
from strataml.gitindex import blob_sizes
from strataml.gitrepo import GitError, in_work_tree, run_git, split_batch
from strataml.integrity.tree import scan_tree

SPEC = b"version https://git-lfs.github.com/spec/v1\n"
MAX_POINTER_BYTES = 1024
_OID = re.compile(rb"oid sha256:([0-9a-f]{64})")
_SIZE = re.compile(rb"size (0|[1-9][0-9]*)")
_EXT = re.compile(rb"ext-[0-9]-[a-z0-9.-]+ [a-z0-9]+:[0-9a-f]+")


@dataclass(frozen=True)
class Pointer:
    oid: str  # sha256 hex
    size: int


@dataclass(frozen=True)
class BadPointer:
    reason: str


def parse_pointer(data: bytes) -> Pointer | BadPointer | None:
    """A Git LFS pointer, a malformed one, or None when the bytes are not meant as a pointer."""
    if len(data) > MAX_POINTER_BYTES or not data.startswith(b"version https://git-lfs"):
        return None
    if not data.startswith(SPEC):
        return BadPointer("unknown version line")
    if not data.endswith(b"\n"):
        return BadPointer("does not end with a newline")
    lines = data[len(SPEC) : -1].split(b"\n")
    keys = [line.split(b" ", 1)[0] for line in lines]
    if keys != sorted(keys) or len(set(keys)) != len(keys):
        return BadPointer("keys are not sorted and unique")
    oid = next((m for line in lines if (m := _OID.fullmatch(line))), None)
    size = next((m for line in lines if (m := _SIZE.fullmatch(line))), None)
    if oid is None or size is None:
        return BadPointer("needs 'oid sha256:<64 hex>' and 'size <bytes>' lines")
    others = [line for line in lines if not (_OID.fullmatch(line) or _SIZE.fullmatch(line))]
    if any(not _EXT.fullmatch(line) for line in others):
        return BadPointer("has a line that is not a pointer key")
    return Pointer(oid.group(1).decode(), int(size.group(1)))


def in_git(root: Path) -> bool:
    return shutil.which("git") is not None and in_work_tree(root)


def lfs_covered(root: Path, paths: Iterable[str]) -> set[str]:
    """Which repo-relative paths .gitattributes sends through the LFS filter."""
    asked = sorted(set(paths))
    if not asked or not in_git(root):
        return set()
    stdin = "".join(p + "\0" for p in asked).encode()
    out = run_git(root, "check-attr", "-z", "--stdin", "filter", stdin=stdin)
    fields = out.split(b"\0")
    covered = set()
    for index in range(0, len(fields) - 2, 3):
        path, _, value = fields[index : index + 3]
        if value == b"lfs":
            covered.add(path.decode("utf-8", "surrogateescape"))
    return covered


def stored_blobs(root: Path, blobs: Mapping[str, str]) -> dict[str, bytes | int]:
    """path -> what the index holds there, given path -> blob id (Git's index, read once): the
    blob's bytes when small enough to be a pointer, else its size. Two git processes, one
    `cat-file --batch-check` and one `cat-file --batch`, whatever the number of paths."""
    if not blobs or not in_git(root):
        return {}
    size_of = blob_sizes(root, blobs.values())
    small = sorted(b for b, size in size_of.items() if size <= MAX_POINTER_BYTES)
    contents: dict[str, bytes] = {}
    if small:
        raw = run_git(root, "cat-file", "--batch", stdin="".join(f"{b}\n" for b in small).encode())
        contents = split_batch(raw)
    return {path: contents.get(blob, size_of.get(blob, 0)) for path, blob in blobs.items()}


@dataclass(frozen=True)
class FileState:
    path: str
    state: str  # "present" (LFS content here), "pointer" (not pulled), "plain" (not in LFS)
    size: int  # of the content, as the pointer states when not pulled

    def document(self) -> dict[str, object]:
        return {"path": self.path, "state": self.state, "size": self.size}


@dataclass(frozen=True)
class FileStates:
    """`strata lfs status`: one line per file, then the count of each state."""

    states: tuple[FileState, ...]

    def text(self) -> str:
        lines = "".join(f"{s.state:<8} {s.size:>12}  {s.path}\n" for s in self.states)
        counts = {k: sum(1 for s in self.states if s.state == k) for k in STATES}
        return lines + ", ".join(f"{n} {k}" for k, n in counts.items()) + "\n"

    def document(self) -> list[dict[str, object]]:
        """schemas/lfs-status.schema.json."""
        return [s.document() for s in self.states]


STATES = ("present", "pointer", "plain")


def file_states(root: Path, directories: Iterable[str]) -> list[FileState]:
    listings = [
        {f"{directory}/{rel}": size for rel, size in scan_tree(root / directory).files.items()}
        for directory in directories
    ]
    covered = lfs_covered(root, [path for paths in listings for path in paths])  # one git process
    states: list[FileState] = []
    for paths in listings:
        for path, size in sorted(paths.items()):
            pointer = None
            if size <= MAX_POINTER_BYTES:
                with contextlib.suppress(OSError):
                    pointer = parse_pointer((root / path).read_bytes())
            if isinstance(pointer, Pointer) and path in covered:
                states.append(FileState(path, "pointer", pointer.size))
            else:
                states.append(FileState(path, "present" if path in covered else "plain", size))
    return states


def pull(root: Path, directories: list[str]) -> None:
    """Fetch and check out exactly the LFS objects under `directories` (git lfs pull --include)."""
    if shutil.which("git-lfs") is None:
        raise StrataError("git-lfs is not installed; install it (e.g. apt-get install git-lfs)")
    include = ",".join(f"{d}/**" for d in directories)
    try:
        run_git(root, "lfs", "pull", f"--include={include}", "--exclude=")
    except GitError as exc:
        detail = " ".join((exc.stderr or exc.stdout.decode(errors="replace")).split())
        raise StrataError(f"git lfs pull failed: {detail[:400]}") from exc
