"""A fork's daily commands: no clobbered files, one way to name a version, hints that help (issue 16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, RunCli, copy_tree, doctor_script, example_run, git
from runkit import run_py, runs, write_experiment
from strataml.registry.runrecord import load_run
from strataml.registry.runviews import Best


@pytest.fixture
def repo(template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(template)
    return template


# 5. Outputs never clobber.


@pytest.mark.parametrize(
    "command",
    [
        ("export", "hf-card", "models/iris-classifier@v1"),
        ("export", "croissant", "datasets/iris@v1"),
        ("index",),
        ("bundle", "create", "main"),
    ],
)
def test_an_existing_output_is_refused_without_force(
    repo: Path, strata: RunCli, command: tuple[str, ...]
) -> None:
    readme = (repo / "README.md").read_bytes()
    assert strata(*command, "--output", "README.md") == (
        2, "", "strata: error: README.md exists; give --force to overwrite it\n",
    )  # fmt: skip
    assert (repo / "README.md").read_bytes() == readme
    assert strata(*command, "--output", "README.md", "--force")[0] == 0
    assert (repo / "README.md").read_bytes() != readme


def test_an_output_in_a_missing_directory_is_one_line(repo: Path, strata: RunCli) -> None:
    assert strata("export", "croissant", "datasets/iris@v1", "-o", "nowhere/c.json") == (
        2, "", "strata: error: nowhere: no such directory\n",
    )  # fmt: skip


def test_outputs_where_the_readme_puts_them_keep_doctor_strict_green(
    repo: Path, strata: RunCli
) -> None:
    (repo / "out").mkdir()
    assert strata("export", "hf-card", "models/iris-classifier@v1", "-o", "out/README.md")[0] == 0
    assert strata("export", "croissant", "datasets/iris@v1", "-o", "out/croissant.json")[0] == 0
    assert strata("index", "--output", "out/index.json")[0] == 0
    assert strata("bundle", "create", "main", "-o", "out/work.bundle")[0] == 0
    assert git(repo, "status", "--porcelain") == ""
    assert doctor_script(repo, "--strict").returncode == 0


def test_lay001_names_the_place_for_outputs(repo: Path, strata: RunCli) -> None:
    assert strata("export", "croissant", "datasets/iris@v1", "-o", "croissant.json")[0] == 0
    code, out, _ = strata("doctor", "--strict", "--select", "LAY001")
    assert (code, out.splitlines()[:3]) == (1, [
        "repository",
        "  croissant.json: warning LAY001 croissant.json is not part of the repository layout",
        "    hint: write generated files under out/ (ignored by Git) or outside the repository;"
        " if croissant.json belongs here, add it to allow-top-level in [tool.strataml.doctor]",
    ])  # fmt: skip


# 8. Hints never make it worse.


def test_chk005_on_a_committed_version_suggests_a_new_version(repo: Path, strata: RunCli) -> None:
    data = repo / "datasets/iris/v1/train/iris.csv"
    data.write_bytes(data.read_bytes().replace(b"5.1", b"5.2", 1))
    head = git(repo, "log", "-1", "--format=%H", "--", "datasets/iris/v1").strip()
    code, out, _ = strata("doctor", "--select", "CHK005")
    assert (code, out.splitlines()[1:3]) == (1, [
        "  train/iris.csv: error CHK005 content does not match CHECKSUMS.txt line 4"
        f" (blake3 {out.split('blake3 ')[1][:12]}…, listed {out.split('listed ')[1][:12]}…)",
        f"    hint: restore it (git checkout -- datasets/iris/v1); datasets/iris/v1 was committed in"
        f" {head[:12]} and never changes: put changed files in a new version"
        " (`strata dataset add NAME SRC`)",
    ])  # fmt: skip


def test_chk005_on_an_uncommitted_version_still_suggests_restamping(
    base_repo: Path, strata: RunCli
) -> None:
    data = base_repo / "datasets/toy/v1/train/data.csv"
    data.write_bytes(data.read_bytes() + b"9,9\n")
    code, out, _ = strata("doctor", str(base_repo), "--select", "CHK005")
    assert (code, out.splitlines()[2]) == (
        1,
        "    hint: restore it (git checkout -- datasets/toy/v1), or if the change is intended,"
        " run `strata checksum datasets/toy/v1`",
    )


def test_dataset_add_infers_numeric_column_types(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    source = tmp_path / "houses"
    for split, rows in {"train": "3,120.5,north\n4,80,south\n", "test": "2,95,\n"}.items():
        (source / split).mkdir(parents=True)
        (source / split / "houses.csv").write_text("rooms,area,zone\n" + rows, "utf-8")
    assert (
        strata(
            "dataset", "add", "houses", str(source), "--license", "CC0-1.0", "--source", "survey"
        )[0]
        == 0
    )
    metadata = yaml.safe_load((repo / "datasets/houses/v1/metadata.yaml").read_text("utf-8"))
    assert metadata["columns"] == [
        {"name": "rooms", "type": "integer"},
        {"name": "area", "type": "float"},  # 120.5 in train, 95 in test: the wider type
        {"name": "zone", "type": "string"},  # an empty cell says nothing
    ]
    assert doctor_script(repo, "--select", "SCH,DAT").returncode == 0


# 7. One command line.


def test_explain_prints_the_rule_why_how_and_an_example(strata: RunCli) -> None:
    tfc = "TFC-0008-checksums-and-signatures.md"
    line = (REPO / "tfc" / tfc).read_text("utf-8").splitlines().index("### R4. Digests match")
    assert strata("doctor", "--explain", "CHK005") == (0, (
        "CHK005 (checksums-mismatch): File content does not match its checksum\n"
        "severity: error\n"
        f'defined by: TFC-0008 R4 "Digests match" (tfc/{tfc}:{line + 1})\n'
        "\n"
        "why (TFC-0008 R4):\n"
        "  The BLAKE3 digest of each listed file's content MUST equal the digest listed\n"
        "  for it.\n"
        "\n"
        "how to fix (doctor's hint in the example):\n"
        "  restore it (git checkout -- datasets/toy/v1), or if the change is intended,"
        " run `strata checksum datasets/toy/v1`\n"
        "\n"
        "example (tests/examples/negative/byte-flipped):\n"
        "  datasets/toy/v1\n"
        "    train/data.csv: error CHK005 content does not match CHECKSUMS.txt line 4"
        " (blake3 2cbc3499907f…, listed 207df788cf69…)\n"
    ), "")  # fmt: skip


def test_explain_of_an_unknown_code_names_the_closest(strata: RunCli) -> None:
    assert strata("doctor", "--explain", "CHK0005") == (
        2, "", "strata: error: unknown rule code: CHK0005 (did you mean CHK005 or SCH005 or CHK010?)\n",
    )  # fmt: skip


def test_an_installed_package_explains_from_its_own_tfcs(template: Path, tmp_path: Path) -> None:
    source = copy_tree(REPO, tmp_path / "source", ("pyproject.toml", "README.md", "tools", "tfc"))
    build = tmp_path / "build"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
         "--build-lib", str(build)],
        cwd=source, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    packaged = build / "strataml" / "tfc"
    assert not packaged.is_symlink()
    assert sorted(p.name for p in packaged.iterdir()) == sorted(
        p.name for p in (REPO / "tfc").glob("*.md")
    )
    done = subprocess.run(
        [sys.executable, "-m", "strataml", "doctor", "--explain", "LAY002"],
        cwd=template, env={**os.environ, "PYTHONPATH": str(build)}, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.split("\n\n")[1:] == [
        "why (TFC-0001 R2):\n"
        "  The root MUST contain `pyproject.toml` and the directories `datasets/`,\n"
        "  `models/` and `runs/`, even when they hold no artifact yet (a `.gitkeep`\n"
        "  keeps an empty directory in Git).\n"
    ]  # no golden cases in a wheel: no example, no hint taken from one


def test_a_broken_config_is_one_finding_not_a_cascade(repo: Path, strata: RunCli) -> None:
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text("utf-8") + "[tool.strataml.policy.production]\nsignatures = 1\n",
        "utf-8",
    )
    line = len(pyproject.read_text("utf-8").splitlines()) - 1
    code, out, _ = strata("doctor")
    assert (code, out) == (1, (
        "repository\n"
        f"  pyproject.toml:{line}: error CFG002 Cannot declare ('tool', 'strataml', 'policy',"
        f" 'production') twice (at line {line}, column 33)\n"
        "    hint: see schemas/strataml-config.schema.json; until it is fixed, doctor skips what"
        " reads it (signature trust and requirements, policy, allow-top-level, the LFS size limit)\n"
        "\n"
        "FAILED: 1 error, 0 warnings, 0 info; 6 artifacts checked, 31 files hashed\n"
    ))  # fmt: skip
    # Where the report cannot say why, it keeps what an empty trust list implies: fail closed.
    code, out, _ = strata("doctor", "--select", "SIG")
    assert (code, out.split(" ", 3)[:3]) == (
        1,
        ["models/iris-classifier/v1\n", "", "SIGNATURE.asc:"],
    )
    assert strata("verify", "models/iris-classifier/v1")[0] == 1


SHOWN = (
    "models/iris-classifier@v1  production\n"
    "  classification, json, Apache-2.0; created 2026-11-25\n"
    "  Softmax regression on the four iris measurements: predicts the species (setosa,"
    " versicolor, virginica). The worked example of the template.\n"
    "  trained by   runs/run-2026-11-25-sunrtb\n"
    "  on           datasets/iris@v1\n"
    "  metrics      test/accuracy=0.9565  train/loss=0.1783  val/accuracy=0.9091\n"
    "  content      blake3:e44da15141a82e2863e53ddfda150bdfa25144a65ec2f191c1299844cf70134d\n"
)


@pytest.mark.parametrize(
    "args",
    [("iris-classifier", "v1"), ("iris-classifier@v1",), ("models/iris-classifier@v1",)],
    ids=["name-version", "name-at-version", "reference"],
)
def test_model_show_takes_a_version_either_way_and_reads_well(
    repo: Path, strata: RunCli, args: tuple[str, ...]
) -> None:
    assert strata("model", "show", *args) == (0, SHOWN, "")


def test_model_show_json_holds_the_rest(repo: Path, strata: RunCli) -> None:
    code, out, _ = strata("model", "show", "iris-classifier", "v1", "--format", "json")
    assert (code, sorted(json.loads(out))) == (0, [
        "content_hash", "created", "description", "framework", "license", "lineage", "metrics",
        "path", "ref", "stage", "task", "training",
    ])  # fmt: skip


def test_a_version_named_twice_is_a_usage_error(repo: Path, strata: RunCli) -> None:
    assert strata("dataset", "show", "iris@v1", "v2") == (
        2, "", "strata: error: 'iris@v1' already names a version; give NAME VERSION or NAME@VERSION\n",
    )  # fmt: skip
    assert strata("dataset", "show", "iris", "v1")[0] == 0
    assert strata("export", "hf-card", "iris-classifier", "v1")[0] == 0
    assert strata("export", "croissant", "iris", "v1")[0] == 0


def test_verify_of_an_unsigned_artifact_says_what_its_exit_code_means(
    repo: Path, strata: RunCli
) -> None:
    run = example_run()
    assert strata("verify", f"runs/{run}") == (1, (
        f"runs/{run}\n"
        "  no SIGNATURE.asc: unsigned, so not verified (exit code 1) even where the checksums"
        f" match; after review, `strata sign runs/{run}`\n"
        f"  OK: 0 errors, 0 warnings, 0 info; 1 artifact checked under runs/{run}, 5 files hashed\n"
    ), "")  # fmt: skip


def test_runs_best_reports_ties_and_suggests_names(repo: Path, strata: RunCli) -> None:
    spec = write_experiment(
        repo, "flat",
        "command: [sh, experiments/flat.sh]\nparams:\n  seed: 1\n",
        {"experiments/flat.sh": 'echo \'{"name": "score", "value": 3}\' >> "$STRATA_METRICS_FILE"\n'},
    )  # fmt: skip
    made = []
    for seed in ("1", "2"):
        before = set(runs(repo))
        assert run_py(repo, "--experiment", spec, "--set", f"seed={seed}").returncode == 0
        made += sorted(set(runs(repo)) - before)
    first, second = made
    assert strata("runs", "best", "--experiment", "flat", "--metric", "score") == (
        0, f"{second}  score=3  (best of 2, highest; tied with {first})\n", "",
    )  # fmt: skip
    code, out, _ = strata(
        "runs", "best", "--experiment", "flat", "--metric", "score", "--format", "json"
    )
    assert (code, json.loads(out)["tied_with"]) == (0, [first])
    assert strata("runs", "best", "--experiment", "flat", "--metric", "scor") == (
        1, "", "strata: no succeeded run of 'flat' reports 'scor' (did you mean score?)\n",
    )  # fmt: skip
    assert strata("runs", "best", "--experiment", "falt", "--metric", "score") == (
        1, "", "strata: no run of experiment 'falt' (did you mean flat?)\n",
    )  # fmt: skip


def test_runs_best_names_the_five_newest_ties_and_counts_the_rest(repo: Path) -> None:
    run = example_run()
    ties = tuple(f"run-2026-01-0{day}-abc" for day in range(7, 0, -1))
    best = Best(load_run(repo, run), "score", 3.0, False, 8, ties)
    assert best.text() == (
        f"{run}  score=3  (best of 8, highest; tied with run-2026-01-07-abc, run-2026-01-06-abc,"
        " run-2026-01-05-abc, run-2026-01-04-abc, run-2026-01-03-abc and 2 more)\n"
    )
    assert best.document()["tied_with"] == list(ties)


def test_an_unknown_key_names_the_closest_known_one(base_repo: Path, strata: RunCli) -> None:
    metadata = base_repo / "datasets/toy/v1/metadata.yaml"
    metadata.write_text(metadata.read_text("utf-8").replace("license:", "licence:"), "utf-8")
    code, out, _ = strata("doctor", str(base_repo), "--select", "SCH")
    assert (code, out.splitlines()[3]) == (
        1, "  metadata.yaml:6: error SCH003 unexpected key 'licence' (did you mean license?)",
    )  # fmt: skip


def test_a_mistyped_experiment_file_names_the_closest(repo: Path, strata: RunCli) -> None:
    assert strata("run", "--experiment", "experiments/my_experimnt.yaml", "--dry-run") == (
        2, "", "strata: error: experiments/my_experimnt.yaml: cannot read the experiment:"
        " No such file or directory (did you mean my_experiment.yaml?)\n",
    )  # fmt: skip


def test_alias_takes_the_version_either_way(repo: Path, strata: RunCli) -> None:
    assert strata("model", "alias", "iris-classifier@v1", "champion") == (
        0, "models/iris-classifier: champion -> v1\n", "",
    )  # fmt: skip
    assert strata("model", "alias", "iris-classifier", "challenger", "v1") == (
        0, "models/iris-classifier: challenger -> v1\n", "",
    )  # fmt: skip
    assert strata("model", "alias", "iris-classifier@v1", "champion", "v1")[0] == 2


def test_runs_list_of_a_mistyped_experiment_names_the_closest(repo: Path, strata: RunCli) -> None:
    assert strata("runs", "list", "--experiment", "my_experimnt") == (
        0, "no run of experiment 'my_experimnt' (did you mean my_experiment?)\n", "",
    )  # fmt: skip


def test_lineage_takes_the_version_either_way(repo: Path, strata: RunCli) -> None:
    pinned = strata("lineage", "models/iris-classifier@v1")
    assert pinned[0] == 0
    assert strata("lineage", "models/iris-classifier", "v1") == pinned
