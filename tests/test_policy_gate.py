"""Hostile pull requests against promotion policy and claimed metrics (issue 15, classes 5 and 6).

Promote and doctor judge a version through one evaluation (TFC-0005 R10, TFC-0008 R11): what
promote refuses, doctor fails once a hand edit of stages.yaml puts the version there. A model's
metrics.yaml must agree with the run that computed it (TFC-0005 R13). Real Git repositories, real
gpg with throwaway keys, the real `strata` commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO, RunCli, commit_all, doctor_script, example_run, git

NAME = "iris-classifier"
V1, V2 = f"models/{NAME}/v1", f"models/{NAME}/v2"
STAGES = f"models/{NAME}/stages.yaml"
RUN = example_run()
SIGNING_REQUIRED = "[tool.strataml.policy.production]\nsignatures = 1\n"


@dataclass(frozen=True)
class Key:
    fingerprint: str
    public: bytes


def gpg(home: Path, *args: str) -> bytes:
    return subprocess.run(
        ["gpg", "--batch", "--no-tty", *args], capture_output=True, check=True,
        env={**os.environ, "GNUPGHOME": str(home)},
    ).stdout  # fmt: skip


def make_key(home: Path, uid: str) -> Key:
    gpg(home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
    listing = gpg(home, "--with-colons", "--list-keys", uid).decode()
    fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    return Key(fpr, gpg(home, "--armor", "--export", fpr))


@pytest.fixture
def repo(template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(template)
    return template


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def register_v2(repo: Path, strata: RunCli, run: str = RUN) -> None:
    """The next version of the shipped model from a run, every section of its card written
    (the policy names some; a production card holds no placeholder, TFC-0005 R6)."""
    code, _, err = strata("model", "register", NAME, "--from-run", run)
    assert (code, err) == (0, "")
    card = repo / V2 / "card.md"
    for section in ("Intended Use", "Factors", "Quantitative Analyses", "Ethical Considerations",
                    "Caveats and Recommendations"):  # fmt: skip
        edit(card, f"## {section}\n\n_To be written._", f"## {section}\n\nWritten for the test.")
    assert strata("checksum", V2)[0] == 0


def trust(strata: RunCli, key: Key) -> None:
    code, _, err = strata("keys", "add", key.fingerprint)
    assert (code, err) == (0, ""), err


def diagnostics(strata: RunCli, where: Path, *args: str) -> tuple[int, list[tuple[str, str, str]]]:
    """Doctor's exit code and its findings as (path, code, message), in report order."""
    code, out, _ = strata("doctor", str(where), "--strict", "--format", "json", *args)
    found = json.loads(out)["diagnostics"]
    return code, [(d["path"], d["code"], d["message"]) for d in found]


def promote_refused(repo: Path, strata: RunCli, to: str) -> str:
    """Promote v2 to `to`: refused with one error line and stages.yaml untouched; the line."""
    before = (repo / STAGES).read_bytes()
    code, out, err = strata("model", "promote", NAME, "v2", "--to", to)
    assert (code, out) == (2, ""), err
    assert err.count("\n") == 1 and err.startswith("strata: error: "), err
    assert (repo / STAGES).read_bytes() == before
    return err.removeprefix("strata: error: ").removesuffix("\n")


def hand_promote(repo: Path) -> None:
    """What a pull request writes by hand instead of running promote: v2 in production,
    v1 archived, the history extended as promote would have (so only the policy can object)."""
    edit(repo / STAGES, "production: v1\n", "production: v2\n")
    edit(repo / STAGES, "archived: []\n", "archived:\n- v1\n")
    with (repo / STAGES).open("a", encoding="utf-8") as handle:
        for version, frm, to in (
            ("v1", "production", "archived"),
            ("v2", "experimental", "production"),
        ):
            handle.write(
                f"- version: {version}\n  from: {frm}\n  to: {to}\n"
                "  at: '2026-12-01T00:00:00+00:00'\n  by: Mallory <m@example.org>\n  reason: ship it\n"
            )  # fmt: skip


