"""The federation: other repositories whose versions a reference may pin, where each is read, and
what its committed HEAD proves of a pin (TFC-0001 R15-R16, TFC-0005 R18).

Nothing here goes to the network but `fetch`, which a person asks for: doctor reads a repository
declared by a local path, or the mirror `strata federation fetch` left under .strata/federation/.
A pin is checked against Git objects of that repository's HEAD, never a work tree: its
CHECKSUMS.txt must give the pinned content hash and every committed file must match its line.
"""

from __future__ import annotations

import enum
import hashlib
import shutil
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from strataml import gitremote, gitrepo
from strataml.config import Config
from strataml.errors import UsageError
from strataml.gitindex import tracked_local_state
from strataml.integrity.checksums import CHECKSUMS, EXCLUDED, content_hash, parse_checksums
from strataml.integrity.digest import shown
from strataml.integrity.hashing import hash_bytes
from strataml.lfs import Pointer, parse_pointer
from strataml.refs import LOCAL_REPOSITORY, ForeignRef, is_repository_name
from strataml.safeopen import read_regular

MIRRORS = ".strata/federation"
MAX_URL = 1024


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class Declaration:
    own: str  # this repository's name in the federation
    members: tuple[Member, ...]  # the valid ones
    problems: tuple[tuple[str, str], ...]  # (name, what is wrong): FED001


def is_local(url: str) -> bool:
    """A plain path, not a Git URL: no scheme, no scp-like `host:path`."""
    return "://" not in url and ":" not in url.split("/", 1)[0]


def local_path(root: Path, url: str) -> Path:
    return (root / url).resolve() if not Path(url).is_absolute() else Path(url).resolve()


def file_path(root: Path, url: str) -> Path | None:
    """The path on this machine a declaration names: a plain path, or a file:// URL's (which Git
    reads from the same disk); None for other URLs."""
    if is_local(url):
        return local_path(root, url)
    if url.lower().startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path) or "/").resolve()
    return None


def _identity(root: Path, url: str) -> str:
    """What two declarations of one repository share: its resolved path, or its URL."""
    return str(local_path(root, url)) if is_local(url) else url


def _shown(url: str) -> str:
    return url if len(url) <= 80 else url[:79] + "…"


def declaration(root: Path, config: Config) -> Declaration:
    own = config.federation_name or LOCAL_REPOSITORY
    problems: list[tuple[str, str]] = []
    if not is_repository_name(own):
        problems.append(
            (own, f"own name {_shown(own)!r} is not a repository name ([a-z][a-z0-9-]{{0,31}})")
        )
        own = LOCAL_REPOSITORY  # what the catalogue calls it meanwhile
    members: list[Member] = []
    seen: dict[str, str] = {}
    for name, url in config.federation_urls:
        if not is_repository_name(name):
            problems.append(
                (name, f"{_shown(name)!r} is not a repository name ([a-z][a-z0-9-]{{0,31}})")
            )
        elif name == own:
            problems.append((name, f"{name!r} is this repository's own name"))
        elif url.startswith("-"):
            problems.append((name, f"{name}: url {_shown(url)!r} looks like an option"))
        elif not url.isprintable() or len(url) > MAX_URL:
            problems.append((name, f"{name}: url {_shown(url)!r} is not a path or URL"))
        elif (inside := file_path(root, url)) is not None and inside.is_relative_to(root.resolve()):
            problems.append((name, f"{name}: url {_shown(url)!r} lies inside this repository"))
        elif (same := _identity(root, url)) in seen:
            problems.append(
                (name, f"{name}: url {_shown(url)!r} is declared by {seen[same]!r} already")
            )
        else:
            seen[same] = name
            members.append(Member(name, url))
    return Declaration(own, tuple(members), tuple(problems))


@dataclass(frozen=True, slots=True)
class Source:
    """Where a member is read: a repository on this machine and its HEAD, or why none."""

    member: Member
    path: Path | None
    commit: str | None
    unreachable: str | None = None


def locate(root: Path, member: Member, *, mirrors: bool) -> Source:
    """The member's local path, else its mirror under .strata/federation/ when that mirrors the
    declared url (`mirrors`: False where .strata/ is not the tools' own, TFC-0001 R13)."""
    if is_local(member.url):
        path = local_path(root, member.url)
        try:
            path.stat()
        except OSError:  # missing, or a name the file system will not take
            return Source(member, None, None, f"{member.url} does not exist here")
        if not path.is_dir():
            return Source(member, None, None, f"{member.url} is a file, not a Git repository")
        commit = gitremote.repository_commit(path)
        if commit is None:
            return Source(member, None, None, f"{member.url} is not a Git repository with a commit")
        return Source(member, path, commit)
    path = root / MIRRORS / member.name
    if not mirrors or not path.is_dir():
        return Source(member, None, None, f"no mirror of {member.url} under {MIRRORS}/")
    if gitremote.origin_url(path) != member.url:
        return Source(member, None, None, f"{MIRRORS}/{member.name} mirrors another url")
    commit = gitremote.repository_commit(path)
    if commit is None:
        return Source(member, None, None, f"{MIRRORS}/{member.name} has no commit")
    return Source(member, path, commit)


class Outcome(enum.Enum):
    VERIFIED = "verified"
    MISMATCH = "mismatch"  # FED004
    UNAVAILABLE = "unavailable"  # FED005: LFS content not in that repository


@dataclass(frozen=True, slots=True)
class PinVerdict:
    outcome: Outcome
    detail: str


