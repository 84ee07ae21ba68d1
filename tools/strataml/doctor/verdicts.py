"""The verdict cache: what every artifact check found, under a key made of all they can read.

A whole-repository doctor run over a tree that has not changed since the last one gives the same
findings; this cache lets it say so without reading a document again (TFC-0008 R13). The key
(`world_key`) is the BLAKE3 of:

- the code: the source of every module of this package and every schema it validates with, the
  versions of the libraries that parse and validate, this Python, and the platform and user it
  runs as;
- the configuration doctor runs under, and the environment variables Git and StrataML read;
- the stat keys (size, mtime, ctime, inode) of every file and directory of every artifact, of
  every entry of the artifact trees above the versions (`stages.yaml`, cards, run directories),
  of the whole of `experiments/` and `keys/`, and of the repository's top level;
- Git: HEAD's commit, what the index holds (`doctor/indexcontent.py`: not its stat data, which the
  `git status` of a run may refresh), the stat keys of the repository's configuration, attribute
  and exclude files (its own, the user's, the system's), of the object database's directories (a
  commit that appears or goes), and of the git binary.

There is no key where one of these cannot be seen: a subpath, `--since`, `--files` or `--base`
run, a repository whose `.git` is not a directory or whose alternates have alternates, Git
configuration that names or includes other files or that the environment carries, Git told where
its repository is by the environment, and a symbolic link in an artifact or in the levels above
(checks follow it to where no stat key reaches). A verdict is
stored only when every stat key in it is older than the racy window (a later change moves ctime)
and no check consulted anything outside the files, such as whether a runner is still alive.
Stored values carry the BLAKE3 of their body, as parse rows do; a damaged one is a miss.
"""

from __future__ import annotations

import functools
import io
import marshal
import operator
import os
import pickle
import re
import shutil
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from strataml.doctor.context import Context
from strataml.doctor.indexcontent import index_identity
from strataml.doctor.model import Diagnostic, Severity
from strataml.integrity.cache import HashCache, package_source, seal, unseal
from strataml.integrity.hashing import hash_bytes

_FORMAT = b"strataml-verdicts-1"
_LIBRARIES = ("PyYAML", "jsonschema", "jsonschema-rs", "blake3", "python-gnupg")
# The artifact trees' levels above the versions: names, their files and versions. Under runs/,
# a directory's own stat key is not needed: its scan sees every entry in it.
_TREES = {"datasets": 2, "models": 2, "runs": 1}
_WHOLE = ("experiments", "keys")  # read whole
# Environment variables that move Git to another repository, index or object store: no key.
_ELSEWHERE = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE",
)  # fmt: skip
# Configuration files the environment names instead of the usual ones, and configuration the
# environment itself carries.
_CONFIG_FILES = ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG")
_CONFIG_FROM_ENVIRONMENT = ("GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS")
# A commit appears or goes: the directory holding its loose object or its pack changes.
_OBJECT_DIRECTORIES = ("info/alternates", "pack", *(f"{n:02x}" for n in range(256)))
# Git configuration that names other files whose contents the key would not see: no key.
_NAMES_FILES = (b"include", b"attributesfile", b"excludesfile", b"hookspath", b"worktree")


@dataclass(frozen=True, slots=True)
class WorldKey:
    key: str
    settled: bool  # every stat key older than the racy window: the verdict may be stored