def verdict(first: str, count: int, to: str = "production") -> str:
    more = f" (and {count - 1} more)" if count > 1 else ""
    return f"models/{NAME}/v2 breaks the {to} policy: {first}{more}"


# --- class 5: promote enforces the whole policy, as doctor does ----------------------------------


def _unsigned(repo: Path, strata: RunCli, home: Path) -> None:
    pass  # a pull request that simply never asks anyone to review and sign


def _unknown_key(repo: Path, strata: RunCli, home: Path) -> None:
    make_key(home, "Mallory <m@example.org>")
    assert strata("sign", V2)[0] == 0  # her own key; it is nowhere in keys/


def _untrusted_key(repo: Path, strata: RunCli, home: Path) -> None:
    mallory = make_key(home, "Mallory <m@example.org>")
    (repo / "keys" / f"{mallory.fingerprint}.asc").write_bytes(mallory.public)  # not on the list
    assert strata("sign", V2)[0] == 0


def _copied_signature(repo: Path, strata: RunCli, home: Path) -> None:
    shutil.copyfile(repo / V1 / "SIGNATURE.asc", repo / V2 / "SIGNATURE.asc")  # a trusted one


def _tampered_signature(repo: Path, strata: RunCli, home: Path) -> None:
    alice = make_key(home, "Alice <alice@example.org>")
    trust(strata, alice)
    assert strata("sign", V2)[0] == 0
    path = repo / V2 / "SIGNATURE.asc"
    lines = path.read_text(encoding="ascii").splitlines(keepends=True)
    body = next(i for i, line in enumerate(lines) if len(line) > 40)  # a base64 line
    lines[body] = lines[body][:10] + ("A" if lines[body][10] != "A" else "B") + lines[body][11:]
    path.write_text("".join(lines), encoding="ascii")


SIGNATURE_CASES: dict[str, tuple[Callable[[Path, RunCli, Path], None], list[str]]] = {
    "unsigned": (_unsigned, ["SIG001"]),
    "unknown-key": (_unknown_key, ["SIG004", "SIG009"]),
    "untrusted-key": (_untrusted_key, ["SIG005", "SIG009"]),
    "copied-signature": (_copied_signature, ["SIG002", "SIG009"]),
    "tampered-signature": (_tampered_signature, ["SIG008", "SIG009"]),
}


@pytest.mark.hostile_pr("policy")
@pytest.mark.parametrize("case", sorted(SIGNATURE_CASES))
def test_promote_refuses_what_doctor_fails_once_hand_promoted(
    repo: Path, strata: RunCli, home: Path, case: str
) -> None:
    edit(repo / "pyproject.toml", "[tool.strataml.policy.production]\n", SIGNING_REQUIRED)
    register_v2(repo, strata)
    prepare, codes = SIGNATURE_CASES[case]
    prepare(repo, strata, home)
    commit_all(repo, f"v2, {case}")
    _, found = diagnostics(strata, repo)  # v2 is experimental: no signature is required yet
    assert [c for _, c, _ in found] == [c for c in codes if c not in ("SIG001", "SIG009")]

    refused = promote_refused(repo, strata, "production")

    hand_promote(repo)
    code, found = diagnostics(strata, repo)
    assert code == 1
    assert [c for _, c, _ in found] == codes
    assert {p for p, _, _ in found} == {f"{V2}/SIGNATURE.asc"}
    messages = [m for _, _, m in found]
    assert refused == verdict(messages[0], len(messages))  # one evaluation, one verdict
    if case == "unsigned":
        assert messages == [
            "1 trusted signature required by [tool.strataml.policy.production], none present"
        ]
    else:
        assert messages[-1] == (
            "0 distinct trusted signers (none), 1 required by [tool.strataml.policy.production]"
        )


