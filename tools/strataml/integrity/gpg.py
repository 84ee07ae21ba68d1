"""GnuPG, run as a subprocess with fixed arguments: the only module that calls gpg (TFC-0008 R7-R10).

User-controlled text never reaches gpg's argument list except as a validated 40-hex fingerprint
or as the path of a file this module wrote; every path comes after `--`.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from strataml.errors import StrataError
from strataml.integrity.keyfiles import (
    Listed,
    Refusal,
    armor_refusal,
    listing_refusal,
    parse_listing,
)
from strataml.safeopen import read_regular

FINGERPRINT = re.compile(r"[0-9A-F]{40}")
MAX_KEY_BYTES = 1 << 20
_TIMEOUT_S = 60


class GpgMissingError(StrataError):
    pass


def gpg_binary() -> str:
    found = shutil.which("gpg")
    if found is None:
        raise GpgMissingError(
            "gpg is not installed; signatures need GnuPG 2.2.8 or later (e.g. apt-get install gnupg)"
        )
    return found


def normalise_fingerprint(text: str) -> str:
    value = text.replace(" ", "").upper().removeprefix("0X")
    if not FINGERPRINT.fullmatch(value):
        raise StrataError(f"{text!r} is not a full key fingerprint (40 hex digits)")
    return value


@dataclass(frozen=True)
class GpgResult:
    returncode: int
    status: list[list[str]]  # [GNUPG:] lines, split
    stderr: str
    stdout: str = ""  # only when asked for

    def first(self, keyword: str) -> list[str] | None:
        return next((line for line in self.status if line and line[0] == keyword), None)

    def all(self, keyword: str) -> list[list[str]]:
        return [line for line in self.status if line and line[0] == keyword]


def run_gpg(
    args: list[str], *, home: Path | None, stdin: bytes | None = None, stdout: bool = False
) -> GpgResult:
    """gpg with status on a pipe; `home` None means the user's own GNUPGHOME (for signing).

    In a throwaway home gpg never starts an agent: public keys and verification need none."""
    env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C"}
    quiet = []
    if home is not None:
        env["GNUPGHOME"] = str(home)
        quiet = ["--no-autostart"]
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(
            [gpg_binary(), "--batch", "--no-tty", *quiet, "--status-fd", str(write_fd), *args],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            pass_fds=(write_fd,),
        )
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd, "rb") as status_pipe:
        try:
            out, err = proc.communicate(stdin, timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.communicate()
            raise StrataError(f"gpg did not answer within {_TIMEOUT_S} s") from exc
        raw = status_pipe.read()
    status = [
        line[len("[GNUPG:] ") :].split(" ")
        for line in raw.decode("utf-8", "replace").splitlines()
        if line.startswith("[GNUPG:] ")
    ]
    return GpgResult(
        proc.returncode,
        status,
        err.decode("utf-8", "replace"),
        out.decode("utf-8", "replace") if out else "",
    )


def stop_agents(home: Path) -> None:
    """Stop whatever gpg started for `home`: an agent outlives the directory it serves."""
    gpgconf = shutil.which("gpgconf")
    if gpgconf is None:
        return  # gpg without gpgconf; --no-autostart kept agents away in the first place
    subprocess.run(
        [gpgconf, "--homedir", str(home), "--kill", "all"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=_TIMEOUT_S, check=False,
    )  # fmt: skip


@contextlib.contextmanager
def throwaway_home(prefix: str = "strata-gpg-") -> Iterator[Path]:
    """An empty GnuPG home, its agents stopped and the directory removed afterwards (TFC-0008 R8)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        home.chmod(0o700)
        yield home
    finally:
        stop_agents(home)
        shutil.rmtree(home, ignore_errors=True)


# --- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyInfo:
    fingerprint: str  # primary
    uids: tuple[str, ...]
    subkeys: tuple[str, ...]
    expires: int | None  # Unix time
    revoked: bool
    expired: bool


def list_keys(home: Path | None, secret: bool = False) -> dict[str, KeyInfo]:
    """Keys of a keyring by primary fingerprint (python-gnupg parses the colon listing)."""
    import gnupg  # python-gnupg (and its logging) only where a keyring is listed

    gpg = gnupg.GPG(
        gnupghome=str(home) if home else None,
        gpgbinary=gpg_binary(),
        options=["--no-autostart"] if home else None,
    )
    gpg.encoding = "utf-8"
    listed = gpg.list_keys(secret=secret)
    found = {}
    for key in listed:
        fpr = str(key.get("fingerprint", "")).upper()
        if not FINGERPRINT.fullmatch(fpr):
            continue
        validity = str(key.get("trust", ""))
        expires = str(key.get("expires") or "")
        found[fpr] = KeyInfo(
            fpr,
            tuple(str(u) for u in key.get("uids", [])),
            tuple(str(s[2]).upper() for s in key.get("subkeys", []) if len(s) > 2 and s[2]),
            int(expires) if expires.isdigit() else None,
            validity == "r",
            validity == "e",
        )
    return found


