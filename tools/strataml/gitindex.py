"""What Git's index and attributes say about the working tree, read in batches: a fixed number
of git processes per doctor run (TFC-0006 R20, TFC-0008 R13)."""

from __future__ import annotations

import enum
import functools
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from strataml.gitrepo import in_work_tree, quiet_git, quiet_git_later, start_git, zpaths

CHECKOUT_ATTRIBUTES = ("filter", "text", "eol", "crlf", "working-tree-encoding", "ident")
_NO_VALUE = frozenset({"unspecified", "unset"})


@dataclass(frozen=True, slots=True)
class IndexFacts:
    """What Git's index says about the artifact trees and local state, read once per doctor run."""

    blobs: dict[str, str]  # tracked path (merge stage 0) -> blob id
    dirty: frozenset[str]  # tracked paths whose working-tree file differs from the index
    core: dict[str, str]  # core.autocrlf and core.eol, where set
    unmerged: dict[str, str]  # conflicted path -> the blob of its last merge stage

    def staged(self, path: str) -> str | None:
        """The blob the index holds at `path`: stage 0, or the last stage of a conflict."""
        return self.blobs.get(path) or self.unmerged.get(path)

    def holds(self, path: str, data: bytes) -> bool:
        """Does the index hold exactly these bytes at `path` (its blob id is theirs)?"""
        blob = self.blobs.get(path)
        if blob is None:
            return False
        algorithm = hashlib.sha256 if len(blob) == 64 else hashlib.sha1  # object format
        return algorithm(b"blob %d\0" % len(data) + data).hexdigest() == blob


def index_facts(root: Path, trees: Iterable[str]) -> IndexFacts | None:
    """Three git processes, whatever the number of artifacts: `ls-files -s`, `diff-files` and
    `config`; None outside a Git work tree."""
    if not in_work_tree(root) or shutil.which("git") is None:
        return None
    listed = quiet_git(root, "ls-files", "-s", "-z", "--", *trees)
    changed = quiet_git(root, "diff-files", "--relative", "--name-only", "-z", "--", *trees)
    config = quiet_git(root, "config", "-z", "--get-regexp", r"^core\.(autocrlf|eol)$", ok=(0, 1))
    if listed is None or changed is None:
        return None
    blobs: dict[str, str] = {}
    unmerged: dict[str, str] = {}
    for entry in listed.split(b"\0"):
        if entry:
            meta, path = entry.split(b"\t", 1)
            _, blob, stage = meta.split()
            held = blobs if stage == b"0" else unmerged  # stages come in order: the last wins
            held[path.decode("utf-8", "surrogateescape")] = blob.decode()
    core = {}
    for item in zpaths(config or b""):
        name, _, setting = item.partition("\n")
        core[name.lower()] = setting.strip()
    return IndexFacts(blobs, frozenset(zpaths(changed)), core, unmerged)


LOCAL_STATE = ".strata"


def tracked_local_state(root: Path) -> tuple[str, ...]:
    """Tracked paths under .strata/: the tools' local state is never repository content."""
    return tracked_local_state_later(root)()


def tracked_local_state_later(root: Path) -> Callable[[], tuple[str, ...]]:
    """`tracked_local_state`, asked now: git reads its index (8 MB on 10,000 runs) while the
    caller works; the function returned waits for the answer."""
    if not in_work_tree(root) or shutil.which("git") is None:
        return tuple
    listed = quiet_git_later(root, "ls-files", "-z", "--", LOCAL_STATE)
    return lambda: tuple(sorted(zpaths(listed() or b"")))


def checkout_attributes_later(
    root: Path, paths: Iterable[str]
) -> Callable[[], dict[str, Mapping[str, str]] | None]:
    """path -> {attribute: value} for the attributes that may transform bytes on checkout; one
    `git check-attr --stdin` for all of them, started now and waited for when the function
    returned is called: Git answers while the caller works. Paths with the same attributes share
    one mapping (read-only), so a caller can work out what follows from it once per distinct
    mapping. Git's input and output are files, not pipes, so no thread is needed to feed it
    (doctor forks no worker beside a thread) and it never waits on a reader. None where Git
    failed or could not be started: the attributes are unknown."""
    asked = sorted(set(paths))
    if not asked or not in_work_tree(root) or shutil.which("git") is None:
        return dict
    with tempfile.TemporaryFile() as source:
        source.write(b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in asked))
        source.seek(0)
        answer = tempfile.TemporaryFile()  # noqa: SIM115 (read and closed by `wait`)
        try:
            process = start_git(
                root, "check-attr", "-z", "--stdin", *CHECKOUT_ATTRIBUTES, stdin=source,
                stdout=answer, env={"GIT_OPTIONAL_LOCKS": "0"},
            )  # fmt: skip
        except OSError:  # git could not be started: unknown, as where it failed
            answer.close()
            return lambda: None

    @functools.cache
    def wait() -> dict[str, Mapping[str, str]] | None:
        with answer:
            if process.wait() != 0:
                return None
            answer.seek(0)
            return parse_attributes(answer.read())

    return wait


