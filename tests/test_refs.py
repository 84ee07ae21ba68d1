"""References that resolve everywhere (issue 19 item 1): `strata resolve`, experiment inputs,
`strataml.resolve`; moving references are recorded pinned (TFC-0001, TFC-0002 R4, TFC-0003 R11)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from conftest import RunCli, assert_check_jsonschema, commit_all, doctor_script, git
from registrykit import add_copies
from strataml import schemas
from strataml.integrity.stamp import stamp_directory
from strataml.refs import Reference

MODEL = "models/iris-classifier"


@pytest.fixture
def repo(template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The template with models/iris-classifier/v2 and datasets/iris/v2 (v1 stays in production)."""
    add_copies(template, datasets=1, models=1)
    commit_all(template, "v2 of each")
    monkeypatch.chdir(template)
    return template


def content_hash(repo: Path, path: str) -> str:
    data = yaml.safe_load((repo / path / "metadata.yaml").read_text("utf-8"))
    return str(data["content_hash"])


def edit_stages(repo: Path, **fields: object) -> None:
    path = repo / MODEL / "stages.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    data.update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")


def test_each_form_resolves_to_a_pinned_version(repo: Path, strata: RunCli) -> None:
    model, dataset = content_hash(repo, f"{MODEL}/v1"), content_hash(repo, "datasets/iris/v2")
    edit_stages(repo, staging="v2", aliases={"champion": "v1"})
    cases = {
        f"{MODEL}@production": f"{MODEL}@v1#{model}",
        f"{MODEL}@staging": f"{MODEL}@v2#{model}",
        f"{MODEL}@champion": f"{MODEL}@v1#{model}",
        f"{MODEL}@latest": f"{MODEL}@v2#{model}",
        f"{MODEL}@v1": f"{MODEL}@v1#{model}",
        f"{MODEL}@v2#{model}": f"{MODEL}@v2#{model}",
        "datasets/iris@latest": f"datasets/iris@v2#{dataset}",
        "datasets/iris@v2": f"datasets/iris@v2#{dataset}",
    }
    for asked, got in cases.items():
        assert strata("resolve", asked) == (0, f"{asked} -> {got}\n", ""), asked


def test_a_pin_alone_names_the_version_that_holds_it(repo: Path, strata: RunCli) -> None:
    same = content_hash(repo, f"{MODEL}/v1")  # v2 is a copy: one content hash, two versions
    assert strata("resolve", f"{MODEL}#{same}") == (
        2, "", f"strata: error: {MODEL}#{same}: v1, v2 have that content hash; name one of them\n",
    )  # fmt: skip
    (repo / MODEL / "v2" / "model.json").write_text('{"weights": []}\n', "utf-8")
    stamp_directory(repo / MODEL / "v2")
    other = content_hash(repo, f"{MODEL}/v2")
    assert strata("resolve", f"{MODEL}#{other}") == (
        0, f"{MODEL}#{other} -> {MODEL}@v2#{other}\n", "",
    )  # fmt: skip


def test_resolve_json_follows_its_schema(repo: Path, strata: RunCli, tmp_path: Path) -> None:
    pin = content_hash(repo, f"{MODEL}/v1")
    code, out, err = strata("resolve", f"{MODEL}@production", "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document == {
        "requested": f"{MODEL}@production", "ref": f"{MODEL}@v1#{pin}", "kind": "models",
        "name": "iris-classifier", "version": "v1", "content_hash": pin, "path": f"{MODEL}/v1",
        "via": "stage",
    }  # fmt: skip
    assert out == json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert schemas.validate("resolve", document) == []
    (tmp_path / "resolve.json").write_text(out, "utf-8")
    assert_check_jsonschema(tmp_path / "resolve.json", "resolve")


