"""The tamper matrix: every artifact kind x every way of changing its bytes, each one detected.

python tests/tamper.py      prints the matrix and the counts (tried, detected, missed)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from strataml.doctor.engine import run_doctor  # noqa: E402

TEMPLATE = ("pyproject.toml", "datasets", "models", "runs", "experiments", "keys")


def _payload(artifact: Path) -> Path:
    """The largest file an artifact lists."""
    files = [
        p
        for p in artifact.rglob("*")
        if p.is_file() and p.name not in ("CHECKSUMS.txt", "SIGNATURE.asc")
    ]
    return max(files, key=lambda p: (p.stat().st_size, str(p)))


def _flip(a: Path) -> None:
    target = _payload(a)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))


def _listing_line(a: Path) -> None:
    listing = a / "CHECKSUMS.txt"
    lines = listing.read_text().splitlines(keepends=True)
    lines[0] = ("0" if lines[0][0] != "0" else "1") + lines[0][1:]
    listing.write_text("".join(lines))


MUTATIONS: dict[str, Callable[[Path], None]] = {
    "flip one byte": _flip,
    "truncate": lambda a: _payload(a).write_bytes(_payload(a).read_bytes()[:-1]),
    "empty the file": lambda a: _payload(a).write_bytes(b""),
    "append bytes": lambda a: _payload(a).write_bytes(_payload(a).read_bytes() + b"\n"),
    "delete a file": lambda a: _payload(a).unlink(),
    "add a file": lambda a: (a / "extra.bin").write_bytes(b"x"),
    "rename a file": lambda a: _payload(a).rename(_payload(a).with_name("renamed.bin")),
    "replace by a symlink": lambda a: (lambda p: (p.unlink(), p.symlink_to("/etc/hostname")))(
        _payload(a)
    ),
    "add a FIFO": lambda a: os.mkfifo(a / "pipe"),
    "edit a listing digest": _listing_line,
    "delete the listing": lambda a: (a / "CHECKSUMS.txt").unlink(),
    "CRLF in the listing": lambda a: (a / "CHECKSUMS.txt").write_bytes(
        (a / "CHECKSUMS.txt").read_bytes().replace(b"\n", b"\r\n")
    ),
    "BOM before the listing": lambda a: (a / "CHECKSUMS.txt").write_bytes(
        b"\xef\xbb\xbf" + (a / "CHECKSUMS.txt").read_bytes()
    ),
    "duplicate a listing line": lambda a: (a / "CHECKSUMS.txt").write_bytes(
        (a / "CHECKSUMS.txt").read_bytes()
        + (a / "CHECKSUMS.txt").read_bytes().splitlines(keepends=True)[0]
    ),
    "listing path escapes": lambda a: (a / "CHECKSUMS.txt").write_bytes(
        (a / "CHECKSUMS.txt").read_bytes() + b"0" * 64 + b"  ../../pyproject.toml\n"
    ),
}


def artifacts() -> dict[str, str]:
    run = next(p.name for p in (REPO / "runs").iterdir() if p.name.startswith("run-"))
    return {
        "dataset": "datasets/iris/v1",
        "model": "models/iris-classifier/v1",
        "run": f"runs/{run}",
    }


def trial(kind_path: str, mutation: Callable[[Path], None]) -> tuple[bool, list[str]]:
    """(detected, codes reported under the artifact) for one mutation of one artifact."""
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / "repo"
        for name in TEMPLATE:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(
                    source, repo / name, symlinks=True, ignore=shutil.ignore_patterns(".strata")
                )
            elif source.exists():
                repo.mkdir(exist_ok=True)
                shutil.copy2(source, repo / name)
        mutation(repo / kind_path)
        report = run_doctor(repo)
        codes = sorted(
            {
                d.code
                for d in report.diagnostics
                if d.path.startswith(kind_path) and d.severity.value == "error"
            }
        )
        return report.failed and bool(codes), codes


def main() -> int:
    tried = detected = 0
    for kind, path in artifacts().items():
        for name, mutation in MUTATIONS.items():
            ok, codes = trial(path, mutation)
            tried += 1
            detected += ok
            print(f"{'caught' if ok else 'MISSED'}  {kind:<8} {name:<26} {' '.join(codes)}")
    print(f"\n{tried} tampering cases tried, {detected} detected, {tried - detected} missed")
    return 0 if tried == detected else 1


if __name__ == "__main__":
    raise SystemExit(main())