@pytest.mark.hostile_pr("policy")
def test_two_signers_required_and_one_signed(repo: Path, strata: RunCli, home: Path) -> None:
    alice = make_key(home, "Alice <alice@example.org>")
    trust(strata, alice)
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[tool.strataml.signing.require]]\npath = "{V2}"\nsigners = 2\n')
    register_v2(repo, strata)
    assert strata("sign", V2)[0] == 0
    assert strata("sign", V2, "--key", alice.fingerprint)[0] == 0  # signing twice counts once
    commit_all(repo, "v2 signed by one person")
    need = (
        f"1 distinct trusted signer ({alice.fingerprint}), 2 required by "
        f"[[tool.strataml.signing.require]] path '{V2}'"
    )
    for to in ("staging", "production"):
        assert promote_refused(repo, strata, to) == verdict(need, 1, to)
    assert diagnostics(strata, repo) == (1, [(f"{V2}/SIGNATURE.asc", "SIG009", need)])


@pytest.mark.hostile_pr("policy")
def test_no_option_skips_the_signatures(repo: Path, strata: RunCli) -> None:
    """--override allows archived -> production, never an unsigned version into it."""
    edit(repo / "pyproject.toml", "[tool.strataml.policy.production]\n", SIGNING_REQUIRED)
    register_v2(repo, strata)
    assert strata("model", "promote", NAME, "v2", "--to", "archived")[0] == 0
    commit_all(repo, "v2 archived")
    before = (repo / STAGES).read_bytes()
    code, _, err = strata("model", "promote", NAME, "v2", "--to", "production", "--override",
                          "--reason", "trust me")  # fmt: skip
    assert (code, err) == (2, "strata: error: " + verdict(
        "1 trusted signature required by [tool.strataml.policy.production], none present", 1
    ) + "\n")  # fmt: skip
    assert (repo / STAGES).read_bytes() == before


@pytest.mark.hostile_pr("policy")
def test_a_broken_policy_table_is_refused_not_read_as_no_policy(repo: Path, strata: RunCli) -> None:
    register_v2(repo, strata)
    edit(repo / "pyproject.toml", "min = 0.9", 'min = "high"')
    commit_all(repo, "policy made unreadable")
    message = promote_refused(repo, strata, "production")
    assert message == (
        "pyproject.toml: tool.strataml.policy.production.metrics[0].min: 'high' is not of type "
        "'number'; fix it before promoting (`strata doctor pyproject.toml`)"
    )


def test_honest_path_register_sign_promote_passes_in_a_clone(
    repo: Path, strata: RunCli, home: Path, tmp_path: Path
) -> None:
    alice = make_key(home, "Alice <alice@example.org>")
    trust(strata, alice)
    edit(repo / "pyproject.toml", "[tool.strataml.policy.production]\n", SIGNING_REQUIRED)
    register_v2(repo, strata)
    assert strata("sign", V2)[0] == 0
    commit_all(repo, "v2, reviewed and signed")
    code, out, err = strata("model", "promote", NAME, "v2", "--to", "production", "--commit")
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [
        f"models/{NAME}@v1: production -> archived",
        f"models/{NAME}@v2: experimental -> production",
    ]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    report = doctor_script(clone, "--strict")
    assert report.returncode == 0, report.stdout


# --- class 6: claimed metrics agree with the run that computed them ------------------------------


def pull_request(repo: Path, tmp_path: Path) -> Path:
    commit_all(repo, "pull request")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    return clone


def claim(repo: Path, strata: RunCli, old: str, new: str) -> None:
    """Edit v2's metrics.yaml and stamp the directory again, as `strata checksum` lets anyone."""
    path = repo / V2 / "metrics.yaml"
    if old:
        edit(path, old, new)
    else:
        path.write_text(path.read_text(encoding="utf-8") + new, encoding="utf-8")
    assert strata("checksum", V2)[0] == 0


def recorded(repo: Path, run: str, key: str) -> float:
    value = json.loads((repo / "runs" / run / "metrics.json").read_text())["final"][key]
    assert isinstance(value, float)
    return value


HINT = (
    "    hint: metrics.yaml repeats its source run's final metrics (`strata model register` "
    "writes it); metrics evaluated by another run name that run in source_run\n"
)