@functools.cache
def code_identity(schema_dir: Path) -> bytes:
    """The source of every module of the package and of every schema, and what runs them."""
    from importlib import metadata  # here: a run with no verdict key (--since) never loads it

    parts = [_FORMAT, sys.version.encode(), sys.platform.encode(), str(os.getuid()).encode()]
    for library in _LIBRARIES:  # what parses and validates, as installed
        try:
            parts.append(f"{library} {metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            parts.append(f"{library} -".encode())
    parts.append(package_source())
    for path in sorted(schema_dir.glob("*.json")):
        parts += [path.name.encode(), path.read_bytes()]
    return hash_bytes(b"\0".join(parts)).encode()


def world_key(ctx: Context) -> WorldKey | None:
    """The key of everything the artifact checks of this run can read, or None (see above)."""
    cache = ctx.cache
    if (
        cache is None
        or not ctx.whole_repository
        or ctx.only is not None
        or ctx.keys_root is not None
        or any(name in os.environ for name in _ELSEWHERE)
    ):
        return None
    git = _git_state(ctx.root)
    if git is None:
        return None
    stats: list[object] = [[*git, _index(cache, ctx.root / ".git")]]
    for artifact in ctx.layout.artifacts:
        scan = ctx.scan(artifact)
        if scan.symlinks:
            return None  # as below, for a symlink in an artifact
        stats.append((artifact.path, artifact.kind, scan.stats, scan.special, scan.unportable,
                      scan.unreadable, scan.directories))  # fmt: skip
    # The top level, but for Git's own directory (above) and the cache's, which this run changes.
    stats.append([e for e in _entries(ctx.root, depth=1) if e[0] not in (".git", ".strata")])
    for tree, depth in _TREES.items():
        stats.append(_entries(ctx.root / tree, depth=depth, dirs=tree != "runs"))
    for tree in _WHOLE:
        stats.append(_entries(ctx.root / tree, depth=None))
    if any(
        stat.S_ISLNK(entry[1]) for item in stats[1:] if isinstance(item, list) for entry in item
    ):
        return None  # a symlink anywhere here: checks follow it where no stat key reaches
    environment = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith(("GIT_", "STRATA")) or name in ("HOME", "XDG_CONFIG_HOME", "PATH")
    )
    body = _canonical(
        (
            code_identity(ctx.schemas.directory),
            repr(ctx.config),
            repr(ctx.declared),
            ctx.head,
            environment,
            stats,
        )
    )
    newest = _newest(stats)
    return WorldKey(hash_bytes(body), newest < cache.settled_before)


@dataclass(frozen=True, slots=True)
class Verdict:
    found: list[Diagnostic]  # what the artifact checks found
    hashed: int  # files they verified
    # `git status` of the artifact trees, a function of what the key holds too (HEAD, the index,
    # the files, the ignore rules and Git's configuration): the repository checks take it from here.
    status: list[tuple[str, str]] | None


def lookup(ctx: Context, key: WorldKey) -> Verdict | None:
    """The verdict stored under `key`, or None."""
    assert ctx.cache is not None
    body = unseal(ctx.cache.lookup_verdict(key.key))
    if body is None:
        return None
    try:
        hashed, rows, status = marshal.loads(body)
        found = [
            Diagnostic(str(code), Severity(severity), str(path), line, str(message), hint)
            for code, severity, path, line, message, hint in rows
        ]
        changes = None if status is None else [(str(a), str(b)) for a, b in status]
    except (EOFError, ValueError, TypeError):
        return None
    return Verdict(found, int(hashed), changes)


def store(ctx: Context, key: WorldKey, verdict: Verdict) -> None:
    if ctx.cache is None or not key.settled:
        return
    rows = [(d.code, d.severity.value, d.path, d.line, d.message, d.hint) for d in verdict.found]
    body = marshal.dumps((verdict.hashed, rows, verdict.status))
    ctx.cache.remember_verdict(key.key, seal(body))


