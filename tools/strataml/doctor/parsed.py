"""The parse cache: a document's parse, stored under the BLAKE3 of its bytes (TFC-0008 R13).

The key is the digest of exactly the bytes the parser would read, so an edit that keeps every
part of a file's stat key still misses; it also names the parser (this Python, PyYAML and libyaml,
and the source of the modules that parse), so a change of code never meets an old parse. Beside
the parse, a row holds the credentials found in the data (TFC-0003 R9), as pure a function of the
bytes. A stored value carries the BLAKE3 of its own body: a damaged row is not unpacked, and the
document is parsed again. Values are marshal of JSON-shaped data (never pickle: loading runs no
code).
"""

from __future__ import annotations

import functools
import marshal
import sys
from pathlib import Path

from strataml import credentials, jsonio, yamlio
from strataml.credentials import Where, iter_secrets
from strataml.integrity.cache import seal, unseal
from strataml.integrity.hashing import hash_bytes
from strataml.yamlio import ProblemKind, YamlDocument, YamlProblem

_FORMAT = b"strataml-parse-1"


@functools.cache
def parser_identity() -> str:
    sources = b"".join(
        Path(module.__file__ or "").read_bytes() for module in (yamlio, jsonio, credentials)
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
