"""SIGNATURE.asc as a file: the armored signature blocks it holds, read without gpg (TFC-0008 R7)."""

from __future__ import annotations

from dataclasses import dataclass, field

BEGIN = b"-----BEGIN PGP SIGNATURE-----"
END = b"-----END PGP SIGNATURE-----"
MAX_SIGNATURE_BYTES = 1 << 20


@dataclass(frozen=True)
class SignatureFile:
    blocks: list[bytes] = field(default_factory=list)
    problem: str | None = None  # the file as a whole is malformed


def split_blocks(raw: bytes) -> SignatureFile:
    """The armored blocks of SIGNATURE.asc; anything else in the file makes it malformed."""
    if len(raw) > MAX_SIGNATURE_BYTES:
        return SignatureFile(problem=f"larger than {MAX_SIGNATURE_BYTES} bytes")
    blocks: list[bytes] = []
    rest = raw
    while True:
        start = rest.find(BEGIN)
        if start == -1:
            if rest.strip():
                return SignatureFile(blocks, "text outside an armored signature block")
            break
        if rest[:start].strip():
            return SignatureFile(blocks, "text outside an armored signature block")
        end = rest.find(END, start)
        if end == -1:
            return SignatureFile(blocks, "armored block has no END line (truncated?)")
        stop = end + len(END)
        blocks.append(rest[start:stop] + b"\n")
        rest = rest[stop:]
    if not blocks:
        return SignatureFile(problem="holds no armored signature block")
    return SignatureFile(blocks)
