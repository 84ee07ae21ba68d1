"""Write CHECKSUMS.txt and the metadata content_hash for one artifact directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from strataml.atomic import write_files_atomic, write_text_atomic
from strataml.confine import check_user_path
from strataml.errors import StrataError
from strataml.integrity.checksums import CHECKSUMS, EXCLUDED, content_hash, format_checksums
from strataml.integrity.hashing import hash_bytes, hash_files
from strataml.integrity.tree import scan_tree
from strataml.yamlio import parse_yaml
from strataml.yamltext import top_level_key_line

METADATA = "metadata.yaml"


@dataclass(frozen=True, slots=True)
class Stamp:
    directory: Path
    files: int
    content_hash: str
    metadata_updated: bool


def stamp_directory(directory: Path) -> Stamp:
    """Write CHECKSUMS.txt (and content_hash into metadata.yaml, if there is one)."""
    if not directory.is_dir():
        raise StrataError(f"{directory}: not a directory")
    check_user_path(directory)  # never through a symlink out of the repository (TFC-0001 R8)
    scan = scan_tree(directory)
    odd = scan.symlinks + scan.special + scan.unportable + scan.unreadable
    if odd:
        raise StrataError(
            f"{directory / odd[0]}: only regular files with portable names can be checksummed"
        )
    paths = [p for p in scan.files if p not in EXCLUDED]
    digests = _hash(directory, paths)
    payload_hash = content_hash(digests)
    metadata = directory / METADATA
    updated = _with_content_hash(metadata, payload_hash) if metadata.is_file() else None
    if updated is None:
        write_text_atomic(directory / CHECKSUMS, format_checksums(digests))
        return Stamp(directory, len(digests), payload_hash, False)
    digests[METADATA] = hash_bytes(updated)
    # Both files written and synced before either is renamed: a kill leaves them old, new, or
    # (between two back-to-back renames) the new metadata.yaml under the old listing.
    write_files_atomic(
        {metadata: updated, directory / CHECKSUMS: format_checksums(digests).encode("utf-8")}
    )
    return Stamp(directory, len(digests), payload_hash, True)


def _hash(directory: Path, paths: list[str]) -> dict[str, str]:
    digests: dict[str, str] = {}
    for path, digest in zip(paths, hash_files([directory / p for p in paths]), strict=True):
        if isinstance(digest, OSError):
            raise StrataError(f"{directory / path}: cannot read: {digest.strerror or digest}")
        digests[path] = digest
    return digests


def _with_content_hash(metadata: Path, value: str) -> bytes | None:
    """metadata.yaml with `content_hash: value`, or None if it already says so."""
    raw = metadata.read_bytes()
    document = parse_yaml(raw)
    if not document.ok or not isinstance(document.data, dict):
        raise StrataError(f"{metadata}: not a valid YAML mapping; fix it before checksumming")
    if document.data.get("content_hash") == value:
        return None
    text = raw.decode("utf-8")
    lines = text.splitlines(keepends=True)
    line = top_level_key_line(text, "content_hash")
    new_line = f"content_hash: {value}\n"
    if line is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(new_line)
    else:
        lines[line - 1] = new_line
    updated = "".join(lines)
    check = parse_yaml(updated.encode("utf-8"))
    if not check.ok or not isinstance(check.data, dict) or check.data.get("content_hash") != value:
        raise StrataError(
            f"{metadata}: content_hash is not a plain one-line value; cannot update it in place"
        )
    return updated.encode("utf-8")