ERRORS = {
    # (stages.yaml fields, reference) -> the one error line
    "empty-stage": (
        {}, f"{MODEL}@staging", f"{MODEL}@staging: no version of iris-classifier is in staging",
    ),
    "alias-to-missing": (
        {"aliases": {"champion": "v9"}}, f"{MODEL}@champion",
        f"STG002 {MODEL}@champion: alias 'champion' names v9, which does not exist",
    ),
    "unknown-alias": (
        {"aliases": {"champion": "v1"}}, f"{MODEL}@challenger",
        f"{MODEL}@challenger: no alias 'challenger' in {MODEL}/stages.yaml (aliases: champion)",
    ),
    "alias-named-like-a-stage": (
        {"staging": "v2", "aliases": {"staging": "v1"}}, f"{MODEL}@staging",
        f"STG007 {MODEL}@staging: 'staging' is both a stage and an alias in {MODEL}/stages.yaml; "
        "rename the alias",
    ),
    "alias-named-like-a-version": (
        {"aliases": {"v2": "v1"}}, f"{MODEL}@v2",
        f"STG007 {MODEL}@v2: 'v2' is both a version and an alias in {MODEL}/stages.yaml; rename the alias",
    ),
    "two-archived": (
        {"production": None, "archived": ["v1", "v2"]}, f"{MODEL}@archived",
        f"{MODEL}@archived: 2 versions are archived (v1, v2); name one of them",
    ),
    "missing-version": ({}, f"{MODEL}@v3", f"LIN001 {MODEL}@v3: no version v3 (it has v1, v2)"),
    "semver-spelling": ({}, f"{MODEL}@v2.0.0", f"LIN001 {MODEL}@v2.0.0: no version v2.0.0; did you mean v2?"),
    "missing-model": ({}, "models/nope@latest", "LIN001 models/nope@latest: there is no model 'nope'"),
    "dataset-stage": (
        {}, "datasets/iris@production",
        "datasets/iris@production: datasets have no stages or aliases; write @v<N> or @latest",
    ),
    "pin-mismatch": (
        {}, f"{MODEL}@v1#blake3:{'0' * 64}",
        f"LIN002 {MODEL}@v1#blake3:{'0' * 64}: pinned to blake3:000000000000… but {MODEL}/v1 "
        "holds PIN",
    ),
    "malformed": (
        {}, "models/Iris@production",
        "not an artifact reference: 'models/Iris@production' (expected e.g. datasets/iris@v1, "
        "models/iris-classifier@production or models/iris-classifier#blake3:<hex>)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_dangling_and_ambiguous_references_are_one_error(
    repo: Path, strata: RunCli, case: str
) -> None:
    fields, ref, message = ERRORS[case]
    edit_stages(repo, **fields)
    message = message.replace("PIN", content_hash(repo, f"{MODEL}/v1"))
    assert strata("resolve", ref) == (2, "", f"strata: error: {message}\n")


def test_equal_versions_make_latest_ambiguous(repo: Path, strata: RunCli) -> None:
    shutil.copytree(repo / MODEL / "v2", repo / MODEL / "v2.0.0")
    assert strata("resolve", f"{MODEL}@latest") == (
        2, "", f"strata: error: {MODEL}@latest: v2 and v2.0.0 are the same version in order "
        "(TFC-0001 R6); name one of them\n",
    )  # fmt: skip
    assert strata("resolve", f"{MODEL}@v2.0.0")[0] == 0  # named outright, it is no riddle


def test_the_python_api_resolves_as_the_command_does(repo: Path) -> None:
    import strataml
    from strataml.registry.resolve import ResolveError

    found = strataml.resolve("datasets/iris@latest")
    assert (str(found.ref), found.via) == (
        f"datasets/iris@v2#{content_hash(repo, 'datasets/iris/v2')}", "latest",
    )  # fmt: skip
    with pytest.raises(ResolveError) as raised:
        strataml.resolve(f"{MODEL}@staging", root=repo)
    assert (raised.value.problem, raised.value.code) == ("dangling", None)


EXPERIMENT = """\
schema_version: 1
name: serve_check
command: [python, -c, "import os; print(os.environ['STRATA_INPUT_MODEL'])"]
inputs:
  model: models/iris-classifier@production
  data: datasets/iris@latest
"""


def run_config(repo: Path, strata: RunCli) -> tuple[str, dict[str, object]]:
    before = set((repo / "runs").iterdir())
    code, _, err = strata("run", "--experiment", "experiments/serve_check.yaml")
    assert code == 0, err
    [run] = set((repo / "runs").iterdir()) - before
    return run.name, yaml.safe_load((run / "config.yaml").read_text("utf-8"))


def test_a_moving_input_is_recorded_pinned_and_stays_so(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    (repo / "experiments" / "serve_check.yaml").write_text(EXPERIMENT, "utf-8")
    model, data = content_hash(repo, f"{MODEL}/v1"), content_hash(repo, "datasets/iris/v2")
    first, config = run_config(repo, strata)
    assert config["inputs"] == {
        "data": {"ref": f"datasets/iris@v2#{data}", "path": "datasets/iris/v2",
                 "content_hash": data, "requested": "datasets/iris@latest"},
        "model": {"ref": f"{MODEL}@v1#{model}", "path": f"{MODEL}/v1", "content_hash": model,
                  "requested": f"{MODEL}@production"},
    }  # fmt: skip
    assert config["experiment"]["spec"]["inputs"] == {  # type: ignore[index]
        "data": f"datasets/iris@v2#{data}", "model": f"{MODEL}@v1#{model}",
    }  # fmt: skip
    recorded = (repo / "runs" / first / "config.yaml").read_bytes()
    code, shown, err = strata("runs", "show", first)
    assert (code, err) == (0, ""), err
    assert [line for line in shown.splitlines() if line.startswith(("  data", "  model"))] == [
        f"  data   datasets/iris@v2#{data}  (asked for datasets/iris@latest)",
        f"  model  {MODEL}@v1#{model}  (asked for {MODEL}@production)",
    ]

    code, _, err = strata("model", "promote", "iris-classifier", "v2", "--to", "production",
                          "--reason", "newer")  # fmt: skip
    assert code == 0, err
    assert (repo / "runs" / first / "config.yaml").read_bytes() == recorded
    _, later = run_config(repo, strata)
    assert later["inputs"]["model"]["ref"] == f"{MODEL}@v2#{model}"  # type: ignore[index]

    commit_all(repo, "two runs, one promotion")
    git(tmp_path, "clone", "-q", str(repo), str(tmp_path / "clone"))
    checked = doctor_script(tmp_path / "clone", "--strict")
    assert checked.returncode == 0, checked.stdout


def test_an_input_that_names_nothing_stops_the_run(repo: Path, strata: RunCli) -> None:
    (repo / "experiments" / "serve_check.yaml").write_text(
        EXPERIMENT.replace("@production", "@staging"), "utf-8"
    )
    before = sorted(p.name for p in (repo / "runs").iterdir())
    assert strata("run", "--experiment", "experiments/serve_check.yaml") == (
        2, "", f"strata: error: input model: {MODEL}@staging: no version of iris-classifier is in "
        "staging\n",
    )  # fmt: skip
    assert sorted(p.name for p in (repo / "runs").iterdir()) == before


def test_commands_that_take_a_version_take_any_reference(repo: Path, strata: RunCli) -> None:
    def ok(*args: str) -> str:
        code, out, err = strata(*args)
        assert (code, err) == (0, ""), err
        return out

    ok("model", "promote", "iris-classifier", "v2", "--to", "staging", "--reason", "try it")
    assert ok(
        "model", "promote", "iris-classifier@staging", "--to", "production", "--reason", "good"
    ).splitlines() == [
        f"{MODEL}@v1: production -> archived",
        f"{MODEL}@v2: staging -> production",
    ]
    assert ok("model", "show", "iris-classifier@production").splitlines()[0] == (
        f"{MODEL}@v2  production"
    )
    assert (
        ok("model", "show", "iris-classifier@archived").splitlines()[0] == f"{MODEL}@v1  archived"
    )
    assert (
        ok("lineage", f"{MODEL}@production", "--up")
        .splitlines()[-1]
        .endswith(f"-> {MODEL}@v2  [generated]")
    )
    assert ok("dataset", "show", "iris@latest").splitlines()[0] == "ref           datasets/iris@v2"
    assert strata("model", "show", "iris-classifier@staging") == (
        2, "", f"strata: error: {MODEL}@staging: no version of iris-classifier is in staging\n",
    )  # fmt: skip
    wrong = "blake3:" + "0" * 64  # a pin on a fixed version is checked too, not dropped
    before = (repo / MODEL / "stages.yaml").read_bytes()
    code, out, err = strata("model", "promote", f"iris-classifier@v1#{wrong}", "--to", "staging",
                            "--reason", "pinned")  # fmt: skip
    assert (code, out) == (2, "")
    assert err.startswith(f"strata: error: LIN002 {MODEL}@v1#{wrong}: pinned to ")
    assert (repo / MODEL / "stages.yaml").read_bytes() == before


@given(
    st.sampled_from(["datasets", "models"]),
    st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True),
    st.one_of(
        st.none(),
        st.from_regex(r"v[1-9][0-9]{0,3}(\.(0|[1-9][0-9]?)\.(0|[1-9][0-9]?))?", fullmatch=True),
        st.from_regex(r"(?!v[0-9])[a-z][a-z0-9_-]{0,31}", fullmatch=True),
    ),
    st.one_of(st.none(), st.from_regex(r"blake3:[0-9a-f]{64}", fullmatch=True)),
)
def test_a_reference_reads_back_as_written(
    kind: str, name: str, selector: str | None, pin: str | None
) -> None:
    assume(selector is not None or pin is not None)
    ref = Reference(kind, name, selector, pin)  # type: ignore[arg-type]
    assert Reference.parse(str(ref)) == ref
    assert schemas.validate("experiment", {"schema_version": 1, "name": "x", "command": ["x"],
                                           "inputs": {"a": str(ref)}}) == []  # fmt: skip


@given(st.text(max_size=120))
def test_any_text_is_a_reference_or_a_value_error(text: str) -> None:
    try:
        ref = Reference.parse(text)
    except ValueError:
        return
    assert str(ref) == text


def test_a_broken_stages_file_stops_only_what_needs_it(repo: Path, strata: RunCli) -> None:
    (repo / MODEL / "stages.yaml").write_text("production: [v1, v2]\n", "utf-8")
    assert strata("resolve", f"{MODEL}@v2")[0] == 0
    assert strata("resolve", f"{MODEL}@latest")[0] == 0
    code, out, err = strata("resolve", f"{MODEL}@production")
    assert (code, out) == (2, "")
    assert err.startswith(f"strata: error: {MODEL}/stages.yaml: ")
    assert err.endswith(f"; fix it first (`strata doctor {MODEL}/stages.yaml`)\n")
