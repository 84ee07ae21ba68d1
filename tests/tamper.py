"""The tamper matrix: every artifact kind x every way of changing its bytes, each one detected.

Artifact kinds are the template's dataset, model and run versions (x every byte-level mutation),
plus what vouches for them: the model's stages.yaml, keys/, the model's SIGNATURE.asc and the
policy in pyproject.toml (x the mutations that mean something there).

python tests/tamper.py      prints the matrix and the counts (tried, detected, missed)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from gpgkeys import stop_agent  # noqa: E402
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


STAGES = "models/iris-classifier/stages.yaml"
SIGNED = "models/iris-classifier/v1"
KEY = next((REPO / "keys").glob("*.asc")).name


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _commit_template(repo: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "fork"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _rewrite_history(repo: Path) -> None:
    """Commit the template, then change a committed history entry (caught from Git history)."""
    _commit_template(repo)
    _edit(repo / STAGES, "from: experimental", "from: staging")


def _delete_committed_stages(repo: Path) -> None:
    """Commit the template, then delete stages.yaml: its whole history goes with it."""
    _commit_template(repo)
    (repo / STAGES).unlink()


def _foreign_signature(repo: Path) -> None:
    """A good signature over this very CHECKSUMS.txt, by a throwaway key nobody trusts."""
    with tempfile.TemporaryDirectory() as home:
        gpg = [
            "gpg",
            "--homedir",
            home,
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]
        run = lambda *a: subprocess.run([*gpg, *a], check=True, capture_output=True)  # noqa: E731
        signature = repo / SIGNED / "SIGNATURE.asc"
        try:
            run("--quick-gen-key", "Mallory <m@x.invalid>", "ed25519", "sign", "never")
            signature.unlink()
            run(
                "--armor",
                "--detach-sign",
                "--output",
                str(signature),
                str(repo / SIGNED / "CHECKSUMS.txt"),
            )
        finally:
            stop_agent(Path(home))  # the key's agent would outlive its home


def _flip_armor(path: Path) -> None:
    lines = path.read_text(encoding="ascii").splitlines(keepends=True)
    body = next(i for i, line in enumerate(lines) if len(line) > 40)  # a base64 line
    lines[body] = lines[body][:10] + ("A" if lines[body][10] != "A" else "B") + lines[body][11:]
    path.write_text("".join(lines), encoding="ascii")


def _require_signature(repo: Path) -> None:
    _edit(repo / "pyproject.toml", "[tool.strataml.policy.production]\n",
          "[tool.strataml.policy.production]\nsignatures = 1\n")  # fmt: skip


# What vouches for the artifacts: target kind -> (where its findings may be reported, mutations).
MUTABLE_KINDS: dict[str, tuple[tuple[str, ...], dict[str, Callable[[Path], None]]]] = {
    "stages": (
        ("models/iris-classifier",),
        {
            "production names a missing version": lambda r: _edit(
                r / STAGES, "production: v1", "production: v9"
            ),
            "staging holds the production version": lambda r: _edit(
                r / STAGES, "staging: null", "staging: v1"
            ),
            "history dropped": lambda r: _edit(r / STAGES, "history:\n-", "history: []\nold:\n-"),
            "committed history rewritten": _rewrite_history,
            "committed file deleted": _delete_committed_stages,
            "transition the table refuses": lambda r: (r / STAGES).write_text(
                (r / STAGES).read_text().replace("from: experimental", "from: archived"), "utf-8"
            ),
            "reserved alias": lambda r: _edit(r / STAGES, "aliases: {}", "aliases: {latest: v1}"),
            "duplicate key": lambda r: _edit(
                r / STAGES, "staging: null", "staging: null\nproduction: v1"
            ),
            "truncate": lambda r: (r / STAGES).write_bytes((r / STAGES).read_bytes()[:100]),
            "empty the file": lambda r: (r / STAGES).write_bytes(b""),
            "not UTF-8": lambda r: (r / STAGES).write_bytes(b"production: \xff\n"),
            "YAML bomb": lambda r: (r / STAGES).write_bytes(
                b"a: &a [x,x,x,x,x,x,x,x,x,x]\n"
                + b"".join(
                    b"%s: &%s [%s]\n" % (n, n, b",".join([b"*" + p] * 10))
                    for p, n in zip(
                        [b"a", b"b", b"c", b"d", b"e"], [b"b", b"c", b"d", b"e", b"f"], strict=True
                    )
                )
            ),
            "replace by a symlink": lambda r: (
                lambda p: (p.unlink(), p.symlink_to("/etc/hostname"))
            )(r / STAGES),
        },
    ),
    "keys": (
        ("keys", SIGNED),
        {
            "flip one byte": lambda r: _flip_armor(r / "keys" / KEY),
            "truncate": lambda r: (r / "keys" / KEY).write_bytes(
                (r / "keys" / KEY).read_bytes()[:200]
            ),
            "empty the file": lambda r: (r / "keys" / KEY).write_bytes(b""),
            "delete the key": lambda r: (r / "keys" / KEY).unlink(),
            "replace by junk": lambda r: (r / "keys" / KEY).write_bytes(b"\x00\xffnot a key\n"),
            "replace by a symlink": lambda r: (
                lambda p: (p.unlink(), p.symlink_to("/etc/hostname"))
            )(r / "keys" / KEY),
            "replace by a FIFO": lambda r: (lambda p: (p.unlink(), os.mkfifo(p)))(r / "keys" / KEY),
        },
    ),
    "signature": (
        (SIGNED,),
        {  # no CRLF or re-wrapped armor here: gpg reads the same signature from it, rightly
            "flip one byte": lambda r: _flip_armor(r / SIGNED / "SIGNATURE.asc"),
            "truncate": lambda r: (r / SIGNED / "SIGNATURE.asc").write_bytes(
                (r / SIGNED / "SIGNATURE.asc").read_bytes()[:120]
            ),
            "empty the file": lambda r: (r / SIGNED / "SIGNATURE.asc").write_bytes(b""),
            "replace by junk": lambda r: (r / SIGNED / "SIGNATURE.asc").write_bytes(
                b"\x00\xffjunk\n"
            ),
            "delete it where policy requires it": lambda r: (
                _require_signature(r),
                (r / SIGNED / "SIGNATURE.asc").unlink(),
            ),
            "signed by an untrusted key": _foreign_signature,
            "listing re-stamped under it": lambda r: (r / SIGNED / "CHECKSUMS.txt").write_bytes(
                (r / SIGNED / "CHECKSUMS.txt").read_bytes() + b"0" * 64 + b"  zz-added\n"
            ),
            "replace by a symlink": lambda r: (
                lambda p: (p.unlink(), p.symlink_to("/etc/hostname"))
            )(r / SIGNED / "SIGNATURE.asc"),
        },
    ),
    "policy": (
        ("pyproject.toml", SIGNED),
        {
            "trust list emptied": lambda r: _edit(r / "pyproject.toml", f'  "{KEY[:-4]}",\n', ""),
            "trusted fingerprint altered": lambda r: _edit(
                r / "pyproject.toml", f'"{KEY[:-4]}"', f'"{KEY[:-5]}0"'
            ),
            "metric threshold out of reach": lambda r: _edit(
                r / "pyproject.toml", "min = 0.9", "min = 0.99"
            ),
            "card section the card lacks": lambda r: _edit(
                r / "pyproject.toml",
                "card-sections = [",
                'card-sections = ["Quantitative Analyses X", ',
            ),
            "two signers required": lambda r: _edit(
                r / "pyproject.toml",
                "[tool.strataml.policy.production]\n",
                "[tool.strataml.policy.production]\nsignatures = 2\n",
            ),
            "not TOML": lambda r: (r / "pyproject.toml").write_bytes(
                (r / "pyproject.toml").read_bytes() + b"\n[tool.strataml\n"
            ),
            "policy of the wrong type": lambda r: _edit(
                r / "pyproject.toml", "min = 0.9", 'min = "high"'
            ),
        },
    ),
}


def cases() -> list[tuple[str, str, str | tuple[str, ...], Callable[[Path], None]]]:
    """(kind, mutation name, where findings count, mutation): the whole matrix."""
    matrix: list[tuple[str, str, str | tuple[str, ...], Callable[[Path], None]]] = [
        (kind, name, path, mutation)
        for kind, path in artifacts().items()
        for name, mutation in MUTATIONS.items()
    ]
    for kind, (where, mutations) in MUTABLE_KINDS.items():
        matrix.extend((kind, name, where, mutation) for name, mutation in mutations.items())
    return matrix


def artifacts() -> dict[str, str]:
    run = next(p.name for p in (REPO / "runs").iterdir() if p.name.startswith("run-"))
    return {
        "dataset": "datasets/iris/v1",
        "model": "models/iris-classifier/v1",
        "run": f"runs/{run}",
    }


def trial(
    kind_path: str | tuple[str, ...], mutation: Callable[[Path], None]
) -> tuple[bool, list[str]]:
    """(detected, error codes reported under the target's paths) for one mutation."""
    where = (kind_path,) if isinstance(kind_path, str) else kind_path
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
        # An artifact's mutation gets its directory; the others get the repository.
        mutation(repo / kind_path if isinstance(kind_path, str) else repo)
        report = run_doctor(repo)
        codes = sorted(
            {
                d.code
                for d in report.diagnostics
                if d.path.startswith(where) and d.severity.value == "error"
            }
        )
        return report.failed and bool(codes), codes


def main() -> int:
    tried = detected = 0
    for kind, name, where, mutation in cases():
        ok, codes = trial(where, mutation)
        tried += 1
        detected += ok
        print(f"{'caught' if ok else 'MISSED'}  {kind:<9} {name:<38} {' '.join(codes)}", flush=True)
    print(f"\ntamper matrix: {tried} cases tried, {detected} detected, {tried - detected} missed")
    return 0 if tried == detected else 1


if __name__ == "__main__":
    raise SystemExit(main())
