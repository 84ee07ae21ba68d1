"""The parse cache: a document's parse, stored under the BLAKE3 of its bytes (TFC-0008 R13).

The key is the digest of exactly the bytes the parser would read, so an edit that keeps every
part of a file's stat key still misses; it also names the parser (this Python, PyYAML and libyaml,
and the source of the modules that parse), so a change of code never meets an old parse. Beside
the parse, a row holds the credentials found in the data (TFC-0003 R9), as pure a function of the
bytes. A stored value carries the BLAKE3 of its own body: a damaged row is not unpacked, and the
document is parsed again. Values are marshal of JSON-shaped data (never pickle: loading runs no
code).

`Documents` holds what one doctor run has read: each document parsed once, or taken from here.
"""

from __future__ import annotations

import functools
import marshal
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from strataml import credentials, jsonio, plainjson, yamlbulk, yamlio
from strataml.credentials import Where, iter_secrets
from strataml.integrity.cache import HashCache, seal, unseal
from strataml.integrity.hashing import hash_bytes
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES, ProblemKind, YamlDocument, YamlProblem

_FORMAT = b"strataml-parse-1"


@functools.cache
def parser_identity() -> str:
    sources = b"".join(
        Path(module.__file__ or "").read_bytes()
        for module in (yamlio, plainjson, jsonio, credentials)
    )
    named = f"{sys.version}|{marshal.version}|{yamlio.PARSER}".encode()
    return hash_bytes(_FORMAT + b"\0" + named + b"\0" + sources)[:32]


def key(digest: str) -> str:
    return f"{parser_identity()}:{digest}"


Secrets = list[tuple[Where, str]]


def find_secrets(document: YamlDocument) -> Secrets:
    return list(iter_secrets(document.data)) if document.ok else []


def pack(document: YamlDocument, secrets: Secrets) -> bytes:
    problems = [(p.kind.value, p.line, p.message) for p in document.problems]
    lines = None if document.lines is None else dict(document.lines)
    body = marshal.dumps((document.data, problems, lines, secrets))
    return seal(body)


def parse_and_pack(raw: bytes) -> bytes:
    """A document's parse and the credentials in it, packed as the parse cache stores them; its
    strings are searched one by one only where its text may hold one (TFC-0003 R9)."""
    document = yamlio.parse_yaml(raw)
    return pack(document, find_secrets(document) if credentials.may_hold_secrets(raw) else [])


def unpack(value: bytes) -> tuple[YamlDocument, Secrets] | None:
    """The stored document and its credentials, or None for anything `pack` did not write."""
    body = unseal(value)
    if body is None:
        return None
    try:
        data, problems, lines, secrets = marshal.loads(body)
        found = tuple(YamlProblem(ProblemKind(kind), line, text) for kind, line, text in problems)
        secrets = [(tuple(where), str(kind)) for where, kind in secrets]
    except (EOFError, ValueError, TypeError):
        return None
    if lines is not None and not isinstance(lines, dict):
        return None
    return YamlDocument(data, found, lines), secrets


@dataclass
class _Begun:
    """A batch of documents read and looked up in the parse cache, its misses not yet parsed."""

    todo: list[str]  # the paths asked that were not held
    raws: dict[str, bytes]  # of those, the regular files' bytes
    digests: list[str]
    keys: list[str]
    found: list[tuple[YamlDocument, Secrets] | None]  # from the cache; None for a miss
    misses: list[int]
    todo_raws: list[bytes]  # the misses' bytes
    job: int | None  # the read-ahead worker packing them


# Documents read and parsed together, and about as many held at once (a run has three or four).
DOCUMENTS_HELD = 2000


