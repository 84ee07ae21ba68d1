"""The template in the tools people use: pre-commit, GitHub and GitLab CI, editors (TFC-0006 R13-R15)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import REPO, RunCli, commit_all, copy_tree, git, require_module
from strataml.config import load_config
from strataml.doctor.checks.documents import ARTIFACT_DOCUMENTS, shared_documents
from strataml.doctor.context import Context
from strataml.workspace import scan_layout
from strataml.yamlio import parse_yaml

SARIF_SCHEMA = REPO / "tests" / "vendor-schemas" / "sarif-schema-2.1.0.json"
WORKFLOW = REPO / ".github" / "workflows" / "strataml.yml"
GITLAB_CI = REPO / ".gitlab-ci.yml"
IRIS_TRAIN = "datasets/iris/v1/train/iris.csv"


def _environment(tmp_path: Path) -> dict[str, str]:
    """This interpreter first on PATH (`python`, `strata`), pre-commit's store in tmp."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PATH": path, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}


def _flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _with_tools(repo: Path) -> Path:
    """A fork holds the tooling too: `python tools/doctor.py` must run in it."""
    copy_tree(REPO, repo, ("tools", "schemas"))
    return repo


# --- pre-commit ---------------------------------------------------------------------------------


TOUCHED = [
    ((), 0),  # nothing in an artifact: the repository-wide rules only
    (("README.md", "experiments/my_experiment.yaml"), 0),
    (("datasets/iris/v1/train/iris.csv", "datasets/iris/v1/metadata.yaml"), 1),
    (("models/iris-classifier/stages.yaml",), 1),  # every version of that model
    (("runs",), 4),  # a directory touches the artifacts under it: the 4 shipped runs
    (("keys/8E04A1814EC87130EF8BA1B01C217A0E35158B16.asc",), 6),  # governs every artifact
    (("pyproject.toml",), 6),
]


