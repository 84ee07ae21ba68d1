"""Signing and verification with real gpg and throwaway keys (TFC-0008 R7-R11)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, commit_all, doctor_script
from gpgkeys import Key, gpg, make_key, signature, user_home_dir

MODEL = "models/iris-classifier/v1"
EXAMPLE_KEY = (
    "8E04A1814EC87130EF8BA1B01C217A0E35158B16"  # signs the shipped model; private half not kept
)
DATASET = "datasets/iris/v1"


@pytest.fixture
def user_home() -> Path:
    return user_home_dir()


def strata(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strataml", *args], cwd=repo, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=120,
    )  # fmt: skip


def trust(repo: Path, key: Key) -> None:
    public = repo.parent / f"{key.fingerprint}.asc"
    public.write_bytes(key.public)
    assert strata(repo, "keys", "add", str(public)).returncode == 0


def sig_lines(report: str) -> list[str]:
    return [line.strip() for line in report.splitlines() if " SIG" in line]


def test_sign_then_verify_and_plain_gpg_agrees(template: Path, user_home: Path) -> None:
    (template / MODEL / "SIGNATURE.asc").unlink()  # start from the example model unsigned
    alice = make_key(user_home, "Alice <alice@example.org>")
    done = strata(template, "keys", "add", alice.fingerprint)
    assert (done.returncode, done.stdout) == (
        0,
        f"keys/{alice.fingerprint}.asc: {alice.fingerprint} Alice <alice@example.org> (trusted)\n",
    )
    done = strata(template, "sign", MODEL)
    assert (done.returncode, done.stdout) == (
        0,
        f"{MODEL}: signed by {alice.fingerprint} (Alice <alice@example.org>); 1 signature\n",
    )
    done = strata(template, "verify", MODEL)
    assert (done.returncode, done.stdout) == (0, (
        f"{MODEL}\n"
        f"  signature 1: good: {alice.fingerprint} Alice <alice@example.org>\n"
        f"  OK: 0 errors, 0 warnings, 0 info; 1 artifact checked under {MODEL}, 4 files hashed\n"
    ))  # fmt: skip
    plain = subprocess.run(
        ["gpg", "--batch", "--verify", "SIGNATURE.asc", "CHECKSUMS.txt"], cwd=template / MODEL,
        capture_output=True, text=True, env={**os.environ, "GNUPGHOME": str(user_home)},
    )  # fmt: skip
    assert (
        plain.returncode == 0 and 'Good signature from "Alice <alice@example.org>"' in plain.stderr
    )
    again = strata(template, "sign", MODEL)  # the same key replaces its own signature
    assert (
        again.stdout
        == f"{MODEL}: re-signed by {alice.fingerprint} (Alice <alice@example.org>); 1 signature\n"
    )
    assert (template / MODEL / "SIGNATURE.asc").read_bytes().count(b"BEGIN PGP SIGNATURE") == 1
    commit_all(template, "signed")
    assert doctor_script(template, "--strict").returncode == 0


@pytest.fixture
def signed(template: Path, user_home: Path) -> tuple[Path, Path, Key]:
    alice = make_key(user_home, "Alice <alice@example.org>")
    trust(template, alice)
    (template / MODEL / "SIGNATURE.asc").unlink()  # the example signer's, replaced by Alice's
    assert strata(template, "sign", MODEL, DATASET).returncode == 0
    commit_all(template, "signed")
    return template, user_home, alice


def test_a_changed_byte_fails_the_checksums_first(signed: tuple[Path, Path, Key]) -> None:
    repo, _, _ = signed
    model = repo / MODEL / "model.json"
    model.write_bytes(model.read_bytes().replace(b"1", b"2", 1))
    report = doctor_script(repo)
    assert report.returncode == 1
    assert "  model.json: error CHK005 content does not match CHECKSUMS.txt line 4" in report.stdout
    assert (
        sig_lines(report.stdout) == []
    )  # the signature still covers the listing; the listing caught it


def test_listing_edited_and_left_unsigned(signed: tuple[Path, Path, Key]) -> None:
    repo, _, alice = signed
    listing = repo / MODEL / "CHECKSUMS.txt"
    listing.write_bytes(listing.read_bytes() + b"")  # same bytes: still good
    assert doctor_script(repo, "--select", "SIG").returncode == 0
    (repo / MODEL / "card.md").write_text("# changed\n")
    assert strata(repo, "checksum", MODEL).returncode == 0
    report = doctor_script(repo, "--select", "SIG")
    assert sig_lines(report.stdout) == [
        f"SIGNATURE.asc: error SIG002 signature 1 by {alice.fingerprint} (Alice <alice@example.org>): does not match CHECKSUMS.txt"
    ]


def test_signature_copied_from_another_artifact(signed: tuple[Path, Path, Key]) -> None:
    repo, _, alice = signed
    shutil.copy(repo / DATASET / "SIGNATURE.asc", repo / MODEL / "SIGNATURE.asc")
    report = doctor_script(repo, MODEL, "--select", "SIG")
    assert report.returncode == 1
    assert sig_lines(report.stdout) == [
        f"SIGNATURE.asc: error SIG002 signature 1 by {alice.fingerprint} (Alice <alice@example.org>): does not match CHECKSUMS.txt"
    ]


def test_truncated_armor(signed: tuple[Path, Path, Key]) -> None:
    repo, _, _ = signed
    path = repo / MODEL / "SIGNATURE.asc"
    path.write_bytes(path.read_bytes()[:120])
    report = doctor_script(repo, MODEL, "--select", "SIG")
    assert sig_lines(report.stdout) == [
        "SIGNATURE.asc: error SIG008 SIGNATURE.asc armored block has no END line (truncated?)"
    ]
    text = path.read_text()
    path.write_text(text + "-----END PGP SIGNATURE-----\n")  # an END line, but the packet is cut
    report = doctor_script(repo, MODEL, "--select", "SIG")
    assert sig_lines(report.stdout) == [
        "SIGNATURE.asc: error SIG008 signature 1 by an unknown key: malformed (no OpenPGP signature in it)"
    ]


def test_valid_key_outside_the_trust_list(signed: tuple[Path, Path, Key]) -> None:
    repo, home, _ = signed
    bob = make_key(home, "Bob <bob@example.org>")
    block = signature(home, bob, repo / MODEL / "CHECKSUMS.txt")
    with (repo / MODEL / "SIGNATURE.asc").open("ab") as handle:
        handle.write(block)
    report = doctor_script(repo, MODEL, "--select", "SIG")
    assert sig_lines(report.stdout) == [
        f"SIGNATURE.asc: error SIG004 signature 2 by {bob.fingerprint}: key not in keys/"
    ]
    (repo / "keys" / f"{bob.fingerprint}.asc").write_bytes(bob.public)  # known, not trusted
    report = doctor_script(repo, MODEL, "--select", "SIG")
    assert sig_lines(report.stdout) == [
        f"SIGNATURE.asc: error SIG005 signature 2 by {bob.fingerprint} (Bob <bob@example.org>) is good, but that key is not in [tool.strataml.signing] trusted"
    ]


def test_expired_and_revoked_keys(template: Path, user_home: Path) -> None:
    old = make_key(user_home, "Old <old@example.org>", expire="1d", at="20200101T000000")
    gone = make_key(user_home, "Gone <gone@example.org>")
    listing = template / MODEL / "CHECKSUMS.txt"
    (template / MODEL / "SIGNATURE.asc").write_bytes(
        signature(user_home, old, listing, at="20200101T120000")
        + signature(user_home, gone, listing)
    )
    revocation = (user_home / "openpgp-revocs.d" / f"{gone.fingerprint}.rev").read_text()
    gpg(user_home, "--import", stdin=revocation.replace(":-----BEGIN", "-----BEGIN").encode())
    revoked_public = gpg(user_home, "--armor", "--export", gone.fingerprint).stdout
    (template / "keys" / f"{old.fingerprint}.asc").write_bytes(old.public)
    (template / "keys" / f"{gone.fingerprint}.asc").write_bytes(revoked_public)
    with (template / "pyproject.toml").open("a") as handle:
        handle.write(
            f'\n[tool.strataml.signing]\ntrusted = ["{old.fingerprint}", "{gone.fingerprint}"]\n'
        )
    report = doctor_script(template, MODEL, "--select", "SIG")
    assert report.returncode == 1
    assert sig_lines(report.stdout) == [
        f"SIGNATURE.asc: error SIG006 signature 1 by {old.fingerprint} (Old <old@example.org>): key expired",
        f"SIGNATURE.asc: error SIG007 signature 2 by {gone.fingerprint} (Gone <gone@example.org>): key revoked",
    ]


def test_two_signers_required_one_key_signing_twice_is_one(signed: tuple[Path, Path, Key]) -> None:
    repo, home, alice = signed
    with (repo / "pyproject.toml").open("a") as handle:
        handle.write('\n[[tool.strataml.signing.require]]\npath = "models/*/*"\nsigners = 2\n')
    block = signature(home, alice, repo / MODEL / "CHECKSUMS.txt")
    with (repo / MODEL / "SIGNATURE.asc").open("ab") as handle:
        handle.write(block)  # a second signature by the same key
    report = doctor_script(repo, "--select", "SIG")
    assert sig_lines(report.stdout) == [
        f"SIGNATURE.asc: error SIG009 1 distinct trusted signer ({alice.fingerprint}), 2 required by [[tool.strataml.signing.require]] path 'models/*/*'"
    ]
    (repo / MODEL / "SIGNATURE.asc").unlink()
    report = doctor_script(repo, "--select", "SIG")
    assert sig_lines(report.stdout) == [
        "SIGNATURE.asc: error SIG001 2 trusted signatures required by [[tool.strataml.signing.require]] path 'models/*/*', none present"
    ]


def test_verdict_ignores_the_users_keyring_and_trust(
    signed: tuple[Path, Path, Key], tmp_path: Path
) -> None:
    repo, home, _ = signed
    mallory = make_key(home, "Mallory <m@example.org>")
    with (repo / MODEL / "SIGNATURE.asc").open("ab") as handle:
        handle.write(signature(home, mallory, repo / MODEL / "CHECKSUMS.txt"))
    # The user's keyring knows and ultimately trusts Mallory; an empty one knows nobody.
    gpg(home, "--import-ownertrust", stdin=f"{mallory.fingerprint}:6:\n".encode())
    empty = tmp_path / "empty-home"
    empty.mkdir(mode=0o700)
    outputs = {doctor_script_with_home(repo, h).stdout for h in (home, empty)}
    assert len(outputs) == 1
    [output] = outputs
    assert sig_lines(output) == [
        f"SIGNATURE.asc: error SIG004 signature 2 by {mallory.fingerprint}: key not in keys/"
    ]


def doctor_script_with_home(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "doctor.py"), MODEL, "--select", "SIG"], cwd=repo,
        capture_output=True, text=True, env={**os.environ, "GNUPGHOME": str(home)}, timeout=120,
    )  # fmt: skip


def test_key_files_that_do_not_parse_and_keys_commands(template: Path, user_home: Path) -> None:
    alice = make_key(user_home, "Alice <alice@example.org>")
    (template / "keys" / "junk.asc").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\nnope\n")
    secret = gpg(user_home, "--armor", "--export-secret-keys", alice.fingerprint).stdout
    (template / "keys" / "oops.asc").write_bytes(secret)
    report = doctor_script(template)
    assert sig_lines(report.stdout) == [
        "keys/junk.asc: error SIG010 does not parse as an OpenPGP public key",
        "keys/oops.asc: error SIG010 holds secret key material; keys/ takes public keys only",
    ]
    (template / "keys" / "junk.asc").unlink()
    (template / "keys" / "oops.asc").unlink()
    missing = template / "no-such.asc"
    assert strata(template, "keys", "add", str(missing)).stderr == (
        f"strata: error: {missing}: no such file, and not a key fingerprint (40 hex digits)\n"
    )
    public = template.parent / "alice.asc"
    public.write_bytes(alice.public)
    assert strata(template, "keys", "add", str(public)).returncode == 0
    example = (
        f"{EXAMPLE_KEY}  trusted  valid  ProjectStrataML example signer (private key not kept) "
        "<example-signer@strataml.invalid>\n"
    )
    mine = f"{alice.fingerprint}  trusted  valid  Alice <alice@example.org>\n"
    listing = strata(template, "keys", "list")
    assert listing.stdout == "".join(sorted([example, mine]))
    removed = strata(template, "keys", "remove", alice.fingerprint.lower())
    assert (
        removed.stdout == f"untrusted {alice.fingerprint}; removed keys/{alice.fingerprint}.asc\n"
    )
    assert strata(template, "keys", "list").stdout == example
    assert f'trusted = [\n  "{EXAMPLE_KEY}",\n]' in (template / "pyproject.toml").read_text()


def test_missing_gpg_is_one_line_and_exit_2(signed: tuple[Path, Path, Key], tmp_path: Path) -> None:
    repo, _, _ = signed
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git",):  # everything doctor needs, except gpg
        (bin_dir / tool).symlink_to(shutil.which(tool) or tool)
    env = {"PATH": str(bin_dir)}
    for args in (("verify", MODEL), ("sign", MODEL), ("doctor",)):
        done = strata(repo, *args, env=env)
        assert (done.returncode, done.stdout) == (2, "")
        assert (
            done.stderr
            == "strata: error: gpg is not installed; signatures need GnuPG 2.2.8 or later (e.g. apt-get install gnupg)\n"
        )


def test_sign_refuses_a_directory_that_does_not_verify(signed: tuple[Path, Path, Key]) -> None:
    repo, _, _ = signed
    before = (repo / MODEL / "SIGNATURE.asc").read_bytes()
    (repo / MODEL / "model.json").write_text("{}")
    done = strata(repo, "sign", MODEL)
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"strata: error: {MODEL} does not verify, not signing: {MODEL}/model.json: CHK005 "
    )
    assert (repo / MODEL / "SIGNATURE.asc").read_bytes() == before


def test_a_signing_subkey_counts_for_its_primary(template: Path, user_home: Path) -> None:
    carol = make_key(user_home, "Carol <carol@example.org>")
    gpg(user_home, "--passphrase", "", "--quick-add-key", carol.fingerprint, "ed25519", "sign")
    listing = gpg(user_home, "--with-colons", "--list-keys", carol.fingerprint).stdout.decode()
    subkey = [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")][1]
    trust(
        template,
        Key(carol.fingerprint, gpg(user_home, "--armor", "--export", carol.fingerprint).stdout),
    )
    (template / MODEL / "SIGNATURE.asc").unlink()
    done = strata(
        template, "sign", MODEL, "--key", carol.fingerprint
    )  # gpg picks the newest signing subkey
    assert (
        done.stdout
        == f"{MODEL}: signed by {carol.fingerprint} (Carol <carol@example.org>); 1 signature\n"
    )
    block = (template / MODEL / "SIGNATURE.asc").read_bytes()
    packets = subprocess.run(
        ["gpg", "--list-packets"], input=block, capture_output=True, check=True
    ).stdout
    assert f"issuer fpr v4 {subkey}".encode() in packets  # made by the subkey…
    verified = strata(template, "verify", MODEL)
    assert verified.returncode == 0  # …and counted for the trusted primary
    assert (
        verified.stdout.splitlines()[1]
        == f"  signature 1: good: {carol.fingerprint} Carol <carol@example.org>"
    )
    bad = strata(template, "sign", MODEL, "--key", "--output=/etc/passwd")
    assert (bad.returncode, bad.stderr) == (
        2,
        "strata: error: '--output=/etc/passwd' is not a full key fingerprint (40 hex digits)\n",
    )
