"""Throwaway OpenPGP keys made with the real gpg, and the gpg-agents they leave (shared test helpers)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Key:
    fingerprint: str
    public: bytes


def gpg(home: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["gpg", "--batch", "--no-tty", *args], input=stdin, capture_output=True, check=True,
        env={**os.environ, "GNUPGHOME": str(home)},
    )  # fmt: skip


def make_key(home: Path, uid: str, *, expire: str = "never", at: str | None = None) -> Key:
    faked = ["--faked-system-time", at] if at else []
    gpg(home, *faked, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", expire)
    listing = gpg(home, "--with-colons", "--list-keys", uid).stdout.decode()
    fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    return Key(fpr, gpg(home, "--armor", "--export", fpr).stdout)


def signature(home: Path, key: Key, data: Path, *, at: str | None = None) -> bytes:
    faked = ["--faked-system-time", at] if at else []
    return gpg(home, *faked, "--armor", "--detach-sign", "--local-user", key.fingerprint,
               "--output", "-", str(data)).stdout  # fmt: skip


def user_home_dir() -> Path:
    """The user's own GNUPGHOME (conftest points GNUPGHOME at a throwaway one)."""
    from conftest import require_tool  # scripts (tamper.py, crash.py) use the rest without pytest

    require_tool("gpg")
    home = Path(os.environ["GNUPGHOME"])
    home.mkdir(mode=0o700, exist_ok=True)
    return home


def running_agents(under: Path) -> list[Path]:
    """Home directories of the live gpg-agent processes serving a home below `under`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:  # the process ended while we looked
            continue
        if not argv[0] or Path(argv[0].decode(errors="replace")).name != "gpg-agent":
            continue  # a zombie has no command line left
        if b"--homedir" in argv[:-1]:
            home = Path(argv[argv.index(b"--homedir") + 1].decode(errors="replace"))
            if home.is_relative_to(under):
                found.append(home)
    return sorted(found)


def stop_agent(home: Path) -> None:
    """What the library does for its own homes; tests do it for the homes they make."""
    gpgconf = shutil.which("gpgconf")
    if gpgconf is not None:
        subprocess.run([gpgconf, "--homedir", str(home), "--kill", "all"],
                       capture_output=True, timeout=60, check=False)  # fmt: skip