def parse_attributes(out: bytes) -> dict[str, Mapping[str, str]]:
    """`git check-attr -z` output: path -> {attribute: value}."""
    # Decoded at once (NUL is one byte of its own in UTF-8, so field by field gives the same).
    # Every field ends in a NUL: what follows the last one is none (or one cut short).
    fields = out.decode("utf-8", "surrogateescape").split("\0")[:-1]
    found = _per_path(fields)
    if found is not None:
        return found
    loose: dict[str, Mapping[str, str]] = {}
    triples = iter(fields)
    for path, name, value in zip(triples, triples, triples, strict=False):
        loose[path] = {**loose.get(path, {}), name: value}
    return loose


def _per_path(fields: list[str]) -> dict[str, Mapping[str, str]] | None:
    """The usual answer, read in C: every path once, with every attribute asked in the order
    asked. None for anything else, which is read triple by triple."""
    width = len(CHECKOUT_ATTRIBUTES)
    paths, names, values = fields[0::3], fields[1::3], fields[2::3]
    count = len(names) // width
    if len(fields) != 3 * width * count or names != list(CHECKOUT_ATTRIBUTES) * count:
        return None
    each = paths[0::width]
    if any(paths[k::width] != each for k in range(1, width)) or len(set(each)) != count:
        return None
    shared: dict[tuple[str, ...], Mapping[str, str]] = {}
    found: dict[str, Mapping[str, str]] = {}
    for path, row in zip(
        each, zip(*(values[k::width] for k in range(width)), strict=True), strict=True
    ):
        mapping = shared.get(row)
        if mapping is None:
            mapping = shared[row] = dict(zip(CHECKOUT_ATTRIBUTES, row, strict=True))
        found[path] = mapping
    return found


class Checkout(enum.Enum):
    """What Git's checkout and clean conversions can do to a path's bytes (TFC-0008 R13)."""

    IDENTITY = "identity"  # a clean file's bytes are its blob
    LF = "lf"  # checkout leaves LF alone; clean folds CRLF to LF: the bytes are the blob when
    # the sizes agree (folding only ever removes bytes)
    TRANSFORMED = "transformed"  # the blob says nothing about the bytes


def checkout_kind(attributes: Mapping[str, str], core: dict[str, str]) -> Checkout:
    """How a path's attributes and the core.autocrlf / core.eol settings relate its bytes to its
    blob. LFS is the one filter allowed: its clean side proves the content by SHA-256."""
    value = attributes.get
    if value("filter", "unspecified") not in {*_NO_VALUE, "lfs"}:
        return Checkout.TRANSFORMED
    if any(
        value(name, "unspecified") not in _NO_VALUE for name in ("working-tree-encoding", "ident")
    ):
        return Checkout.TRANSFORMED
    if value("crlf", "unspecified") not in _NO_VALUE:  # the old spelling of text / eol=lf
        return Checkout.TRANSFORMED
    eol, text = value("eol", "unspecified"), value("text", "unspecified")
    autocrlf = core.get("core.autocrlf", "false").lower()
    if eol != "unspecified":  # eol sets text
        return Checkout.LF if eol == "lf" else Checkout.TRANSFORMED
    if text == "unset":
        return Checkout.IDENTITY
    if autocrlf == "true":
        return Checkout.TRANSFORMED  # checkout writes CRLF
    if text == "unspecified":
        return Checkout.LF if autocrlf == "input" else Checkout.IDENTITY
    native = "crlf" if os.name == "nt" else "lf"
    return Checkout.LF if core.get("core.eol", native).lower() == "lf" else Checkout.TRANSFORMED


def blob_sizes(root: Path, blobs: Iterable[str]) -> dict[str, int]:
    """blob id -> size, one `git cat-file --batch-check` for all of them."""
    asked = sorted(set(blobs))
    if not asked:
        return {}
    stdin = "".join(f"{blob}\n" for blob in asked).encode()
    out = quiet_git(root, "cat-file", "--batch-check=%(objectname) %(objectsize)", stdin=stdin)
    sizes = {}
    for line in (out or b"").decode().splitlines():
        blob, _, size = line.partition(" ")
        if size.isdigit():
            sizes[blob] = int(size)
    return sizes