def verify_pins(source: Source, pins: Iterable[ForeignRef]) -> dict[ForeignRef, PinVerdict]:
    """Each pin's verdict against the source's HEAD: two git processes for all of them."""
    wanted = sorted(set(pins), key=str)
    if source.path is None or source.commit is None or not wanted:
        return {}
    files = gitrepo.files_at(
        source.path, source.commit, sorted({p.ref.path for p in wanted}), env=gitremote.FOREIGN_ENV
    )
    store = _lfs_store(source.path)
    return {pin: _verdict(pin, files, source.commit, store) for pin in wanted}


def _lfs_store(path: Path) -> Path:
    """Where git-lfs keeps the repository's objects: .git/lfs/objects, or lfs/objects of a
    bare repository (a mirror)."""
    git_dir = path / ".git"
    return (git_dir if git_dir.is_dir() else path) / "lfs" / "objects"


def _lfs_content(store: Path, pointer: Pointer) -> bytes | None:
    """The content a pointer stands for, when the store holds it whole and it is what the
    pointer names (its SHA-256 and size); None otherwise."""
    oid = pointer.oid
    try:
        data = read_regular(store / oid[:2] / oid[2:4] / oid, pointer.size)
    except OSError:  # not there, not a regular file, larger than the pointer says
        return None
    if len(data) != pointer.size or hashlib.sha256(data).hexdigest() != oid:
        return None
    return data


def _verdict(pin: ForeignRef, files: dict[str, bytes], commit: str, store: Path) -> PinVerdict:
    ref, at = pin.ref, f"at commit {commit[:12]}"
    prefix = f"{ref.path}/"
    held = {path[len(prefix) :]: data for path, data in files.items() if path.startswith(prefix)}
    if CHECKSUMS not in held:
        what = "no CHECKSUMS.txt" if held else "no such version"
        return PinVerdict(Outcome.MISMATCH, f"{what} {at}")
    listing = parse_checksums(held[CHECKSUMS])
    if listing.problems:
        return PinVerdict(Outcome.MISMATCH, f"its CHECKSUMS.txt is malformed {at}")
    digests = listing.digests()
    actual = content_hash(digests)
    if actual != ref.pin:
        return PinVerdict(
            Outcome.MISMATCH, f"it holds {shown(actual)} {at}, not the pinned {shown(str(ref.pin))}"
        )
    problems = list(_listing_problems(held, digests, store))
    for outcome, what in (
        (Outcome.MISMATCH, "does not match its CHECKSUMS.txt"),
        (Outcome.UNAVAILABLE, "is an LFS pointer whose content is not there"),
    ):
        found = sorted(path for kind, path in problems if kind is outcome)
        if found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            return PinVerdict(outcome, f"{found[0]}{more} {what} {at}")
    return PinVerdict(Outcome.VERIFIED, at)


def _listing_problems(
    held: dict[str, bytes], digests: dict[str, str], store: Path
) -> Iterator[tuple[Outcome, str]]:
    for path in sorted(set(held) - set(digests) - EXCLUDED):
        yield Outcome.MISMATCH, path  # unlisted
    for path, digest in digests.items():
        data = held.get(path)
        if data is None:
            yield Outcome.MISMATCH, path  # listed, not committed (or not a regular file)
        elif hash_bytes(data) != digest:
            # A pointer stands for bytes in the LFS store: checked there, or not verified (never
            # passed on the pointer's word).
            pointer = parse_pointer(data)
            if not isinstance(pointer, Pointer):
                yield Outcome.MISMATCH, path
                continue
            content = _lfs_content(store, pointer)
            if content is None:
                yield Outcome.UNAVAILABLE, path
            elif hash_bytes(content) != digest:
                yield Outcome.MISMATCH, path


@dataclass(frozen=True, slots=True)
class Status:
    """`strata federation status`: every declared repository, and where doctor reads it."""

    own: str
    sources: tuple[Source, ...]

    def document(self) -> list[dict[str, object]]:
        return [
            {"name": s.member.name, "url": s.member.url, "reachable": s.commit is not None,
             "commit": s.commit, "problem": s.unreachable}
            for s in self.sources
        ]  # fmt: skip

    def text(self) -> str:
        lines = [f"{self.own} (this repository)"]
        for s in self.sources:
            state = f"at {s.commit[:12]}" if s.commit else f"not reachable: {s.unreachable}"
            lines.append(f"{s.member.name}: {s.member.url}: {state}")
        return "\n".join(lines) + "\n"


def status(root: Path, config: Config, *, mirrors: bool) -> Status:
    declared = declaration(root, config)
    return Status(declared.own, tuple(locate(root, m, mirrors=mirrors) for m in declared.members))


def fetch(root: Path, config: Config, names: Iterable[str] = ()) -> list[tuple[Member, str]]:
    """Mirror the named members (all, if none) under .strata/federation/: (member, what was
    done). A member declared by a local path needs no mirror."""
    declared = declaration(root, config)
    members = {m.name: m for m in declared.members}
    asked = list(names) or sorted(members)
    unknown = [name for name in asked if name not in members]
    if unknown:
        raise UsageError(
            f"not a repository of [tool.strataml.federation.repositories]: {', '.join(unknown)}"
        )
    if tracked_local_state(root):  # a pull request's mirror would run its own git config here
        raise UsageError(
            "[federation-tracked] .strata/ is tracked by Git: its mirrors are not this tool's, and "
            "fetching into one would run the configuration it carries (hint: `git rm -r --cached "
            ".strata` and commit; .gitignore keeps it out)"
        )
    done = []
    for name in asked:
        member = members[name]
        if is_local(member.url):
            done.append((member, "local path, read in place"))
            continue
        destination = root / MIRRORS / name
        if destination.exists() and gitremote.origin_url(destination) != member.url:
            shutil.rmtree(destination)  # a mirror of what the table named before
        gitremote.mirror(member.url, destination)
        commit = gitremote.repository_commit(destination)
        done.append((member, f"mirrored at {commit[:12] if commit else 'no commit'}"))
    return done
