"""keys/ admits one armored public key per file, named after its fingerprint; verification leaves
no gpg-agent behind (TFC-0008 R8). Real gpg, throwaway keys."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import RunCli, commit_all
from gpgkeys import Key, gpg, make_key, running_agents, signature, stop_agent, user_home_dir

MODEL = "models/iris-classifier/v1"
EXAMPLE_KEY = "8E04A1814EC87130EF8BA1B01C217A0E35158B16"  # the template's shipped key
ONE_EACH = "keys/ holds ASCII-armored public keys, one file each (`strata keys add`)"


@dataclass(frozen=True)
class Scene:
    repo: Path
    home: Path
    alice: Key  # trusted; her key file is keys/<ALICE>.asc, as `strata keys add` writes it
    mallory: Key  # the pull request's author: nobody trusts him


@pytest.fixture
def scene(template: Path, strata: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scene:
    home = user_home_dir()
    alice = make_key(home, "Alice <alice@example.org>")
    mallory = make_key(home, "Mallory <mallory@example.org>")
    monkeypatch.chdir(template)
    public = tmp_path / "alice.asc"
    public.write_bytes(alice.public)
    assert strata("keys", "add", str(public))[0] == 0
    (template / MODEL / "SIGNATURE.asc").unlink()  # the example signer's, replaced by Alice's
    assert strata("sign", MODEL, "--key", alice.fingerprint)[0] == 0
    commit_all(template, "signed by Alice")
    return Scene(template, home, alice, mallory)


def key_file(scene: Scene, name: str) -> Path:
    return scene.repo / "keys" / name


def alice_file(scene: Scene) -> Path:
    return key_file(scene, f"{scene.alice.fingerprint}.asc")


def add_mallorys_signature(scene: Scene) -> None:
    block = signature(scene.home, scene.mallory, scene.repo / MODEL / "CHECKSUMS.txt")
    with (scene.repo / MODEL / "SIGNATURE.asc").open("ab") as handle:
        handle.write(block)


def doctor_sig(strata: RunCli, scene: Scene) -> tuple[int, str]:
    code, out, err = strata("doctor", str(scene.repo), "--select", "SIG")
    assert err == ""
    return code, out


def report(*groups: str, errors: int, warnings: int = 0) -> str:
    failed = "FAILED" if errors else "OK"
    return (
        "".join(groups)
        + f"{failed}: {errors} error{'s' if errors != 1 else ''}, {warnings} warning"
        + f"{'s' if warnings != 1 else ''}, 0 info; 6 artifacts checked, 31 files hashed\n"
    )


def unknown_signer(index: int, key: Key) -> str:
    return (
        f"{MODEL}\n"
        f"  SIGNATURE.asc: error SIG004 signature {index} by {key.fingerprint}: key not in keys/\n"
        "    hint: add the signer's public key (`strata keys add FILE`) if you trust it\n\n"
    )


def refused(path: str, message: str, hint: str = ONE_EACH, *, missing: str | None = None) -> str:
    lines = f"repository\n  {path}: error SIG010 {message}\n    hint: {hint}\n"
    if missing:
        lines += (
            f"  pyproject.toml: warning SIG011 trusted fingerprint {missing} has no public key in keys/\n"
            "    hint: `strata keys add` its key, or remove it from [tool.strataml.signing] trusted\n"
        )
    return lines + "\n"


def test_the_scene_is_clean(scene: Scene, strata: RunCli) -> None:
    assert doctor_sig(strata, scene) == (0, report(errors=0))


@pytest.mark.hostile_pr("keys")
def test_an_attackers_key_riding_in_a_trusted_keys_file(scene: Scene, strata: RunCli) -> None:
    both = gpg(
        scene.home, "--armor", "--export", scene.alice.fingerprint, scene.mallory.fingerprint
    )
    alice_file(scene).write_bytes(both.stdout)  # one armored block, two keys
    add_mallorys_signature(scene)
    a, m = scene.alice.fingerprint, scene.mallory.fingerprint
    assert doctor_sig(strata, scene) == (
        1,
        report(
            f"{MODEL}\n"
            f"  SIGNATURE.asc: error SIG004 signature 1 by {a}: key not in keys/\n"
            "    hint: add the signer's public key (`strata keys add FILE`) if you trust it\n"
            f"  SIGNATURE.asc: error SIG004 signature 2 by {m}: key not in keys/\n"
            "    hint: add the signer's public key (`strata keys add FILE`) if you trust it\n\n",
            refused(
                f"keys/{a}.asc",
                f"holds 2 public keys ({', '.join(sorted([a, m]))}); keys/ takes one key per file",
                "split it: one `strata keys add FILE` per key you trust; until then none of them counts",
                missing=a,
            ),
            errors=3,
            warnings=1,
        ),
    )


@pytest.mark.hostile_pr("keys")
def test_a_trusted_fingerprints_file_holding_another_key(scene: Scene, strata: RunCli) -> None:
    alice_file(scene).write_bytes(scene.mallory.public)
    (scene.repo / MODEL / "SIGNATURE.asc").write_bytes(
        signature(scene.home, scene.mallory, scene.repo / MODEL / "CHECKSUMS.txt")
    )
    a, m = scene.alice.fingerprint, scene.mallory.fingerprint
    assert doctor_sig(strata, scene) == (
        1,
        report(
            unknown_signer(1, scene.mallory),
            refused(
                f"keys/{a}.asc",
                f"holds key {m}, so it must be named {m}.asc",
                f"`git mv keys/{a}.asc keys/{m}.asc`; until then the key does not count",
                missing=a,
            ),
            errors=2,
            warnings=1,
        ),
    )


@pytest.mark.hostile_pr("keys")
@pytest.mark.parametrize("relabelled", [False, True], ids=["armored-secret", "secret-as-public"])
def test_a_secret_key_block(scene: Scene, strata: RunCli, relabelled: bool) -> None:
    secret = gpg(scene.home, "--armor", "--export-secret-keys", scene.mallory.fingerprint).stdout
    if relabelled:  # secret packets under a PUBLIC KEY BLOCK armor line: gpg's listing says `sec`
        secret = secret.replace(b"PRIVATE KEY BLOCK", b"PUBLIC KEY BLOCK")
    m = scene.mallory.fingerprint
    key_file(scene, f"{m}.asc").write_bytes(secret)
    add_mallorys_signature(scene)
    assert doctor_sig(strata, scene) == (
        1,
        report(
            unknown_signer(2, scene.mallory),
            refused(f"keys/{m}.asc", "holds secret key material; keys/ takes public keys only"),
            errors=2,
        ),
    )


def test_a_key_with_extra_subkeys_is_one_key(scene: Scene, strata: RunCli) -> None:
    a = scene.alice.fingerprint
    for _ in range(2):
        gpg(scene.home, "--passphrase", "", "--quick-add-key", a, "ed25519", "sign")
    alice_file(scene).write_bytes(gpg(scene.home, "--armor", "--export", a).stdout)
    (scene.repo / MODEL / "SIGNATURE.asc").unlink()
    assert strata("sign", MODEL, "--key", a)[0] == 0  # made by the newest subkey
    assert doctor_sig(strata, scene) == (0, report(errors=0))


@pytest.mark.hostile_pr("keys")
@pytest.mark.parametrize(
    ("before", "after"),
    [(b"Alice's key, reviewed by Bob\n", b""), (b"", b"\nthe real key is below\n\x00")],
    ids=["text-before", "text-after"],
)
def test_armor_with_junk_around_it(
    scene: Scene, strata: RunCli, before: bytes, after: bytes
) -> None:
    alice_file(scene).write_bytes(before + scene.alice.public + after)
    a = scene.alice.fingerprint
    assert doctor_sig(strata, scene) == (
        1,
        report(
            unknown_signer(1, scene.alice),
            refused(
                f"keys/{a}.asc",
                "has text outside its armored public key block",
                "keep only the armored block, exactly as `strata keys add` writes it",
                missing=a,
            ),
            errors=2,
            warnings=1,
        ),
    )


@pytest.mark.hostile_pr("keys")
def test_a_second_armored_block_in_a_trusted_keys_file(scene: Scene, strata: RunCli) -> None:
    alice_file(scene).write_bytes(scene.alice.public + scene.mallory.public)
    add_mallorys_signature(scene)
    a = scene.alice.fingerprint
    assert doctor_sig(strata, scene) == (
        1,
        report(
            unknown_signer(1, scene.alice).removesuffix("\n")
            + unknown_signer(2, scene.mallory).removeprefix(f"{MODEL}\n"),
            refused(
                f"keys/{a}.asc",
                "holds 2 armored blocks; keys/ takes one public key per file",
                "split it: one `strata keys add FILE` per key you trust",
                missing=a,
            ),
            errors=3,
            warnings=1,
        ),
    )


@pytest.mark.hostile_pr("keys")
def test_two_files_holding_the_same_key(scene: Scene, strata: RunCli) -> None:
    a = scene.alice.fingerprint
    key_file(scene, "alice-copy.asc").write_bytes(scene.alice.public)
    assert doctor_sig(strata, scene) == (
        1,
        report(
            refused(
                "keys/alice-copy.asc",
                f"holds key {a}, so it must be named {a}.asc",
                f"keys/{a}.asc is this key's file; delete this copy",
            ),
            errors=1,
        ),
    )


@pytest.mark.hostile_pr("keys")
def test_a_lower_case_name_is_not_the_fingerprint(scene: Scene, strata: RunCli) -> None:
    a = scene.alice.fingerprint
    alice_file(scene).rename(key_file(scene, f"{a.lower()}.asc"))
    assert doctor_sig(strata, scene) == (
        1,
        report(
            unknown_signer(1, scene.alice),
            refused(
                f"keys/{a.lower()}.asc",
                f"holds key {a}, so it must be named {a}.asc",
                f"`git mv keys/{a.lower()}.asc keys/{a}.asc`; until then the key does not count",
                missing=a,
            ),
            errors=2,
            warnings=1,
        ),
    )


def test_keys_list_verify_and_add_agree_with_doctor(scene: Scene, strata: RunCli) -> None:
    a, m = scene.alice.fingerprint, scene.mallory.fingerprint
    both = gpg(scene.home, "--armor", "--export", a, m).stdout
    alice_file(scene).write_bytes(both)
    example = (
        f"{EXAMPLE_KEY}  trusted  valid  ProjectStrataML example signer (private key not kept) "
        "<example-signer@strataml.invalid>\n"
    )
    listed = ", ".join(sorted([a, m]))
    assert strata("keys", "list") == (0, example + (
        f"problem: keys/{a}.asc: holds 2 public keys ({listed}); keys/ takes one key per file\n"
        f"problem: trusted {a} has no key in keys/\n"
    ), "")  # fmt: skip
    code, out, _ = strata("verify", MODEL)
    assert (code, out.splitlines()[:2]) == (1, [MODEL, f"  signature 1: key not in keys/: {a}"])
    refusal = strata("keys", "add", str(alice_file(scene)))
    assert refusal == (
        2,
        "",
        f"strata: error: {alice_file(scene)}: expected exactly one OpenPGP public key, found 2 keys\n",
    )
    alice_file(scene).write_bytes(scene.alice.public)  # `keys add` from her own file again
    assert strata("keys", "add", str(alice_file(scene)))[1] == (
        f"keys/{a}.asc: {a} Alice <alice@example.org> (trusted)\n"
    )
    assert doctor_sig(strata, scene) == (0, report(errors=0))


def test_the_shipped_key_file_is_named_after_its_key() -> None:
    from conftest import REPO

    assert [p.name for p in (REPO / "keys").glob("*.asc")] == [f"{EXAMPLE_KEY}.asc"]


@pytest.fixture
def short_scratch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where the library makes its throwaway GnuPG homes: a short path, because under pytest's
    long tmp_path the agent's socket name would pass the 108-byte limit and no agent could start."""
    scratch = Path(tempfile.mkdtemp(prefix="sk-"))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield scratch
    for home in running_agents(scratch):
        stop_agent(home)
    shutil.rmtree(scratch)


def test_verify_doctor_and_sign_leave_no_gpg_agent(
    scene: Scene, strata: RunCli, short_scratch: Path
) -> None:
    add_mallorys_signature(scene)  # a block whose signer is unknown, for `sign` to keep
    assert running_agents(short_scratch) == []
    for command in (
        ("verify", MODEL),
        ("doctor", str(scene.repo)),
        ("sign", MODEL, "--key", scene.alice.fingerprint),
        ("keys", "list"),
        ("keys", "add", scene.mallory.fingerprint),
    ):
        strata(*command)
        # At once: an agent whose home was deleted exits a moment later here (inotify on its
        # socket), but never where sockets live in /run/user; a stopped agent is already gone.
        assert running_agents(short_scratch) == [], command
    assert list(short_scratch.iterdir()) == []  # and every home is gone