def _entries(
    directory: Path, depth: int | None, *, dirs: bool = True
) -> list[tuple[str, int, int, int, int, int]]:
    """Path, mode, size, mtime, ctime and inode of every entry down to `depth` levels, without
    following symlinks (of a directory only its path, unless `dirs`); [] for a directory that is
    not there."""
    found = []
    pending = [("", 1)]
    while pending:
        rel_dir, level = pending.pop()
        try:
            with os.scandir(directory / rel_dir if rel_dir else directory) as listing:
                entries = list(listing)
        except OSError as exc:
            found.append((f"{rel_dir}!{exc.errno}", 0, 0, 0, 0, 0))
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if not dirs and entry.is_dir(follow_symlinks=False):
                found.append((rel, 0, 0, 0, 0, 0))
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                found.append((f"{rel}!{exc.errno}", 0, 0, 0, 0, 0))
                continue
            found.append((rel, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
            if entry.is_dir(follow_symlinks=False) and (depth is None or level < depth):
                pending.append((rel, level + 1))
    found.sort()
    return found


def _stat(path: Path) -> tuple[str, int, int, int, int, int]:
    try:
        st = os.lstat(path)
    except OSError as exc:
        return (f"{path}!{exc.errno}", 0, 0, 0, 0, 0)
    return (str(path), st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _git_state(root: Path) -> list[tuple[str, int, int, int, int, int]] | None:
    """Stat keys of what Git reads to answer doctor: None where that cannot be told from them."""
    git_dir = root / ".git"
    if git_dir.is_symlink() or not git_dir.is_dir():
        return None  # a worktree's or submodule's .git file points elsewhere
    stores = _object_stores(git_dir / "objects")
    if stores is None:
        return None
    home = Path(os.environ.get("HOME", "~")).expanduser()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "git"
    if any(name in os.environ for name in _CONFIG_FROM_ENVIRONMENT):
        return None  # configuration the environment holds may name files, as above
    binary = shutil.which("git")
    # The system's files lie under /etc, or under the prefix of a git built elsewhere.
    systems = [Path("/etc")] + ([Path(binary).resolve().parent.parent / "etc"] if binary else [])
    configs = [git_dir / "config", home / ".gitconfig", xdg / "config"]
    configs += [system / "gitconfig" for system in systems]
    configs += [Path(os.environ[name]) for name in _CONFIG_FILES if os.environ.get(name)]
    for config in configs:
        try:
            text = config.read_bytes().lower()
        except OSError:
            continue
        if any(word in text for word in _NAMES_FILES):
            return None
    places = [
        *configs,
        git_dir / "HEAD", git_dir / "packed-refs", git_dir / "shallow",
        git_dir / "info" / "attributes", git_dir / "info" / "exclude", git_dir / "refs" / "replace",
        xdg / "attributes", xdg / "ignore", *(system / "gitattributes" for system in systems),
        git_dir / "lfs" / "objects",
        *(store / name for store in stores for name in _OBJECT_DIRECTORIES),
        Path(binary).resolve() if binary else Path("/nonexistent/git"),
    ]  # fmt: skip
    return [_stat(place) for place in places]


def _index(cache: HashCache, git_dir: Path) -> tuple[str, int, int, int, int, int]:
    """What the index holds, remembered under its stat key once that has settled; its stat key
    where the index cannot be read as one."""
    path = git_dir / "index"
    place = _stat(path)
    note = "index:" + ":".join(map(str, place[1:]))
    known = cache.get_note(note)
    if known is not None:
        return (f"index {known}", 0, 0, 0, 0, 0)
    try:
        data, config = path.read_bytes(), (git_dir / "config").read_bytes().lower()
    except OSError:
        return place
    oid_size = 32 if re.search(rb"objectformat\s*=\s*sha256", config) else 20
    identity = index_identity(data, oid_size)
    if identity is None or _stat(path) != place:
        return place  # not an index this reads, or rewritten while read
    if place[4] < cache.settled_before:
        cache.set_note(note, identity)
    return (f"index {identity}", 0, 0, 0, 0, 0)


def _object_stores(objects: Path) -> list[Path] | None:
    """The object directory and those its `info/alternates` lends it (a clone made with
    `--shared` or `--reference`); None when an alternate has alternates of its own."""
    stores = [objects]
    try:
        lines = (objects / "info" / "alternates").read_text("utf-8").splitlines()
    except FileNotFoundError:
        return stores
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        if line.strip() and not line.startswith("#"):
            store = (objects / line.strip()).resolve()
            if (store / "info" / "alternates").exists():
                return None
            stores.append(store)
    return stores


def _canonical(value: object) -> bytes:
    """Bytes that depend on `value` alone: pickle without its memo, so that neither which objects
    are shared nor how often they are referenced (a first run holds more of them than a warm one)
    shows, as marshal's references and interned strings would; twice as fast as pickle's memo."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=5)
    pickler.fast = True  # no memo: the structure holds no cycle
    pickler.dump(value)
    return out.getvalue()


def _newest(stats: list[object]) -> int:
    """The newest ctime of every stat key in `stats` (0 for none)."""
    git, *rest = stats
    assert isinstance(git, list)
    newest = max(map(_CTIME, git), default=0)
    for item in rest:
        if isinstance(item, list):  # _entries
            newest = max(newest, max(map(_CTIME, item), default=0))
        elif isinstance(item, tuple):  # an artifact's scan
            _, _, files, _, _, _, directories = item
            newest = max(newest, max(map(_STAT_CTIME, files.values()), default=0))
            newest = max(newest, max(map(_STAT_CTIME, directories), default=0))
    return newest


_CTIME, _STAT_CTIME = operator.itemgetter(4), operator.itemgetter(2)
