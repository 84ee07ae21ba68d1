"""What keys/ admits: one armored public key per file, named <FINGERPRINT>.asc (TFC-0008 R8).

Pure functions over a key file's bytes and gpg's colon listing of it; gpg.py runs gpg and imports
only the files these functions pass, so a refused file's keys never reach the verification keyring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BEGIN = re.compile(rb"-----BEGIN PGP ([A-Z0-9 ,/]+)-----")
PUBLIC = b"PUBLIC KEY BLOCK"
END_PUBLIC = b"-----END PGP PUBLIC KEY BLOCK-----"
ONE_FILE_EACH = "keys/ holds ASCII-armored public keys, one file each (`strata keys add`)"


def key_file_name(fingerprint: str) -> str:
    """The one name a key's file may have: its primary fingerprint, 40 upper-case hex digits."""
    return f"{fingerprint.upper()}.asc"


@dataclass(frozen=True, slots=True)
class Listed:
    """What gpg lists from a key file without importing it."""

    primaries: tuple[str, ...]
    secret: bool


def parse_listing(colons: str) -> Listed:
    """`gpg --with-colons --import-options show-only --import` output: primary keys, secrets."""
    primaries: list[str] = []
    secret = False
    record = ""
    for line in colons.splitlines():
        fields = line.split(":")
        if fields[0] in ("pub", "sec", "sub", "ssb"):
            record = fields[0]
            secret = secret or record in ("sec", "ssb")
        elif fields[0] == "fpr" and len(fields) > 9 and record in ("pub", "sec"):
            primaries.append(fields[9].upper())
            record = ""
    return Listed(tuple(primaries), secret)


@dataclass(frozen=True, slots=True)
class Refusal:
    message: str
    hint: str = ONE_FILE_EACH


def armor_refusal(data: bytes) -> Refusal | None:
    """Exactly one PUBLIC KEY BLOCK and nothing but whitespace around it, as `keys add` writes."""
    kinds = BEGIN.findall(data)
    if not kinds:
        return Refusal("is not ASCII-armored (no BEGIN PGP PUBLIC KEY BLOCK line)")
    if len(kinds) > 1:
        return Refusal(
            f"holds {len(kinds)} armored blocks; keys/ takes one public key per file",
            "split it: one `strata keys add FILE` per key you trust",
        )
    if kinds[0] != PUBLIC:
        return Refusal(f"holds a PGP {kinds[0].decode()} block, not a public key")
    start = data.find(b"-----BEGIN PGP ")
    end = data.find(END_PUBLIC)
    if end == -1:
        return Refusal("armored block has no END line (truncated?)")
    if data[:start].strip() or data[end + len(END_PUBLIC) :].strip():
        # A reviewer reads that text; gpg ignores it. Neither may vouch for the other.
        return Refusal(
            "has text outside its armored public key block",
            "keep only the armored block, exactly as `strata keys add` writes it",
        )
    return None


def listing_refusal(
    keys_dir: str, name: str, listed: Listed, names: frozenset[str]
) -> Refusal | None:
    """One primary key, and the file named after it; `names` are the files beside it."""
    if len(listed.primaries) > 1:
        return Refusal(
            f"holds {len(listed.primaries)} public keys ({', '.join(sorted(listed.primaries))}); "
            "keys/ takes one key per file",
            "split it: one `strata keys add FILE` per key you trust; until then none of them counts",
        )
    [fingerprint] = listed.primaries
    expected = key_file_name(fingerprint)
    if name == expected:
        return None
    if expected in names:
        hint = f"{keys_dir}/{expected} is this key's file; delete this copy"
    else:
        hint = (
            f"`git mv {keys_dir}/{name} {keys_dir}/{expected}`; until then the key does not count"
        )
    return Refusal(f"holds key {fingerprint}, so it must be named {expected}", hint)
