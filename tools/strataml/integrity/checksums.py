"""CHECKSUMS.txt in the exact b3sum format, and the payload content hash (TFC-0008)."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from strataml.integrity.digest import Digest
from strataml.schemas import is_safe_relative_path

CHECKSUMS = "CHECKSUMS.txt"
SIGNATURE = "SIGNATURE.asc"
EXCLUDED = frozenset({CHECKSUMS, SIGNATURE})
# A listing of a huge dataset is large too (100 bytes a line); anything larger is not one.
MAX_LISTING_BYTES = 64 << 20
# Prose about the data, excluded from content_hash so editing it keeps the data's identity.
PROSE = frozenset({"metadata.yaml", "card.md", "datasheet.md"})

_LINE = re.compile(r"([0-9a-f]{64})  (.+)")


class LineProblem(enum.Enum):
    MALFORMED = "malformed"
    DUPLICATE = "duplicate"
    UNSORTED = "unsorted"
    EXCLUDED = "excluded"
    UNSAFE = "unsafe"


@dataclass(frozen=True, slots=True)
class ChecksumEntry:
    digest: str
    path: str
    line: int


@dataclass(frozen=True, slots=True)
class ChecksumProblem:
    kind: LineProblem
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Checksums:
    entries: tuple[ChecksumEntry, ...]
    problems: tuple[ChecksumProblem, ...]

    def digests(self) -> dict[str, str]:
        return {e.path: e.digest for e in self.entries}


def parse_checksums(raw: bytes) -> Checksums:
    entries: list[ChecksumEntry] = []
    problems: list[ChecksumProblem] = []
    seen: dict[str, int] = {}
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append(
            ChecksumProblem(
                LineProblem.MALFORMED,
                1,
                "file starts with a byte-order mark; b3sum reads it as part of the first digest",
            )
        )
        raw = raw[3:]
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif raw:
        problems.append(
            ChecksumProblem(LineProblem.MALFORMED, len(lines), "last line has no newline")
        )
    crlf = [n for n, blob in enumerate(lines, start=1) if blob.endswith(b"\r")]
    if crlf:
        # One finding for the file, and the entries still count, so nothing else cascades.
        problems.append(
            ChecksumProblem(
                LineProblem.MALFORMED,
                crlf[0],
                f"{len(crlf)} line(s) end with CR (CRLF); b3sum needs LF line ends",
            )
        )
    for number, blob in enumerate(lines, start=1):
        blob = blob.removesuffix(b"\r")
        fast = _PLAIN_LINE.fullmatch(blob)
        if (
            fast is not None
            and b"/./" not in b"/" + fast.group(2) + b"/"
            and b"/../" not in b"/" + fast.group(2) + b"/"
        ):
            digest, path = fast.group(1).decode("ascii"), fast.group(2).decode("ascii")
        else:  # anything unusual takes the careful path
            problem = _line_problem(blob, number)
            if problem:
                problems.append(problem)
                continue
            match = _LINE.fullmatch(blob.decode("utf-8"))
            assert match is not None  # _line_problem checked it
            digest, path = match.groups()
        if path in EXCLUDED:
            problems.append(
                ChecksumProblem(
                    LineProblem.EXCLUDED, number, f"lists {path}, which is never listed"
                )
            )
        elif path in seen:
            problems.append(
                ChecksumProblem(
                    LineProblem.DUPLICATE,
                    number,
                    f"{path} listed again (first on line {seen[path]})",
                )
            )
        else:
            seen[path] = number
            entries.append(ChecksumEntry(digest, path, number))
    paths = [e.path for e in entries]
    if paths != sorted(paths):
        first = next(e for e, prev in zip(entries[1:], entries, strict=False) if e.path < prev.path)
        problems.append(
            ChecksumProblem(
                LineProblem.UNSORTED,
                first.line,
                f"{first.path} is out of order; lines must be sorted by path",
            )
        )
    return Checksums(tuple(entries), tuple(problems))


# The common case, checked in one step: lowercase hex, two spaces, a plain relative ASCII path.
_PLAIN_LINE = re.compile(rb"([0-9a-f]{64})  ((?:[A-Za-z0-9_.@+=-]+/)*[A-Za-z0-9_.@+=-]+)")


def _line_problem(blob: bytes, number: int) -> ChecksumProblem | None:
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return ChecksumProblem(LineProblem.MALFORMED, number, "line is not UTF-8")
    match = _LINE.fullmatch(text)
    if match is None:
        return ChecksumProblem(
            LineProblem.MALFORMED,
            number,
            f"expected '<64 lowercase hex>  <path>', got {_preview(text)}",
        )
    path = match.group(2)
    if not is_safe_relative_path(path) or path != _normal(path):
        return ChecksumProblem(
            LineProblem.UNSAFE,
            number,
            f"path {path!r} is not a plain relative path inside the directory",
        )
    return None


def _normal(path: str) -> str:
    return "/".join(part for part in path.split("/") if part not in {"", "."})


def _preview(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def format_checksums(digests: Mapping[str, str]) -> str:
    return "".join(f"{digests[path]}  {path}\n" for path in sorted(digests))


def content_hash(digests: Mapping[str, str]) -> str:
    payload = {path: d for path, d in digests.items() if path not in PROSE and path not in EXCLUDED}
    return str(Digest.of(format_checksums(payload).encode("utf-8")))
