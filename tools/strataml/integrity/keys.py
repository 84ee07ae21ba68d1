"""keys/ and the trust list in pyproject.toml: add, list, remove (TFC-0008 R8, R9)."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from strataml.atomic import write_atomic, write_text_atomic
from strataml.config import PYPROJECT, load_config, parse_toml
from strataml.confine import confined
from strataml.errors import StrataError, UsageError
from strataml.integrity.gpg import (
    MAX_KEY_BYTES,
    KeyInfo,
    Keyring,
    list_keys,
    normalise_fingerprint,
    run_gpg,
    throwaway_home,
)
from strataml.integrity.keyfiles import key_file_name
from strataml.safeopen import read_regular

KEYS = "keys"
_TRUSTED = re.compile(r"(?m)^trusted\s*=\s*\[[^\]]*\]")


@dataclass(frozen=True)
class KeyRow:
    fingerprint: str
    uid: str | None
    file: str
    expires: int | None
    revoked: bool
    expired: bool
    trusted: bool

    @property
    def state(self) -> str:
        return "revoked" if self.revoked else "expired" if self.expired else "valid"

    def text(self) -> str:
        trust = "trusted" if self.trusted else "not trusted"
        return f"{self.fingerprint}  {trust}  {self.state}  {self.uid or ''}".rstrip()

    def document(self) -> dict[str, object]:
        return {
            "fingerprint": self.fingerprint, "uid": self.uid, "file": self.file,
            "expires": self.expires, "revoked": self.revoked, "expired": self.expired,
            "trusted": self.trusted,
        }  # fmt: skip


@dataclass(frozen=True)
class KeyList:
    """`strata keys list`: the keys in keys/, then what could not be read."""

    rows: tuple[KeyRow, ...]
    problems: tuple[str, ...]

    def text(self) -> str:
        lines = [r.text() for r in self.rows] + [f"problem: {p}" for p in self.problems]
        return "\n".join(lines) + "\n" if lines else "no keys\n"

    def document(self) -> dict[str, object]:
        """schemas/keys-list.schema.json."""
        return {"keys": [r.document() for r in self.rows], "problems": list(self.problems)}


def _public_key_bytes(source: str) -> bytes:
    path = Path(source)
    if path.exists():
        try:
            data = read_regular(path, MAX_KEY_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"{source}: {exc.strerror or exc}") from exc
        if b"PRIVATE KEY BLOCK" in data:
            raise UsageError(f"{source} holds secret key material; export the public key only")
        return data
    try:
        fingerprint = normalise_fingerprint(source)
    except StrataError as exc:
        raise UsageError(
            f"{source}: no such file, and not a key fingerprint (40 hex digits)"
        ) from exc
    with tempfile.TemporaryDirectory(prefix="strata-key-") as scratch:
        out = Path(scratch) / "key.asc"
        result = run_gpg(
            [
                "--armor",
                "--export-options",
                "export-minimal",
                "--output",
                str(out),
                "--export",
                fingerprint,
            ],
            home=None,
        )
        if result.returncode != 0 or not out.is_file() or not out.stat().st_size:
            raise UsageError(f"no public key {fingerprint} in your keyring")
        return out.read_bytes()


def add_key(root: Path, source: str) -> KeyRow:
    """Put one public key into keys/<FPR>.asc and its fingerprint on the trust list."""
    data = _public_key_bytes(source)
    with throwaway_home("strata-key-") as home:
        result = run_gpg(["--import", "--import-options", "import-clean"], home=home, stdin=data)
        keys = list_keys(home)
        if result.first("NODATA") is not None or len(keys) != 1:
            found = "no key" if not keys else f"{len(keys)} keys"
            raise UsageError(f"{source}: expected exactly one OpenPGP public key, found {found}")
        [info] = keys.values()
        out = home / "clean.asc"
        run_gpg(["--armor", "--output", str(out), "--export", info.fingerprint], home=home)
        armored = out.read_bytes()
    name = key_file_name(info.fingerprint)  # the name doctor requires (TFC-0008 R8)
    target = confined(root, root / KEYS / name)
    target.parent.mkdir(exist_ok=True)
    write_atomic(target, armored)
    trusted = load_config(root).trusted_list
    if info.fingerprint not in trusted:
        set_trusted(root, [*trusted, info.fingerprint])
    return _row(info, f"{KEYS}/{name}", trusted=True)


def _row(info: KeyInfo, file: str, trusted: bool) -> KeyRow:
    uid = info.uids[0] if info.uids else None
    return KeyRow(info.fingerprint, uid, file, info.expires, info.revoked, info.expired, trusted)


def list_key_rows(root: Path) -> tuple[list[KeyRow], list[str]]:
    """(keys in keys/, problems) as verification sees them."""
    trusted = load_config(root).trusted
    with Keyring(root) as keyring:
        rows = [
            _row(k, keyring.files.get(k.fingerprint, "?"), k.fingerprint in trusted)
            for k in sorted(keyring.keys.values(), key=lambda k: k.fingerprint)
        ]
        problems = [f"{p.path}: {p.message}" for p in keyring.problems]
    problems += [
        f"trusted {f} has no key in keys/" for f in sorted(trusted - {r.fingerprint for r in rows})
    ]
    return rows, problems


def key_list(root: Path) -> KeyList:
    rows, problems = list_key_rows(root)
    return KeyList(tuple(rows), tuple(problems))


def remove_key(root: Path, fingerprint: str) -> list[str]:
    """Take a fingerprint off the trust list and delete its key file; the files removed."""
    fpr = normalise_fingerprint(fingerprint)
    trusted = load_config(root).trusted_list
    removed = []
    with Keyring(root) as keyring:
        if fpr in keyring.files:
            removed.append(keyring.files[fpr])
    if fpr not in trusted and not removed:
        raise UsageError(f"{fpr} is neither trusted nor in keys/")
    if fpr in trusted:
        set_trusted(root, [f for f in trusted if f != fpr])
    for rel in removed:
        (root / rel).unlink()
    return removed


def set_trusted(root: Path, fingerprints: list[str]) -> None:
    """Rewrite [tool.strataml.signing] trusted in pyproject.toml, leaving the rest as it is."""
    path = root / PYPROJECT
    text = read_regular(path).decode("utf-8")
    rendered = "trusted = [\n" + "".join(f'  "{f}",\n' for f in fingerprints) + "]"
    header = "[tool.strataml.signing]"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
    if start is None:
        text = text.rstrip("\n") + f"\n\n{header}\n{rendered}\n"
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
            len(lines),
        )
        section = "".join(lines[start + 1 : end])
        if _TRUSTED.search(section):
            section = _TRUSTED.sub(rendered, section, count=1)
        else:
            section = rendered + "\n" + section
        text = "".join(lines[: start + 1]) + section + "".join(lines[end:])
    try:
        parsed = parse_toml(text)
    except ValueError as exc:  # TOMLDecodeError, and hostile numbers or depth (parse_toml)
        raise StrataError(f"{PYPROJECT}: could not update the trust list in place ({exc})") from exc
    got = parsed.get("tool", {}).get("strataml", {}).get("signing", {}).get("trusted")
    if [str(f).upper() for f in got or []] != fingerprints:
        raise StrataError(f"{PYPROJECT}: could not update the trust list in place; edit it by hand")
    write_text_atomic(path, text)
