"""Datasets, models, stages, lineage and exports through `strata`, in real Git repositories."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import PIPELINE_RUNS, RunCli, commit_all, doctor_script, example_run, git, snapshot
from runkit import run_py, runs

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def repo(template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(template)
    return template


def new_run(repo: Path, *args: str) -> str:
    before = set(runs(repo))
    result = run_py(repo, "--experiment", "experiments/my_experiment.yaml", *args)
    assert result.returncode == 0, result.stderr
    [run_id] = set(runs(repo)) - before
    return run_id


def write_card(repo: Path, strata: RunCli, name: str, version: str) -> None:
    """Write every section register left to people, before the version is committed: the
    production policy names some, and a production card holds no placeholder (TFC-0005 R6)."""
    card = repo / f"models/{name}/{version}/card.md"
    card.write_text(card.read_text().replace("_To be written._", "Written for the test."))
    assert strata("checksum", f"models/{name}/{version}")[0] == 0


def commit_at(repo: Path, monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    for var in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        monkeypatch.setenv(var, when)


# --- the acceptance path ------------------------------------------------------------------------


def test_register_promote_register_promote_and_ask_the_past(
    repo: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = new_run(repo), new_run(repo, "--set", "epochs=200")
    commit_all(repo, "two runs")
    code, out, err = strata("model", "register", "iris-b", "--from-run", first,
                            "--task", "classification", "--license", "MIT")  # fmt: skip
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "models/iris-b/v1: 1 artifact file, 3 metrics"
    write_card(repo, strata, "iris-b", "v1")
    commit_all(repo, "register v1")
    commit_at(repo, monkeypatch, "2026-03-01T12:00:00+00:00")
    code, out, _ = strata("model", "promote", "iris-b", "v1", "--to", "production",
                          "--reason", "first", "--commit")  # fmt: skip
    assert code == 0 and out.startswith("models/iris-b@v1: experimental -> production\ncommitted ")

    monkeypatch.delenv("GIT_AUTHOR_DATE")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    assert strata("model", "register", "iris-b", "--from-run", second)[0] == 0  # task, licence kept
    write_card(repo, strata, "iris-b", "v2")
    commit_all(repo, "register v2")
    commit_at(repo, monkeypatch, "2026-04-01T12:00:00+00:00")
    code, out, err = strata("model", "promote", "iris-b@v2", "--to", "production", "--commit")
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [
        "models/iris-b@v1: production -> archived",
        "models/iris-b@v2: experimental -> production",
    ]

    stages = yaml.safe_load((repo / "models/iris-b/stages.yaml").read_text())
    assert (stages["production"], stages["archived"]) == ("v2", ["v1"])
    history = stages["history"]
    assert [(h["version"], h["from"], h["to"]) for h in history] == [
        ("v1", "experimental", "production"),
        ("v1", "production", "archived"),
        ("v2", "experimental", "production"),
    ]
    assert history[0]["reason"] == "first" and history[1]["reason"] == "replaced by v2"
    assert history[0]["by"] == "Strata Test <test@strataml.invalid>"
    assert history[0]["evidence"]["run"] == first and history[2]["evidence"]["run"] == second
    assert history[2]["evidence"]["metrics"]["iris@v1:test/accuracy"] > 0.8
    checksums = (repo / "models/iris-b/v2/CHECKSUMS.txt").read_bytes()
    from strataml.integrity.hashing import hash_bytes

    assert history[2]["evidence"]["checksums"] == "blake3:" + hash_bytes(checksums)

    for when, production, archived in (
        ("2026-02-15", None, []),
        ("2026-03-15", "v1", []),
        ("2026-04-01T12:00:00Z", "v2", ["v1"]),
    ):
        code, out, _ = strata("model", "history", "iris-b", "--at", when, "--format", "json")
        answer = json.loads(out)
        assert (code, answer["production"], answer["archived"]) == (0, production, archived), when
    code, out, _ = strata("model", "history", "iris-b", "--at", "2026-03-15")
    assert out.splitlines()[1] == "  production  v1"
    code, out, _ = strata("model", "history", "iris-b")
    assert [line.split("  ")[1:3] for line in out.splitlines()] == [
        ["v1", "experimental -> production"],
        ["v1", "production -> archived"],
        ["v2", "experimental -> production"],
    ]
    report = doctor_script(repo, "--strict")
    assert report.returncode == 0, report.stdout


def test_multi_model_promotion_is_one_commit(repo: Path, strata: RunCli) -> None:
    run_id = new_run(repo)
    for name in ("alpha", "beta"):
        assert strata("model", "register", name, "--from-run", run_id, "--task", "classification",
                      "--license", "MIT")[0] == 0  # fmt: skip
    commit_all(repo, "two models")
    head = git(repo, "rev-parse", "HEAD").strip()
    code, _, err = strata(
        "model", "promote", "alpha", "v1", "beta@v1", "--to", "staging", "--commit"
    )
    assert (code, err) == (0, "")
    assert git(repo, "rev-parse", "HEAD~1").strip() == head
    assert git(repo, "show", "--name-only", "--format=%s", "HEAD").split() == [
        "Promote", "alpha", "v1", "to", "staging;", "beta", "v1", "to", "staging",
        "models/alpha/stages.yaml", "models/beta/stages.yaml",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("model", "promote", "nope", "v1", "--to", "staging"), "models/nope/v1 does not exist (there is no model 'nope')"),
        (("model", "promote", "iris-classifier", "v7", "--to", "staging"), "models/iris-classifier/v7 does not exist (it has v1)"),
        (("model", "promote", "iris-classifier", "version1", "--to", "staging"), "bad version 'version1': write v<N> or v<MAJOR>.<MINOR>.<PATCH>"),
        (("model", "promote", "iris-classifier", "v1", "--to", "production"), "models/iris-classifier/v1 is already production"),
        (("model", "promote", "iris-classifier", "v1", "--to", "experimental"), "--to 'experimental': choose one of staging, production, archived"),
        (("model", "register", "x", "--from-run", "run-1999-01-01-zzzzzz"), "--from-run: no run matches 'run-1999-01-01-zzzzzz' (see `strata runs list`)"),
        (("model", "register", "Bad_Name", "--from-run", "latest"), "bad model name 'Bad_Name': lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters"),
        (("model", "alias", "iris-classifier", "production", "v1"), "alias 'production' is reserved (stage names, 'latest', and v followed by a digit)"),
        (("model", "history", "iris-classifier", "--at", "last march"), "--at 'last march': expected YYYY-MM-DD or an ISO 8601 date-time"),
        (("lineage", "models/nope@v1"), "models/nope@v1 does not exist"),
        (("dataset", "add", "iris", "datasets/iris/v1", "--version", "v1", "--license", "MIT", "--source", "x"), "datasets/iris/v1 already exists; versions are immutable"),
        (("dataset", "add", "fresh", "no/such/dir", "--license", "MIT", "--source", "x"), "no/such/dir: no such file or directory"),
        (("dataset", "add", "fresh", "datasets/iris/v1/train", "--source", "x"), "say under which licence the data may be used: --license SPDX-ID (e.g. CC-BY-4.0)"),
    ],
    ids=["unknown-model", "unknown-version", "bad-version", "same-stage", "bad-target", "unknown-run",
         "bad-name", "reserved-alias", "bad-date", "lineage-unknown", "version-exists", "missing-source",
         "no-licence"],
)  # fmt: skip
def test_invalid_input_exits_2_with_one_line_and_changes_nothing(
    repo: Path, strata: RunCli, args: tuple[str, ...], message: str
) -> None:
    before = snapshot(repo)
    code, out, err = strata(*args)
    assert (code, out, err) == (2, "", f"strata: error: {message}\n")
    assert snapshot(repo) == before


def test_archived_back_to_production_needs_override_and_reason(repo: Path, strata: RunCli) -> None:
    assert strata("model", "promote", "iris-classifier", "v1", "--to", "archived")[0] == 0
    before = snapshot(repo)
    code, _, err = strata("model", "promote", "iris-classifier", "v1", "--to", "production")
    assert (code, err) == (
        2,
        "strata: error: models/iris-classifier/v1: archived -> production needs --override and a --reason\n",
    )
    code, _, err = strata(
        "model", "promote", "iris-classifier", "v1", "--to", "production", "--override"
    )
    assert (code, err) == (2, "strata: error: --override needs a --reason saying why\n")
    assert snapshot(repo) == before
    code, out, _ = strata("model", "promote", "iris-classifier", "v1", "--to", "production",
                          "--override", "--reason", "v2 regressed")  # fmt: skip
    assert (code, out) == (0, "models/iris-classifier@v1: archived -> production\n")


def test_promotion_refuses_a_version_breaking_policy_or_failing_to_verify(
    repo: Path, strata: RunCli
) -> None:
    weak = new_run(repo, "--set", "epochs=1", "--set", "learning_rate=0.01")
    assert strata("model", "register", "iris-classifier", "--from-run", weak)[0] == 0
    before = snapshot(repo)
    code, _, err = strata("model", "promote", "iris-classifier", "v2", "--to", "production")
    assert code == 2
    assert err.startswith(
        "strata: error: models/iris-classifier/v2 breaks the production policy: card section 'Intended Use' is missing or not written (and "
    )
    assert snapshot(repo) == before
    (repo / "models/iris-classifier/v2/model.json").write_text("{}")
    code, _, err = strata("model", "promote", "iris-classifier", "v2", "--to", "staging")
    assert re.fullmatch(
        r"strata: error: models/iris-classifier/v2 does not verify: models/iris-classifier/v2/"
        r"model.json: CHK005 content does not match CHECKSUMS.txt line 4 "
        r"\(blake3 [0-9a-f]{12}…, listed [0-9a-f]{12}…\)\n",
        err,
    ), err


# --- datasets -----------------------------------------------------------------------------------


def test_dataset_add_detects_splits_counts_rows_and_verifies(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    (source / "train").mkdir(parents=True)
    (source / "validation").mkdir()
    (source / "test").mkdir()
    (source / "train/a.csv").write_text('x,note\n1,"two\nlines"\n2,b\n')
    shutil.copy(FIXTURES / "rows.parquet", source / "train/b.parquet")
    (source / "validation/v.jsonl").write_text('{"x": 1}\n\n{"x": 2}\n')
    (source / "test/t.csv").write_text("x,note\n3,c\n")
    code, out, err = strata("dataset", "add", "toy", str(source), "--license", "CC0-1.0",
                            "--source", "https://example.org/toy", "--derived-from", "iris@v1")  # fmt: skip
    assert (code, err) == (0, "")
    total = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    assert out.splitlines()[0] == (
        f"datasets/toy/v1: 4 files, {total} bytes (test 1 file, train 2 files, val 1 file)"
    )
    metadata = yaml.safe_load((repo / "datasets/toy/v1/metadata.yaml").read_text())
    assert metadata["splits"] == {
        "test": {"path": "test", "files": 1, "bytes": 11, "rows": 1},
        "train": {"path": "train", "files": 2, "bytes": 7811 + 25, "rows": 2 + 1234},
        "val": {"path": "validation", "files": 1, "bytes": 19, "rows": 2},
    }
    assert metadata["provenance"]["derived_from"][0].startswith("datasets/iris@v1#blake3:")
    assert metadata["provenance"]["sources"] == [
        {"name": "https://example.org/toy", "url": "https://example.org/toy"}
    ]
    assert metadata["creators"] == ["Strata Test <test@strataml.invalid>"]
    assert (
        "## Composition\n\nSplits: `test` (1 file, 11 bytes, 1 row)"
        in (repo / "datasets/toy/v1/datasheet.md").read_text()
    )
    assert doctor_script(repo, "datasets/toy/v1", "--strict").returncode == 0

    code, out, _ = strata(
        "dataset", "add", "toy", str(source / "test/t.csv"), "--license", "CC0-1.0", "--source", "x"
    )
    assert out.startswith("datasets/toy/v2: 1 file, 11 bytes (all 1 file)")
    assert (repo / "datasets/toy/v2/data/t.csv").is_file()
    code, out, _ = strata("dataset", "list", "--format", "json")
    assert [d["ref"] for d in json.loads(out)] == [
        "datasets/iris@v1",
        "datasets/toy@v1",
        "datasets/toy@v2",
    ]
    assert not any((repo / ".strata/tmp").iterdir())  # scratch cleaned up


def test_dataset_add_refuses_links_and_reserved_names(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.csv").write_text("x\n1\n")
    (source / "leak").symlink_to("/etc/passwd")
    before = snapshot(repo)
    code, _, err = strata("dataset", "add", "toy", str(source), "--license", "MIT", "--source", "x")
    assert (code, err) == (
        2,
        f"strata: error: {source}/leak: not a regular file (symlinks, FIFOs and devices cannot be versioned)\n",
    )
    (source / "leak").unlink()
    (source / "metadata.yaml").write_text("x: 1\n")
    code, _, err = strata("dataset", "add", "toy", str(source), "--license", "MIT", "--source", "x")
    assert (
        err
        == f"strata: error: {source}/metadata.yaml: metadata.yaml is written by strata; rename the source file\n"
    )
    assert snapshot(repo) == before


def test_row_counts_from_parquet_footers_and_text(tmp_path: Path) -> None:
    from strataml.registry.rows import count_rows

    parquet = (FIXTURES / "rows.parquet").read_bytes()
    cases = {
        "rows.parquet": (parquet, 1234),
        "cut.parquet": (parquet[:-20] + parquet[-8:], None),  # footer damaged
        "junk.parquet": (b"PAR1" + bytes(range(256)) + b"\x10\x00\x00\x00PAR1", None),
        "empty.parquet": (b"", None),
        "q.csv": (b'a,b\n1,"x\ny"\n\n2,z\n', 2),
        "t.tsv": (b"a\tb\n1\t2\n", 1),
        "l.jsonl": (b"{}\n\n{}\n{}", 3),
        "bad.csv": (b"a,b\n\xff\xfe\n", None),
        "x.bin": (b"123", None),
    }
    for name, (data, rows) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert count_rows(tmp_path / name) == rows, name


# --- lineage and exports ------------------------------------------------------------------------


def test_lineage_of_the_example_model(repo: Path, strata: RunCli) -> None:
    run_id = example_run()
    code, out, _ = strata("lineage", "models/iris-classifier@v1")
    assert (code, out) == (
        0,
        f"datasets/iris@v1 -> runs/{run_id}  [used]\nruns/{run_id} -> models/iris-classifier@v1  [generated]\n",
    )
    # Downstream, the dataset feeds the example pipeline's stage runs too: prepare read it,
    # train read prepare's output, evaluate read both.
    stage_run = {stage: run for run, stage in PIPELINE_RUNS.items()}
    prepare, train, evaluate = (stage_run[s] for s in ("prepare", "train", "evaluate"))
    code, out, _ = strata("lineage", "datasets/iris@v1", "--down", "--format", "mermaid")
    assert out == (
        "flowchart LR\n"
        '  n0[("datasets/iris@v1")]\n'
        '  n1[["models/iris-classifier@v1"]]\n'
        f'  n2["runs/{run_id}"]\n'
        f'  n3["runs/{prepare}"]\n'
        f'  n4["runs/{evaluate}"]\n'
        f'  n5["runs/{train}"]\n'
        "  n0 -->|used| n2\n"
        "  n0 -->|used| n3\n"
        "  n2 -->|generated| n1\n"
        "  n3 -->|upstream| n5\n"
        "  n3 -->|upstream| n4\n"
        "  n5 -->|upstream| n4\n"
    )
    code, out, _ = strata("lineage", run_id, "--up", "--format", "dot")
    assert out.splitlines()[-2] == f'  "datasets/iris@v1" -> "runs/{run_id}" [label="used"];'


def test_prov_json_reads_back_with_the_prov_package(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    prov_model = pytest.importorskip(
        "prov.model", reason="the prov package (test extra) is not installed"
    )
    run_id = example_run()
    _, out, _ = strata("lineage", "models/iris-classifier@v1", "--format", "prov-json")
    path = tmp_path / "lineage.json"
    path.write_text(out)
    document = prov_model.ProvDocument.deserialize(str(path), format="json")
    provn = document.get_provn()
    assert f"used(strata:_e1; strata:runs/{run_id}, strata:datasets/iris/v1, -)" in provn
    assert (
        f"wasGeneratedBy(strata:_e2; strata:models/iris-classifier/v1, strata:runs/{run_id}, -)"
        in provn
    )


def test_hf_card_loads_in_huggingface_hub(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    hub = pytest.importorskip(
        "huggingface_hub", reason="huggingface_hub (test extra) is not installed"
    )
    out_file = tmp_path / "README.md"
    code, _, err = strata("export", "hf-card", "iris-classifier@v1", "-o", str(out_file))
    assert (code, err) == (0, f"wrote {out_file}\n")
    card = hub.ModelCard.load(out_file)
    assert card.data.license == "apache-2.0"
    assert card.data.datasets == ["datasets/iris@v1"]
    assert [(r.metric_type, r.dataset_split, round(r.metric_value, 4)) for r in card.data.eval_results] == [
        ("accuracy", "test", 0.9565), ("loss", "train", 0.1783), ("accuracy", "val", 0.9091),
    ]  # fmt: skip
    assert "## Intended Use\n\nA teaching example" in card.text  # sections people wrote are kept


def test_croissant_validates_and_loads_records(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    mlc = pytest.importorskip("mlcroissant", reason="mlcroissant (test extra) is not installed")
    copy = tmp_path / "iris"
    shutil.copytree(repo / "datasets/iris/v1", copy)  # relative URLs resolve beside the document
    code, _, _ = strata(
        "export", "croissant", "datasets/iris@v1", "-o", str(copy / "croissant.json")
    )
    assert code == 0
    dataset = mlc.Dataset(jsonld=copy / "croissant.json")
    assert [r.name for r in dataset.metadata.record_sets] == ["test", "train", "val"]
    rows = list(dataset.records("train"))
    assert len(rows) == 105
    assert set(rows[0]) == {
        f"train/{c}"
        for c in (
            "sepal_length_cm",
            "sepal_width_cm",
            "petal_length_cm",
            "petal_width_cm",
            "species",
        )
    }
    document = json.loads((copy / "croissant.json").read_text())
    assert document["license"] == "https://spdx.org/licenses/CC-BY-4.0.html"
    train = next(f for f in document["distribution"] if f["@id"] == "train/iris.csv")
    assert train["sha256"] == hashlib.sha256((copy / "train/iris.csv").read_bytes()).hexdigest()


def test_template_example_is_in_production_and_doctor_passes(repo: Path, strata: RunCli) -> None:
    _, out, _ = strata("model", "list")
    assert out.startswith(
        "models/iris-classifier@v1  production  classification  test/accuracy=0.9565"
    )
    _, out, _ = strata("model", "show", "models/iris-classifier@v1", "--format", "json")
    shown = json.loads(out)
    assert (shown["stage"], shown["training"]["run"]) == ("production", example_run())


def test_derived_model_aliases_and_generated_dataset(repo: Path, strata: RunCli) -> None:
    shipped = example_run()
    run_id = new_run(repo, "--set", "epochs=200")
    code, _, err = strata("model", "register", "iris-classifier", "--from-run", run_id,
                          "--parent", "iris-classifier@v1", "--relation", "fine-tune")  # fmt: skip
    assert (code, err) == (0, "")
    metadata = yaml.safe_load((repo / "models/iris-classifier/v2/metadata.yaml").read_text())
    assert metadata["lineage"]["parents"][0]["relation"] == "fine-tune"
    assert metadata["lineage"]["parents"][0]["ref"].startswith("models/iris-classifier@v1#blake3:")
    card = (repo / "models/iris-classifier/v2/card.md").read_text()
    assert "base_model: models/iris-classifier@v1\nbase_model_relation: finetune\n" in card
    code, out, _ = strata("lineage", "models/iris-classifier@v2", "--up")
    lines = out.splitlines()
    assert sorted(lines) == sorted([
        f"datasets/iris@v1 -> runs/{run_id}  [used]",
        f"datasets/iris@v1 -> runs/{shipped}  [used]",
        f"runs/{shipped} -> models/iris-classifier@v1  [generated]",
        "models/iris-classifier@v1 -> models/iris-classifier@v2  [fine-tune]",
        f"runs/{run_id} -> models/iris-classifier@v2  [generated]",
    ])  # fmt: skip
    assert lines[0].startswith("datasets/iris@v1 -> ")  # sources before what they feed
    assert lines.index(f"runs/{shipped} -> models/iris-classifier@v1  [generated]") < lines.index(
        "models/iris-classifier@v1 -> models/iris-classifier@v2  [fine-tune]"
    )
    assert strata("model", "register", "x", "--from-run", run_id, "--parent", "iris-classifier@v1") == (
        2, "", "strata: error: give one --relation for each --parent\n",
    )  # fmt: skip

    assert strata("model", "alias", "iris-classifier", "champion", "v2") == (
        0, "models/iris-classifier: champion -> v2\n", "",
    )  # fmt: skip
    stages = yaml.safe_load((repo / "models/iris-classifier/stages.yaml").read_text())
    assert (stages["aliases"], stages["production"]) == ({"champion": "v2"}, "v1")
    assert strata("model", "alias", "iris-classifier", "champion", "--delete")[0] == 0
    assert (
        yaml.safe_load((repo / "models/iris-classifier/stages.yaml").read_text())["aliases"] == {}
    )

    source = repo / "runs" / run_id / "artifacts"
    code, out, err = strata("dataset", "add", "predictions", str(source), "--from-run", run_id,
                            "--license", "CC0-1.0")  # fmt: skip
    assert (code, err) == (0, "")
    provenance = yaml.safe_load((repo / "datasets/predictions/v1/metadata.yaml").read_text())[
        "provenance"
    ]
    assert provenance == {"generated_by": run_id}
    code, out, _ = strata("lineage", "datasets/predictions@v1", "--up")
    assert out.splitlines()[-1] == f"runs/{run_id} -> datasets/predictions@v1  [generated]"
    # A committed placeholder is a warning (MOD008, DAT006): people write card and datasheet.
    write_card(repo, strata, "iris-classifier", "v2")
    sheet = repo / "datasets/predictions/v1/datasheet.md"
    sheet.write_text(sheet.read_text().replace("_To be written._", "Written for the test."))
    assert strata("checksum", "datasets/predictions/v1")[0] == 0
    commit_all(repo, "derived model and generated dataset")
    report = doctor_script(repo, "--strict")
    assert (report.returncode, report.stdout.splitlines()[-1]) == (
        0, "OK (strict): 0 errors, 0 warnings, 0 info; 9 artifacts checked, 43 files hashed",
    )  # fmt: skip
