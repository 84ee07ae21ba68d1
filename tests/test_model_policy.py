"""Two models of different tasks, each under its own policy (TFC-0005 R10); `strata model check`
lists what a version still lacks for a stage; unwritten card sections (TFC-0005 R6).

Real Git repositories from the template, real runs of a small regression experiment through
tools/run.py, real gpg with a throwaway key, the real `strata` commands."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import RunCli, commit_all, git
from runkit import run_py, runs, write_experiment
from strataml.config import load_config
from strataml.registry.policy import model_policy

IRIS = "iris-classifier"
PETAL = "petal-regressor"
P1 = f"models/{PETAL}/v1"
# Petal width from petal length by least squares on iris: a regression, judged by RMSE.
PETAL_PY = """\
import csv, json, math
from strataml import tracking

def load(split):
    with (tracking.input_path("data") / split / "iris.csv").open(newline="") as handle:
        return [(float(r["petal_length_cm"]), float(r["petal_width_cm"])) for r in csv.DictReader(handle)]

train = load("train")
n = len(train)
mx, my = sum(x for x, _ in train) / n, sum(y for _, y in train) / n
slope = sum((x - mx) * (y - my) for x, y in train) / sum((x - mx) ** 2 for x, _ in train)
intercept = my - slope * mx
for split in ("val", "test"):
    rows = load(split)
    rmse = math.sqrt(sum((intercept + slope * x - y) ** 2 for x, y in rows) / len(rows))
    tracking.log_metric(f"{split}/rmse", round(rmse, 6))
out = tracking.output_dir() / "model.json"
out.write_text(json.dumps({"intercept": intercept, "slope": slope}, sort_keys=True) + "\\n")
"""
PETAL_SPEC = """\
command: [python, experiments/petal.py]
inputs:
  data: datasets/iris@v1
outputs: [model.json]
"""
RMSE_MAX = """
[[tool.strataml.policy.models]]
match = "petal-*"
production = { card-sections = ["Intended Use"],SIGNERS metrics = [
  { name = "rmse", dataset = "datasets/iris@v1", split = "test", max = MAX },
] }
"""
UNWRITTEN = (
    "'Factors', 'Quantitative Analyses', 'Ethical Considerations', 'Caveats and Recommendations'"
)
WRITTEN = (
    "Intended Use", "Factors", "Quantitative Analyses", "Ethical Considerations",
    "Caveats and Recommendations",
)  # fmt: skip


@pytest.fixture
def repo(template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(template)
    return template


def trusted_key(home: Path, strata: RunCli) -> str:
    """A new signing key of the user's, added to keys/ and the trust list; its fingerprint."""
    env = {**os.environ, "GNUPGHOME": str(home)}
    gpg = ["gpg", "--batch", "--no-tty"]
    uid = "Reviewer <reviewer@example.org>"
    subprocess.run([*gpg, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"],
                   capture_output=True, check=True, env=env)  # fmt: skip
    listing = subprocess.run([*gpg, "--with-colons", "--list-keys", uid],
                             capture_output=True, text=True, check=True, env=env).stdout  # fmt: skip
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
    )
    assert strata("keys", "add", fingerprint)[0] == 0
    return fingerprint


def regression_run(repo: Path) -> str:
    write_experiment(repo, "petal", PETAL_SPEC, {"experiments/petal.py": PETAL_PY})
    before = set(runs(repo))
    result = run_py(repo, "--experiment", "experiments/petal.yaml")
    assert result.returncode == 0, result.stderr
    [run] = set(runs(repo)) - before
    return run


def own_policy(repo: Path, *, rmse_max: float, signers: int = 0) -> None:
    signatures = f" signatures = {signers}," if signers else ""
    text = RMSE_MAX.replace("MAX", str(rmse_max)).replace("SIGNERS", signatures)
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write(text)


def register_petal(repo: Path, strata: RunCli, run: str) -> None:
    code, _, err = strata("model", "register", PETAL, "--from-run", run, "--task", "regression",
                          "--license", "CC0-1.0")  # fmt: skip
    assert (code, err) == (0, ""), err


def write_card(repo: Path, strata: RunCli, sections: tuple[str, ...] = WRITTEN) -> None:
    card = repo / P1 / "card.md"
    text = card.read_text(encoding="utf-8")
    for section in sections:
        old = f"## {section}\n\n_To be written._"
        assert old in text, section
        text = text.replace(old, f"## {section}\n\nWritten for the test.")
    card.write_text(text, encoding="utf-8")
    assert strata("checksum", P1)[0] == 0


def rmse(repo: Path) -> float:
    """The test RMSE the version reports (and its run recorded)."""
    document = yaml.safe_load((repo / P1 / "metrics.yaml").read_text(encoding="utf-8"))
    [value] = [
        m["value"] for m in document["metrics"] if (m["name"], m["split"]) == ("rmse", "test")
    ]
    return float(value)


def doctor(strata: RunCli, where: Path) -> tuple[int, str]:
    code, out, _ = strata("doctor", str(where), "--strict")
    return code, out.splitlines()[-1]


# --- two models, two policies --------------------------------------------------------------------