def test_files_check_the_artifacts_they_touch(
    template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(template / "datasets")  # names are relative to the working directory
    for files, checked in TOUCHED:
        code, out, err = strata("doctor", "--strict", "--files", *(f"../{f}" for f in files))
        assert (code, err) == (0, ""), files
        artifacts = "1 artifact" if checked == 1 else f"{checked} artifacts"
        assert out.startswith(
            f"OK (strict): 0 errors, 0 warnings, 0 info; {artifacts} checked "
            "(of 6; only those the changed files touch), "
        ), files


def test_files_usage_errors(
    template: Path, tmp_path: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(template)
    outside = tmp_path / "elsewhere.txt"
    assert strata("doctor", "--files", "README.md", str(outside)) == (
        2, "", f"strata: error: {outside}: not inside the repository at {template}\n",
    )  # fmt: skip
    assert strata("doctor", "--files", "--since", "HEAD") == (
        2, "", "strata: error: --since and --files cannot be combined\n",
    )  # fmt: skip
    assert strata("doctor", str(template), str(template / "runs")) == (
        2, "", "strata: error: give one PATH, or changed files with --files\n",
    )  # fmt: skip


def _readme_hook_config() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## pre-commit, CI and editors", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]


def _commit(repo: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-q", "-m", message], cwd=repo, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def _hook_output(name: str, doctor_text: str) -> str:
    dots = "." * (79 - len(name) - len("Failed"))
    return f"{name}{dots}Failed\n- hook id: strata-doctor\n- exit code: 1\n\n{doctor_text}\n"


def _install_hook(repo: Path, config: str, env: dict[str, str]) -> None:
    (repo / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    commit_all(repo, "pre-commit configuration")
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"], cwd=repo, env=env, check=True,
        capture_output=True, timeout=60,
    )  # fmt: skip


def test_readme_hook_blocks_tampered_commits_and_passes_clean_ones(
    template: Path, tmp_path: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_module("pre_commit")
    monkeypatch.chdir(template)  # --files names are relative to the working directory
    env = _environment(tmp_path)
    repo = _with_tools(template)
    _install_hook(repo, _readme_hook_config(), env)

    _flip_byte(repo / IRIS_TRAIN)
    git(repo, "add", IRIS_TRAIN)
    head = git(repo, "rev-parse", "HEAD")
    refused = _commit(repo, env, "tamper with iris")
    code, doctor_text, _ = strata("doctor", "--strict", "--files", IRIS_TRAIN)
    assert (refused.returncode, code) == (1, 1)
    assert refused.stdout + refused.stderr == _hook_output("StrataML doctor", doctor_text)
    assert re.search(
        r"^  train/iris\.csv: error CHK005 content does not match CHECKSUMS\.txt line 4 ", doctor_text,
        re.MULTILINE,
    )  # fmt: skip
    assert doctor_text.endswith(
        "FAILED (strict): 2 errors, 0 warnings, 0 info; 1 artifact checked "
        "(of 6; only those the changed files touch), 5 files hashed\n"
    )
    assert git(repo, "rev-parse", "HEAD") == head

    # A commit that only deletes a file: pre-commit passes no file name, doctor finds it anyway.
    git(repo, "checkout", "HEAD", "--", "datasets")
    git(repo, "rm", "-q", "datasets/iris/v1/val/iris.csv")
    refused = _commit(repo, env, "drop the validation split")
    assert refused.returncode == 1
    output = refused.stdout + refused.stderr  # git shows a hook's output on stderr
    assert "  val/iris.csv: error CHK003 listed in CHECKSUMS.txt (line 5) but missing\n" in output
    assert "  val/iris.csv: error IMM002 deleted in the working tree, " in output
    assert git(repo, "rev-parse", "HEAD") == head

    git(repo, "reset", "-q", "--hard", "HEAD")
    with (repo / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("\nOur fork.\n")
    git(repo, "add", "README.md")
    passed = _commit(repo, env, "describe the fork")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout + passed.stderr == f"StrataML doctor{'.' * (79 - 15 - 6)}Passed\n"
    assert git(repo, "rev-parse", "HEAD") != head


def test_published_hook_manifest_works_as_declared(
    template: Path, tmp_path: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_module("pre_commit")
    monkeypatch.chdir(template)
    env = _environment(tmp_path)
    manifest = REPO / ".pre-commit-hooks.yaml"
    validated = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(manifest)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (validated.returncode, validated.stdout, validated.stderr) == (0, "", "")
    (hook,) = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    assert (hook["id"], hook["language"], hook["entry"]) == (
        "strata-doctor", "python", "strata doctor --strict --files",
    )  # fmt: skip
    # pre-commit would install this package into a fresh environment (slow, network); the same
    # hook on the already installed package proves its entry and its calling convention.
    config = {"repos": [{"repo": "local", "hooks": [{**hook, "language": "system"}]}]}
    _install_hook(template, yaml.safe_dump(config), env)
    (template / "datasets/iris/v1/metadata.yaml").write_text("name: [\n", encoding="utf-8")
    git(template, "add", "-A")
    refused = _commit(template, env, "break the metadata")
    _, doctor_text, _ = strata("doctor", "--strict", "--files", "datasets/iris/v1/metadata.yaml")
    assert refused.returncode == 1
    assert refused.stdout + refused.stderr == _hook_output(hook["name"], doctor_text)
    assert " error SCH001 " in doctor_text


def test_an_installed_package_validates_with_its_own_copy_of_the_schemas(
    template: Path, tmp_path: Path
) -> None:
    """What pre-commit's `pip install` of the hook repository gets: no schemas/ beside it."""
    source = copy_tree(
        REPO, tmp_path / "source", ("pyproject.toml", "README.md", "tools", "schemas")
    )
    build = tmp_path / "build"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
         "--build-lib", str(build)],
        cwd=source, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    packaged = build / "strataml" / "schemata"
    assert not packaged.is_symlink()
    assert {p.name: p.read_bytes() for p in packaged.iterdir()} == {
        p.name: p.read_bytes() for p in (REPO / "schemas").glob("*.json")
    }
    (template / "datasets/iris/v1/metadata.yaml").write_text("name: 7\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "strataml", "doctor", "--select", "SCH", "datasets/iris/v1"],
        cwd=template, env={**os.environ, "PYTHONPATH": str(build)}, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (1, "")
    assert "metadata.yaml:1: error SCH003 name: 7 is not of type 'string'\n" in done.stdout


# --- CI templates -------------------------------------------------------------------------------


def _check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    require_module("check_jsonschema")
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("schema", "path"), [("vendor.github-workflows", WORKFLOW), ("vendor.gitlab-ci", GITLAB_CI)]
)
def test_ci_templates_validate_against_their_published_schemas(schema: str, path: Path) -> None:
    done = _check_jsonschema(schema, path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok -- validation done\n", "")


def _workflow_steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps: list[dict[str, Any]] = workflow["jobs"]["doctor"]["steps"]
    return steps


def test_github_workflow_checks_out_pointers_caches_and_uploads_even_on_failure() -> None:
    steps = {s.get("uses", s.get("name", s.get("run"))).split("@")[0]: s for s in _workflow_steps()}
    assert steps["actions/checkout"]["with"] == {"lfs": False, "fetch-depth": 0}
    assert steps["actions/cache"]["with"] == {
        "path": ".strata",
        "key": "strata-${{ runner.os }}-${{ github.sha }}",
        "restore-keys": "strata-${{ runner.os }}-",
    }
    upload = steps["github/codeql-action/upload-sarif"]
    assert upload["if"].startswith("always()")
    assert upload["with"]["sarif_file"] == "doctor.sarif"
    order = list(steps)
    assert (
        order.index("actions/cache")
        < order.index("doctor")
        < order.index("github/codeql-action/upload-sarif")
    )


def _run_script(repo: Path, script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # GitHub's and GitLab's default shells: bash with errexit (GitLab adds pipefail).
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script], cwd=repo, env=_environment(tmp_path),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _sarif_results(repo: Path) -> list[str]:
    sarif = json.loads((repo / "doctor.sarif").read_text(encoding="utf-8"))
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    return [r["ruleId"] for r in sarif["runs"][0]["results"]]


def test_github_doctor_step_runs_as_written(template: Path, tmp_path: Path) -> None:
    (step,) = [s for s in _workflow_steps() if s.get("name") == "doctor"]
    repo = _with_tools(template)
    clean = _run_script(repo, step["run"], tmp_path)
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")
    assert _sarif_results(repo) == []

    _flip_byte(repo / IRIS_TRAIN)
    failed = _run_script(repo, step["run"], tmp_path)
    assert failed.returncode == 1
    assert failed.stderr == ""
    assert "  train/iris.csv: error CHK005 content does not match CHECKSUMS.txt line 4 " in (
        failed.stdout
    )
    assert failed.stdout.endswith(
        "FAILED (strict): 2 errors, 0 warnings, 0 info; 6 artifacts checked, 31 files hashed\n"
    )
    assert _sarif_results(repo) == ["CHK005", "IMM002"]


def test_gitlab_job_runs_as_written(template: Path, tmp_path: Path, strata: RunCli) -> None:
    job = yaml.safe_load(GITLAB_CI.read_text(encoding="utf-8"))["strataml-doctor"]
    assert job["variables"] == {"GIT_DEPTH": "0", "GIT_LFS_SKIP_SMUDGE": "1"}
    assert job["cache"]["paths"] == [".strata/"]
    assert job["artifacts"] == {
        "when": "always",
        "reports": {"codequality": "gl-code-quality-report.json"},
    }
    repo = _with_tools(template)
    _flip_byte(repo / IRIS_TRAIN)
    failed = _run_script(repo, "\n".join(job["script"]), tmp_path)
    assert (failed.returncode, failed.stderr) == (1, "")
    _, expected, _ = strata("doctor", str(repo), "--strict", "--format", "gitlab")
    report = (repo / "gl-code-quality-report.json").read_text(encoding="utf-8")
    assert report == expected
    assert [issue["check_name"] for issue in json.loads(report)] == ["CHK005", "IMM002"]


def test_gitlab_format_is_a_code_quality_report(base_repo: Path, strata: RunCli) -> None:
    _flip_byte(base_repo / "datasets/toy/v1/train/data.csv", offset=3)
    (base_repo / "datasets/toy/v1/datasheet.md").unlink()
    (base_repo / "notes.txt").write_text("scratch\n", encoding="utf-8")
    code, out, err = strata("doctor", str(base_repo), "--format", "gitlab")
    assert (code, err) == (1, "")
    restore = "restore it (git checkout -- datasets/toy/v1), or if the change is intended, run `strata checksum datasets/toy/v1`"  # fmt: skip
    expected = [
        {
            "check_name": "DAT005",
            "description": "no datasheet.md (hint: describe motivation, composition, "
            "collection, uses (Gebru et al.))",
            "location": {"lines": {"begin": 1}, "path": "datasets/toy/v1"},
            "severity": "info",
        },
        {
            "check_name": "CHK003",
            "description": f"listed in CHECKSUMS.txt (line 1) but missing (hint: {restore})",
            "location": {"lines": {"begin": 1}, "path": "datasets/toy/v1/datasheet.md"},
            "severity": "major",
        },
        {
            "check_name": "CHK005",
            "description": "content does not match CHECKSUMS.txt line 4 (blake3 9de164c19506…, "
            f"listed 207df788cf69…) (hint: {restore})",
            "location": {"lines": {"begin": 1}, "path": "datasets/toy/v1/train/data.csv"},
            "severity": "major",
        },
        {
            "check_name": "LAY001",
            "description": "notes.txt is not part of the repository layout (hint: write "
            "generated files under out/ (ignored by Git) or outside the repository; if notes.txt "
            "belongs here, add it to allow-top-level in [tool.strataml.doctor])",
            "location": {"lines": {"begin": 1}, "path": "notes.txt"},
            "severity": "minor",
        },
    ]
    report = json.loads(out)
    fingerprints = [issue.pop("fingerprint") for issue in report]
    assert report == expected
    _, as_json, _ = strata("doctor", str(base_repo), "--format", "json")
    identities = [
        "\0".join((d["code"], d["path"], str(d["line"] or 0), d["message"]))
        for d in json.loads(as_json)["diagnostics"]
    ]
    assert fingerprints == [hashlib.sha256(i.encode()).hexdigest() for i in identities]
    assert out == json.dumps(json.loads(out), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert strata("doctor", str(base_repo), "--format", "gitlab")[1] == out


# --- editors ------------------------------------------------------------------------------------


def _settings() -> dict[str, Any]:
    settings: dict[str, Any] = json.loads((REPO / ".vscode/settings.json").read_text("utf-8"))
    return settings


def _associations() -> list[tuple[str, str]]:
    """(workspace-relative glob, schema name) from yaml.schemas and json.schemas."""
    settings = _settings()
    pairs = [
        (glob, schema)
        for schema, globs in settings["yaml.schemas"].items()
        for glob in ([globs] if isinstance(globs, str) else globs)
    ] + [(glob, entry["url"]) for entry in settings["json.schemas"] for glob in entry["fileMatch"]]
    found = []
    for glob, url in pairs:
        assert glob.startswith("/"), f"{glob}: not workspace-relative"
        assert url.startswith("./schemas/") and url.endswith(".schema.json"), url
        found.append((glob[1:], url.removeprefix("./schemas/").removesuffix(".schema.json")))
    return found


def _load(path: Path) -> Any:
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    document = parse_yaml(path.read_bytes())
    assert document.ok, path
    return document.data


def test_every_editor_glob_matches_shipped_documents_that_validate() -> None:
    for glob, name in _associations():
        matched = sorted(REPO.glob(glob))
        assert matched, f"{glob} matches nothing in the template"
        schema = json.loads((REPO / "schemas" / f"{name}.schema.json").read_text("utf-8"))
        for path in matched:
            jsonschema.validate(_load(path), schema)


def test_every_document_doctor_validates_is_mapped_to_its_schema_for_editors() -> None:
    layout = scan_layout(REPO)
    documents = {
        f"{artifact.path}/{file}": schema
        for artifact in layout.artifacts
        for file, schema in ARTIFACT_DOCUMENTS[artifact.kind].items()
        if (REPO / artifact.path / file).is_file()
    }
    documents.update(shared_documents(Context(REPO, load_config(REPO), layout)))
    mapped: dict[str, set[str]] = {}
    for glob, name in _associations():
        for path in REPO.glob(glob):
            mapped.setdefault(path.relative_to(REPO).as_posix(), set()).add(name)
    assert {path: {schema} for path, schema in documents.items()} == mapped
    for path, schema in documents.items():
        if path.endswith(".yaml"):  # the language server reads the modeline first
            first = (REPO / path).read_text(encoding="utf-8").splitlines()[0]
            modeline = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
            assert modeline is not None, f"{path}: no modeline"
            target = ((REPO / path).parent / modeline.group(1)).resolve()
            assert target == REPO / "schemas" / f"{schema}.schema.json", path
    extensions = json.loads((REPO / ".vscode/extensions.json").read_text("utf-8"))
    assert extensions == {"recommendations": ["redhat.vscode-yaml"]}


def test_shipped_integrations_keep_the_template_clean(template: Path) -> None:
    for name in (".github", ".gitlab-ci.yml", ".pre-commit-hooks.yaml", ".vscode"):
        assert (template / name).exists(), name
    (template / "doctor.sarif").write_text("{}", encoding="utf-8")
    (template / "gl-code-quality-report.json").write_text("[]", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "doctor.py"), "--strict"], cwd=template,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("OK (strict): 0 errors, 0 warnings, 0 info; ")