def failed_with(report: subprocess.CompletedProcess[str], *lines: str) -> None:
    """Exactly these findings in v2's metrics.yaml, nothing else anywhere."""
    assert report.returncode == 1
    body, summary = report.stdout.rsplit("\n\n", 1)
    assert body + "\n" == f"{V2}\n" + "".join(f"  metrics.yaml:{line}\n{HINT}" for line in lines)
    plural = "s" if len(lines) > 1 else ""
    assert summary.startswith(f"FAILED (strict): {len(lines)} error{plural}, 0 warnings, 0 info; ")


@pytest.mark.hostile_pr("claimed-metrics")
def test_accuracy_raised_after_register_fails_in_a_clone(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    register_v2(repo, strata)
    accuracy = recorded(repo, RUN, "test/accuracy")
    claim(repo, strata, f"value: {accuracy!r}", "value: 0.999")
    clone = pull_request(repo, tmp_path)
    failed_with(
        doctor_script(clone, "--strict"),
        f"6: error MOD006 accuracy on datasets/iris@v1 test is 0.999, but {RUN} recorded "
        f"test/accuracy = {accuracy!r}",
    )
    message = promote_refused(repo, strata, "production")  # promote verifies with doctor's check
    assert message.startswith(f"models/{NAME}/v2 does not verify: {V2}/metrics.yaml: MOD006 ")


@pytest.mark.hostile_pr("claimed-metrics")
def test_a_metric_the_run_never_recorded_fails(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    register_v2(repo, strata)
    claim(
        repo, strata, "", "- name: f1\n  value: 0.999\n  dataset: datasets/iris@v1\n  split: test\n"
    )
    failed_with(
        doctor_script(pull_request(repo, tmp_path), "--strict"),
        f"20: error MOD006 f1 on datasets/iris@v1 test is 0.999, but {RUN} recorded no test/f1",
    )


@pytest.mark.hostile_pr("claimed-metrics")
def test_a_separate_evaluation_must_name_a_run_that_exists(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    register_v2(repo, strata)
    claim(repo, strata, f"source_run: {RUN}", "source_run: run-2026-12-01-eval99")
    failed_with(
        doctor_script(pull_request(repo, tmp_path), "--strict"),
        "3: error MOD006 source_run run-2026-12-01-eval99 does not exist, so no record backs "
        "these metrics",
    )


def new_run(repo: Path, *args: str) -> str:
    before = {p.name for p in (repo / "runs").iterdir()}
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "run.py"), "--experiment",
         "experiments/my_experiment.yaml", *args],
        cwd=repo, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [run] = {p.name for p in (repo / "runs").iterdir()} - before
    return run


@pytest.mark.hostile_pr("claimed-metrics")
def test_a_separate_evaluation_run_must_agree(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    other = new_run(repo, "--set", "epochs=1")
    commit_all(repo, "an evaluation run")
    register_v2(repo, strata)
    claim(repo, strata, f"source_run: {RUN}", f"source_run: {other}")
    claims = (("test/accuracy", 6), ("train/loss", 11), ("val/accuracy", 16))
    differ = [
        (key, line, recorded(repo, RUN, key), recorded(repo, other, key))
        for key, line in claims
        if recorded(repo, RUN, key) != recorded(repo, other, key)
    ]
    assert differ, "one epoch trains a different model"
    failed_with(
        doctor_script(pull_request(repo, tmp_path), "--strict"),
        *(
            f"{line}: error MOD006 {key.split('/')[1]} on datasets/iris@v1 {key.split('/')[0]} "
            f"is {claimed!r}, but {other} recorded {key} = {actual!r}"
            for key, line, claimed, actual in differ
        ),
    )


def test_a_separate_evaluation_that_agrees_passes(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    """The metrics of a run with the same computation (same fingerprint, same numbers) agree."""
    again = new_run(repo)
    commit_all(repo, "the same computation again")
    register_v2(repo, strata)
    claim(repo, strata, f"source_run: {RUN}", f"source_run: {again}")
    report = doctor_script(pull_request(repo, tmp_path), "--strict")
    assert report.returncode == 0, report.stdout