def primary_of(keys: dict[str, KeyInfo], fingerprint: str) -> str | None:
    fingerprint = fingerprint.upper()
    if fingerprint in keys:
        return fingerprint
    return next((k.fingerprint for k in keys.values() if fingerprint in k.subkeys), None)


@dataclass(frozen=True)
class KeyFileProblem:
    path: str  # repo-relative
    message: str
    hint: str | None = None


class Keyring(contextlib.AbstractContextManager["Keyring"]):
    """A throwaway GnuPG home holding only the public keys of keys/ (TFC-0008 R8).

    A file is imported only once keyfiles.py admits it; a refused file's keys never count."""

    def __init__(self, root: Path, keys_dir: str = "keys") -> None:
        gpg_binary()
        self.root = root
        self.keys_dir = keys_dir
        self.problems: list[KeyFileProblem] = []
        self.files: dict[str, str] = {}  # primary fingerprint -> key file
        with contextlib.ExitStack() as stack:
            self.home = stack.enter_context(throwaway_home())
            self._import_all()
            listed = list_keys(self.home)
            self.keys = {f: k for f, k in listed.items() if f in self.files}  # admitted only
            self._cleanup = stack.pop_all()

    def __exit__(self, *exc: object) -> None:
        self._cleanup.close()

    def _import_all(self) -> None:
        directory = self.root / self.keys_dir
        if not directory.is_dir():
            return
        entries = sorted(directory.iterdir())
        names = frozenset(p.name for p in entries)
        for path in entries:
            if path.name.startswith(".") or path.name == "README.md":
                continue
            rel = f"{self.keys_dir}/{path.name}"
            if path.suffix != ".asc":
                self.problems.append(KeyFileProblem(rel, "not an ASCII-armored key file (*.asc)"))
                continue
            try:
                data = read_regular(path, MAX_KEY_BYTES + 1)
            except OSError as exc:
                self.problems.append(KeyFileProblem(rel, f"cannot be read: {exc.strerror or exc}"))
                continue
            if len(data) > MAX_KEY_BYTES:
                self.problems.append(KeyFileProblem(rel, f"larger than {MAX_KEY_BYTES} bytes"))
                continue
            if b"PRIVATE KEY BLOCK" in data:
                self.problems.append(KeyFileProblem(rel, _SECRET))
                continue
            listed = self._list(data)
            refusal = _refusal(data, listed, self.keys_dir, path.name, names)
            if refusal is not None:
                self.problems.append(KeyFileProblem(rel, refusal.message, refusal.hint))
                continue
            self._import(rel, data, listed.primaries[0])

    def _list(self, data: bytes) -> Listed:
        listing = ["--with-colons", "--import-options", "show-only", "--import"]
        result = run_gpg(listing, home=self.home, stdin=data, stdout=True)
        return parse_listing(result.stdout)

    def _import(self, rel: str, data: bytes, fingerprint: str) -> None:
        result = run_gpg(
            ["--import", "--import-options", "import-clean"], home=self.home, stdin=data
        )
        imported = {line[2].upper() for line in result.all("IMPORT_OK") if len(line) > 2}
        if imported - {fingerprint}:  # fail closed: the keyring now holds what nobody admitted
            raise StrataError(
                f"{rel}: gpg imported keys it did not list ({', '.join(sorted(imported))})"
            )
        if not imported or result.first("NODATA") is not None:
            self.problems.append(KeyFileProblem(rel, _UNPARSED))
            return
        self.files[fingerprint] = rel

    def verify_block(self, block: bytes, data: Path) -> BlockResult:
        with tempfile.TemporaryDirectory(prefix="strata-sig-") as scratch:
            sig = Path(scratch) / "block.asc"
            sig.write_bytes(block)
            result = run_gpg(
                [
                    "--trust-model",
                    "always",
                    "--no-auto-key-retrieve",
                    "--verify",
                    "--",
                    str(sig),
                    str(data),
                ],
                home=self.home,
            )
        return interpret(result, self.keys)


