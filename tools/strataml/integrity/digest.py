"""A content digest as a value that knows its algorithm (`blake3:<64 hex>`), instead of string
edits: how the records write one, how messages show one, how a pin is recognised."""

from __future__ import annotations

import re
from dataclasses import dataclass

from strataml.integrity.hashing import hash_bytes

ALGORITHM = "blake3"
_HEX = re.compile(r"[0-9a-f]{64}")
SHOWN = 12  # hex digits a message shows: blake3:0123456789ab…


@dataclass(frozen=True, slots=True)
class Digest:
    hex: str

    @classmethod
    def of(cls, data: bytes) -> Digest:
        return cls(hash_bytes(data))

    @classmethod
    def parse(cls, text: str) -> Digest:
        algorithm, _, hexdigits = text.partition(":")
        if algorithm != ALGORITHM or not _HEX.fullmatch(hexdigits):
            raise ValueError(f"not a {ALGORITHM} digest: {text[:80]!r}")
        return cls(hexdigits)

    def __str__(self) -> str:
        return f"{ALGORITHM}:{self.hex}"


PLACEHOLDER = Digest("0" * 64)  # written first, replaced by the real one when the stamp is made


def is_hex_digest(value: object) -> bool:
    """Whether a value is a digest's 64 lower-case hex digits, untagged (the caches keep these)."""
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def is_tagged(value: object) -> bool:
    """Whether a recorded value claims to be a digest of ours (its hex checked elsewhere)."""
    return isinstance(value, str) and value.startswith(f"{ALGORITHM}:")


def shown(text: str) -> str:
    """A recorded digest as messages show it, whether or not it parses: `blake3:0123…`."""
    return f"{text[: len(ALGORITHM) + 1 + SHOWN]}…"