def test_without_its_own_policy_a_regression_model_meets_iris_thresholds(
    repo: Path, strata: RunCli
) -> None:
    """The failure that made per-model policy necessary: the default is every model's."""
    register_petal(repo, strata, regression_run(repo))
    write_card(repo, strata)
    code, out, err = strata("model", "promote", PETAL, "v1", "--to", "production")
    assert (code, out) == (2, "")
    assert err == (
        f"strata: error: {P1} breaks the production policy: reports no accuracy on "
        "datasets/iris@v1 test; policy needs accuracy on datasets/iris@v1 test >= 0.9\n"
    )


def test_each_model_is_promoted_under_its_own_policy_and_neither_breaks_the_other(
    repo: Path, strata: RunCli, home: Path, tmp_path: Path
) -> None:
    register_petal(repo, strata, regression_run(repo))
    own_policy(repo, rmse_max=0.5, signers=1)
    write_card(repo, strata)
    trusted_key(home, strata)
    assert strata("sign", P1)[0] == 0
    commit_all(repo, "petal-regressor v1 with its own policy")
    code, out, err = strata("model", "check", f"{PETAL}@v1", "--stage", "production")
    assert (code, out, err) == (0, f"models/{PETAL}@v1: ready for production\n", "")
    code, out, err = strata("model", "promote", PETAL, "v1", "--to", "production")
    assert (code, out, err) == (0, f"models/{PETAL}@v1: experimental -> production\n", "")
    commit_all(repo, "promote")
    # iris keeps the default (accuracy >= 0.9) and is still ready; the petal entry is not its.
    assert strata("model", "check", IRIS, "v1")[:2] == (
        0,
        f"models/{IRIS}@v1: ready for production\n",
    )
    assert doctor(strata, repo) == (
        0,
        "OK (strict): 0 errors, 0 warnings, 0 info; 8 artifacts checked, 40 files hashed",
    )
    git(tmp_path, "clone", "-q", str(repo), str(tmp_path / "clone"))
    assert doctor(strata, tmp_path / "clone")[0] == 0


def test_a_tighter_threshold_fails_only_the_model_it_belongs_to(repo: Path, strata: RunCli) -> None:
    register_petal(repo, strata, regression_run(repo))
    own_policy(repo, rmse_max=0.5)
    write_card(repo, strata)
    commit_all(repo, "petal-regressor v1")
    assert strata("model", "promote", PETAL, "v1", "--to", "production")[:2] == (
        0,
        f"models/{PETAL}@v1: experimental -> production\n",
    )
    commit_all(repo, "promote")
    value = rmse(repo)
    toml = repo / "pyproject.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("max = 0.5", "max = 0.01"), "utf-8")
    code, out, _ = strata("doctor", str(repo), "--strict", "--select", "POL")
    assert code == 1
    assert out.splitlines()[:3] == [
        P1,
        f"  metrics.yaml: error POL002 production version: rmse on datasets/iris@v1 test is {value:g}; policy needs rmse on datasets/iris@v1 test <= 0.01",
        '    hint: meet [[tool.strataml.policy.models]] match = "petal-*", production, or move v1 out of production',
    ]
    assert f"models/{IRIS}" not in out


def test_the_first_matching_entry_wins_and_replaces_the_default_stage(
    repo: Path, strata: RunCli
) -> None:
    """An entry for iris before a broader one: iris gets its own, petal the broad one; a stage
    an entry does not name keeps the default."""
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write(
            '\n[[tool.strataml.policy.models]]\nmatch = "iris-*"\nstaging = { signatures = 2 }\n'
            '\n[[tool.strataml.policy.models]]\nmatch = "*"\nproduction = { signatures = 3 }\n'
        )
    policy = load_config(repo).promotion_policy
    iris, petal = model_policy(policy, IRIS), model_policy(policy, PETAL)
    assert (iris["staging"].signatures, iris["production"].metrics[0].name) == (2, "accuracy")
    assert iris["production"].source == "[tool.strataml.policy.production]"
    assert (petal["production"].signatures, petal["production"].metrics) == (3, ())
    assert "staging" not in petal


def test_doctor_base_names_a_per_model_policy_change(repo: Path, strata: RunCli) -> None:
    own_policy(repo, rmse_max=0.5)  # on top of the template's commit
    code, out, _ = strata("doctor", str(repo), "--base", "HEAD", "--select", "CFG004")
    assert code == 0  # a warning: --strict and the CI templates make it fail
    assert out.splitlines()[1] == (
        "  pyproject.toml: warning CFG004 per-model stage policy [0] added: "
        "{'match': 'petal-*', 'production': {'card-sections': ['Intended Use'], 'metrics… "
        f"(in the working tree, not on the base {git(repo, 'rev-parse', 'HEAD')[:12]})"
    )


# --- strata model check --------------------------------------------------------------------------