_SECRET = "holds secret key material; keys/ takes public keys only"
_UNPARSED = "does not parse as an OpenPGP public key"


def _refusal(
    data: bytes, listed: Listed, keys_dir: str, name: str, names: frozenset[str]
) -> Refusal | None:
    if listed.secret:
        return Refusal(_SECRET)
    if not listed.primaries:
        return Refusal(_UNPARSED)
    return armor_refusal(data) or listing_refusal(keys_dir, name, listed, names)


class Verdict(enum.Enum):
    GOOD = "good"
    MISMATCH = "does not match CHECKSUMS.txt"
    NO_KEY = "key not in keys/"
    EXPIRED_KEY = "key expired"
    REVOKED_KEY = "key revoked"
    EXPIRED_SIGNATURE = "signature expired"
    MALFORMED = "malformed"
    ERROR = "could not be verified"


@dataclass(frozen=True)
class BlockResult:
    verdict: Verdict
    fingerprint: str | None = None  # primary key, when known
    uid: str | None = None
    detail: str = ""


def interpret(result: GpgResult, keys: dict[str, KeyInfo]) -> BlockResult:
    """Fail closed: GOOD only with exactly one signature, GOODSIG, VALIDSIG and exit 0."""
    if result.first("NODATA") is not None or not (result.all("NEWSIG") or result.all("ERRSIG")):
        return BlockResult(Verdict.MALFORMED, detail="no OpenPGP signature in it")
    if len(result.all("NEWSIG")) > 1:
        return BlockResult(Verdict.MALFORMED, detail="more than one signature in one armored block")
    valid = result.first("VALIDSIG")
    signer = valid[10].upper() if valid and len(valid) > 10 else None
    signer = signer or (valid[1].upper() if valid and len(valid) > 1 else None)
    primary = primary_of(keys, signer) if signer else None
    uid = keys[primary].uids[0] if primary and keys[primary].uids else None
    for keyword, verdict in (
        ("REVKEYSIG", Verdict.REVOKED_KEY),
        ("EXPKEYSIG", Verdict.EXPIRED_KEY),
        ("EXPSIG", Verdict.EXPIRED_SIGNATURE),
        ("BADSIG", Verdict.MISMATCH),
    ):
        line = result.first(keyword)
        if line is not None:
            return BlockResult(
                verdict, primary or _issuer(line, keys), uid or " ".join(line[2:]) or None
            )
    errsig = result.first("ERRSIG")
    if errsig is not None:
        fpr = (
            errsig[7].upper()
            if len(errsig) > 7 and FINGERPRINT.fullmatch(errsig[7].upper())
            else None
        )
        if len(errsig) > 6 and errsig[6] == "9":
            return BlockResult(Verdict.NO_KEY, fpr, detail=f"key {fpr or errsig[1]}")
        return BlockResult(
            Verdict.ERROR, fpr, detail=f"gpg error code {errsig[6] if len(errsig) > 6 else '?'}"
        )
    if (
        result.first("GOODSIG") is None
        or valid is None
        or primary is None
        or result.returncode != 0
    ):
        return BlockResult(Verdict.ERROR, primary, uid, detail=f"gpg exit {result.returncode}")
    info = keys[primary]
    if info.revoked:
        return BlockResult(Verdict.REVOKED_KEY, primary, uid)
    if info.expired:
        return BlockResult(Verdict.EXPIRED_KEY, primary, uid)
    return BlockResult(Verdict.GOOD, primary, uid)


def _issuer(line: list[str], keys: dict[str, KeyInfo]) -> str | None:
    keyid = line[1].upper() if len(line) > 1 else ""
    for key in keys.values():
        if key.fingerprint.endswith(keyid) or any(s.endswith(keyid) for s in key.subkeys):
            return key.fingerprint
    return None


# --- signature files ----------------------------------------------------------------------------


def issuer_fingerprint(block: bytes) -> str | None:
    """The issuer fingerprint a signature packet names (no keyring needed)."""
    with throwaway_home("strata-sig-") as home:
        sig = home / "block.asc"
        sig.write_bytes(block)
        done = subprocess.run(
            [gpg_binary(), "--batch", "--no-tty", "--no-autostart", "--list-packets", "--", str(sig)],
            capture_output=True, env={**os.environ, "GNUPGHOME": str(home), "LC_ALL": "C"},
            timeout=_TIMEOUT_S, check=False,
        )  # fmt: skip
    match = re.search(rb"issuer fpr v\d ([0-9A-F]{40})", done.stdout)
    return match.group(1).decode() if match else None