class Documents:
    """The documents of one doctor run, each read and parsed once while held."""

    def __init__(self, root: Path, cache: HashCache | None, *, use_cache: bool) -> None:
        self.root = root
        self.cache = cache
        self.use_cache = use_cache  # False (--no-cache): parse every document, then store it
        self._parsed = 0
        self._held: dict[str, YamlDocument | None] = {}
        self._secrets: dict[str, Secrets] = {}  # found in each held document
        self._ahead = yamlbulk.Ahead()
        self._next: tuple[list[str], _Begun] | None = None  # `ahead`'s batch, begun

    def close(self) -> None:
        """End the read-ahead worker, if one was started."""
        self._next = None
        self._ahead.close()

    @property
    def parsed(self) -> int:
        """Documents actually parsed (the rest came from the parse cache)."""
        return self._parsed

    def document(self, path: str) -> YamlDocument | None:
        """Parsed YAML at a repo-relative path, or None when there is no such regular file."""
        if path not in self._held:
            self.prefetch([path])
            self._held.setdefault(path, None)
        return self._held[path]

    def secrets(self, path: str) -> Secrets | None:
        """Credentials in the data of the document held for `path` (`iter_secrets`), if known."""
        return self._secrets.get(path) if path in self._held else None

    def prefetch(self, paths: list[str]) -> None:
        """Read many documents at once before the checks ask for them one by one: one cache
        query for them all, and the misses parsed together (`parse_many`, in worker processes)."""
        if self._next is not None and self._next[0] == paths:  # read ahead: the worker's parse
            _, begun = self._next
            self._next = None
        else:
            begun = self._begin(paths, ahead=False)
        for path, (document, secrets) in zip(begun.raws, self._end(begun), strict=True):
            self._held[path] = document
            self._secrets[path] = secrets
        for path in begun.todo:
            self._held.setdefault(path, None)  # no such file: not looked for again

    def ahead(self, paths: list[str]) -> None:
        """`prefetch` of the next batch, begun now: its files read and looked up in the parse
        cache here, its misses parsed by a worker while this batch is checked. The next
        `prefetch` of the same paths takes them."""
        self._next = paths, self._begin(paths, ahead=True)

    def forget(self, paths: list[str]) -> None:
        """Let go of documents no check will ask for again: a registry's documents are not all
        held at once (a later ask reads the file again, from the parse cache)."""
        for path in paths:
            self._held.pop(path, None)
            self._secrets.pop(path, None)

    def _begin(self, paths: list[str], *, ahead: bool) -> _Begun:
        """The documents not held read, and taken from the parse cache where their bytes' digest
        is stored; the misses handed to the read-ahead worker (`ahead`, and enough of them to be
        worth it) or left for `_end`."""
        todo = [p for p in dict.fromkeys(paths) if p not in self._held]
        raws = {path: raw for path in todo if (raw := self._raw(path)) is not None}
        digests = [hash_bytes(raw) for raw in raws.values()]
        keys = [key(digest) for digest in digests]
        cache = self.cache
        stored = cache.lookup_parsed(keys) if cache is not None and self.use_cache else {}
        found = [unpack(stored[k]) if k in stored else None for k in keys]
        misses = [k for k, hit in enumerate(found) if hit is None]
        paths = list(raws)
        todo_raws = [raws[paths[k]] for k in misses]
        job = None
        if ahead and len(misses) >= yamlbulk.POOL_MIN_DOCUMENTS:
            job = self._ahead.submit(todo_raws, parse_and_pack)
        return _Begun(todo, raws, digests, keys, found, misses, todo_raws, job)

    def _end(self, begun: _Begun) -> list[tuple[YamlDocument, Secrets]]:
        """Each document of a begun batch: stored ones as found, the misses parsed, scanned for
        credentials and packed as the parse cache's row where they are parsed (the read-ahead
        worker, or shared out now), then read as a row from the cache is, and stored. None keeps
        its source text: a line is found by reading the file again, and only if it still holds
        the bytes that were parsed (TFC-0008 R13)."""
        found, misses, paths, cache = begun.found, begun.misses, list(begun.raws), self.cache
        if begun.job is not None:
            fresh = self._ahead.take(begun.job, begun.todo_raws, parse_and_pack)
        else:
            fresh = yamlbulk.pack_many(begun.todo_raws, parse_and_pack) if misses else []
        self._parsed += len(misses)
        for k, packed in zip(misses, fresh, strict=True):
            hit = unpack(packed)
            if hit is None:  # not what parse_and_pack writes: parsed here
                document = yamlio.parse_yaml(begun.raws[paths[k]])
                hit = document, find_secrets(document)
                packed = pack(*hit)
            found[k] = hit
            if cache is not None:
                cache.remember_parsed(begun.keys[k], packed)
        out = []
        for path, digest, hit in zip(paths, begun.digests, found, strict=True):
            assert hit is not None
            document, secrets = hit
            if document.lines is None:
                document = replace(document, source=None, reread=self._rereader(path, digest))
            out.append((document, secrets))
        return out

    def _rereader(self, path: str, digest: str) -> Callable[[], bytes | None]:
        def reread() -> bytes | None:
            raw = self._raw(path)
            return raw if raw is not None and hash_bytes(raw) == digest else None

        return reread

    def _raw(self, path: str) -> bytes | None:
        try:  # bounded: a huge file is reported, not loaded
            return read_regular(f"{self.root}/{path}", MAX_BYTES + 1)
        except OSError:
            return None  # missing, or not a regular file