def test_model_check_lists_everything_a_fresh_version_lacks(repo: Path, strata: RunCli) -> None:
    run = regression_run(repo)
    own_policy(repo, rmse_max=0.01, signers=1)
    register_petal(repo, strata, run)
    value = rmse(repo)
    code, out, err = strata("model", "check", PETAL, "v1", "--stage", "production")
    assert (code, err) == (1, "")
    where = '[[tool.strataml.policy.models]] match = "petal-*", production'
    assert out.splitlines() == [
        f"{P1}/card.md: card section 'Intended Use' is missing or not written",
        f"{P1}/card.md: card sections {UNWRITTEN} are still _To be written._",
        f"{P1}/metrics.yaml: rmse on datasets/iris@v1 test is {value:g}; policy needs rmse on datasets/iris@v1 test <= 0.01",
        f"{P1}/SIGNATURE.asc: 1 trusted signature required by {where}, none present",
        f"{P1}: not committed: 5 files new or changed",
        f"runs/{run}: not committed: 6 files new or changed",
        f"models/{PETAL}@v1: 6 things missing for production",
    ]


def test_model_check_names_an_edit_promote_would_refuse(repo: Path, strata: RunCli) -> None:
    """The card edited without `strata checksum`: the verification promote runs first."""
    register_petal(repo, strata, regression_run(repo))
    own_policy(repo, rmse_max=0.5)
    write_card(repo, strata)
    commit_all(repo, "petal")
    card = repo / P1 / "card.md"
    card.write_text(card.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    code, out, err = strata("model", "check", PETAL, "v1", "--stage", "staging")
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{P1}/card.md: CHK005 content does not match CHECKSUMS.txt line ")
    assert lines[1:] == [
        f"{P1}: not committed: 1 file new or changed",
        f"models/{PETAL}@v1: 2 things missing for staging",
    ]
    code, _, err = strata("model", "promote", f"{PETAL}@v1", "--to", "staging")
    assert code == 2 and f"does not verify: {lines[0]}" in err


def test_model_check_names_every_directory_promote_commit_needs(repo: Path, strata: RunCli) -> None:
    """A dataset version the run read, left uncommitted (its history rewritten): model check names
    it, exactly as `promote --commit` refuses it, not only the version and its run."""
    run = regression_run(repo)
    register_petal(repo, strata, run)
    own_policy(repo, rmse_max=0.5)
    write_card(repo, strata)
    commit_all(repo, "petal")
    datasheet = repo / "datasets" / "iris" / "v1" / "datasheet.md"
    datasheet.write_text(datasheet.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    code, out, err = strata("model", "check", PETAL, "v1", "--stage", "staging")
    assert (code, err) == (1, "")
    assert out.splitlines()[-2:] == [
        "datasets/iris/v1: not committed: 1 file new or changed",
        f"models/{PETAL}@v1: 1 thing missing for staging",
    ]
    code, _, err = strata("model", "promote", PETAL, "v1", "--to", "staging", "--commit")
    assert code == 2 and "--commit: datasets/iris/v1 is not committed" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((PETAL, "v1"), f"models/{PETAL}/v1 does not exist (there is no model '{PETAL}')"),
        (
            (IRIS, "v1", "--stage", "archived"),
            "--stage 'archived': choose one of staging, production",
        ),
        ((IRIS,), "'iris-classifier': give NAME VERSION or NAME@VERSION"),
        ((IRIS, "v1", IRIS, "v1"), "name one model version: NAME VERSION or NAME@VERSION"),
    ],
)
def test_model_check_refuses_what_it_cannot_judge(
    repo: Path, strata: RunCli, args: tuple[str, ...], message: str
) -> None:
    assert strata("model", "check", *args) == (2, "", f"strata: error: {message}\n")


# --- unwritten sections --------------------------------------------------------------------------


def test_unwritten_card_sections_warn_once_committed_and_block_production(
    repo: Path, strata: RunCli
) -> None:
    """A draft, then a warning once committed; production refuses it through the one evaluation
    (model check lists it, promote refuses it), and doctor's error for a production card so
    written is the golden case production-card-unwritten."""
    register_petal(repo, strata, regression_run(repo))
    own_policy(repo, rmse_max=0.5)
    write_card(repo, strata, ("Intended Use",))
    assert strata("doctor", str(repo), "--strict", "--select", "MOD")[0] == 0  # a draft
    commit_all(repo, "petal")
    code, out, _ = strata("doctor", str(repo), "--strict", "--select", "MOD")
    assert code == 1
    assert out.splitlines()[:2] == [
        P1,
        f"  card.md:48: warning MOD008 card sections {UNWRITTEN} are still _To be written._",
    ]
    assert strata("model", "check", PETAL, "v1", "--stage", "staging")[:2] == (
        0, f"models/{PETAL}@v1: ready for staging\n"
    )  # fmt: skip
    unwritten = f"card sections {UNWRITTEN} are still _To be written._"
    assert strata("model", "check", PETAL, "v1") == (
        1, f"{P1}/card.md: {unwritten}\nmodels/{PETAL}@v1: 1 thing missing for production\n", ""
    )  # fmt: skip
    assert strata("model", "promote", PETAL, "v1", "--to", "production") == (
        2, "", f"strata: error: {P1} breaks the production policy: {unwritten}\n"
    )  # fmt: skip
