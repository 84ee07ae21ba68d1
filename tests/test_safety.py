"""Safety guarantees (issue 9, part 5): no shell, no YAML objects, no gpg options, no escapes, no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, RunCli, example_run, require_tool, shipped_runs

RUN_PY = str(REPO / "tools" / "run.py")
HOSTILE_TAG = '!!python/object/apply:os.system ["touch pwned"]'


def run_py(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, RUN_PY, *args], cwd=repo, capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def new_runs(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / "runs").glob("run-*") if p.name not in shipped_runs())


def planted(repo: Path) -> list[str]:
    """Files an injected command would have created, anywhere in the repository."""
    return sorted(str(p.relative_to(repo)) for p in repo.rglob("pwned*"))


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def write_experiment(repo: Path, name: str, body: str) -> Path:
    path = repo / "experiments" / f"{name}.yaml"
    path.write_text(f"schema_version: 1\nname: {name}\n{body}", encoding="utf-8")
    return path


@pytest.fixture
def run_cli(
    template: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> RunCli:
    """`tools/run.py` in-process, in the template: (exit code, stdout, stderr)."""
    from strataml.cli import run_main

    monkeypatch.chdir(template)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run_main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


# --- no shell unless the spec says shell: true (TFC-0002 R3) -----------------------------------


def test_argv_elements_are_passed_literally(template: Path, run_cli: RunCli) -> None:
    hostile = [
        "$(touch pwned1)",
        "; touch pwned2",
        "`touch pwned3`",
        "| touch pwned4",
        "&& touch pwned5 #",
        "$HOME",
    ]
    command = ["python", "-c", "import sys; print(sys.argv[1:])", *hostile]
    write_experiment(template, "literal", f"command: {json.dumps(command)}\n")
    code, _, err = run_cli("--experiment", "experiments/literal.yaml")
    assert code == 0, err
    assert planted(template) == []
    [run] = new_runs(template)
    log = (run / "logs.txt").read_text(encoding="utf-8").splitlines()
    assert log[1] == repr(hostile)
    config = (run / "config.yaml").read_text(encoding="utf-8")
    assert "    shell: false\n" in config


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            "command: touch pwned\n",
            "experiments/x.yaml:3: command is a string; write it as a list, or set shell: true",
        ),
        (
            "command: touch pwned\nshell: false\n",
            "experiments/x.yaml:3: command is a string; write it as a list, or set shell: true",
        ),
        (
            'command: touch pwned\nshell: "true"\n',
            "experiments/x.yaml:3: command is a string; write it as a list, or set shell: true",
        ),
        (
            "command: [sh, -c, touch pwned]\nshell: 1\n",
            "experiments/x.yaml:4: shell: 1 is not of type 'boolean'",
        ),
        (
            "command: [sh, -c, touch pwned]\nshell: true\n",
            "experiments/x.yaml: shell: true needs command as one string",
        ),
    ],
    ids=["string", "shell-false", "shell-quoted", "shell-int", "shell-list"],
)
def test_a_command_line_needs_shell_true(
    template: Path, run_cli: RunCli, body: str, error: str
) -> None:
    write_experiment(template, "x", body)
    assert run_cli("--experiment", "experiments/x.yaml") == (2, "", f"run: error: {error}\n")
    assert new_runs(template) == []
    assert planted(template) == []


def test_shell_true_runs_the_line_through_the_shell(template: Path, run_cli: RunCli) -> None:
    write_experiment(
        template, "sh", 'command: "touch pwned-by-choice && echo $((6 * 7))"\nshell: true\n'
    )
    code, _, err = run_cli("--experiment", "experiments/sh.yaml")
    assert code == 0, err
    assert planted(template) == ["pwned-by-choice"]
    [run] = new_runs(template)
    assert (run / "logs.txt").read_text(encoding="utf-8").splitlines()[1] == "42"
    assert "  shell: true\n" in (run / "config.yaml").read_text(encoding="utf-8")


# --- no YAML tag constructs an object (yamlio: the C safe loader, JSON types only) -------------

TAG_MESSAGE = "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"


def test_hostile_tags_in_every_document_doctor_reads(template: Path, strata: RunCli) -> None:
    run = f"runs/{example_run()}"
    appended = (
        "datasets/iris/v1/metadata.yaml", "models/iris-classifier/v1/metrics.yaml",
        "models/iris-classifier/stages.yaml", f"{run}/config.yaml", "experiments/my_experiment.yaml",
    )  # fmt: skip
    lines = {}
    for rel in appended:
        path = template / rel
        text = path.read_text(encoding="utf-8")
        path.write_text(f"{text}x: {HOSTILE_TAG}\n", encoding="utf-8")
        lines[rel] = text.count("\n") + 1
    card = template / "models/iris-classifier/v1/card.md"
    card.write_text(
        card.read_text(encoding="utf-8").replace("---\n", f"---\nx: {HOSTILE_TAG}\n", 1)
    )
    code, out, _ = strata("doctor", str(template), "--format", "json", "--select", "SCH001,MOD005")
    found = [
        (d["code"], d["path"], d["line"], d["message"]) for d in json.loads(out)["diagnostics"]
    ]
    assert code == 1
    assert found == sorted(
        [("SCH001", rel, lines[rel], TAG_MESSAGE) for rel in appended]
        + [
            (
                "MOD005",
                "models/iris-classifier/v1/card.md",
                2,
                f"card front matter does not parse: {TAG_MESSAGE}",
            )
        ],
        key=lambda d: (d[1], d[2] or 0, d[0]),
    )
    assert planted(template) == []


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        (HOSTILE_TAG, TAG_MESSAGE),
        (
            "!!python/name:os.system",
            "could not determine a constructor for the tag 'tag:yaml.org,2002:python/name:os.system'",
        ),
        ("!!binary aGk=", "tag !!binary is not allowed: documents hold JSON types only"),
        ("!!set {a, b}", "tag !!set is not allowed: documents hold JSON types only"),
    ],
    ids=["apply", "name", "binary", "set"],
)
def test_hostile_tags_in_a_spec_and_in_set(
    template: Path, run_cli: RunCli, tag: str, message: str
) -> None:
    write_experiment(template, "tagged", f"command: [python, -c, pass]\nparams:\n  seed: {tag}\n")
    assert run_cli("--experiment", "experiments/tagged.yaml") == (
        2, "", f"run: error: experiments/tagged.yaml:5: {message}\n",
    )  # fmt: skip
    assert run_cli("--experiment", "experiments/my_experiment.yaml", "--set", f"seed={tag}") == (
        2, "", f"run: error: --set 'seed={tag}': the value is not valid YAML: {message}\n",
    )  # fmt: skip
    assert new_runs(template) == []
    assert planted(template) == []


def test_hostile_tag_in_stages_stops_promote(
    template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    stages = template / "models/iris-classifier/stages.yaml"
    before = stages.read_text(encoding="utf-8") + f"x: {HOSTILE_TAG}\n"
    stages.write_text(before, encoding="utf-8")
    monkeypatch.chdir(template)
    code, out, err = strata("model", "promote", "iris-classifier", "v1", "--to", "staging")
    assert (code, out) == (2, "")
    assert (
        err
        == f"strata: error: {stages}:{before.count(chr(10))}: {TAG_MESSAGE}; run `strata doctor`\n"
    )
    assert stages.read_text(encoding="utf-8") == before
    assert planted(template) == []


# --- gpg never sees a user string as an option (integrity/gpg.py) ------------------------------


@pytest.fixture
def gpg_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a recorder in front of the real gpg on PATH; each call appends its argv as one line."""
    real = require_tool("gpg")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "gpg-calls.log"
    wrapper = bin_dir / "gpg"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"for a in \"$@\"; do printf '%s\\037' \"$a\"; done >> '{log}'\n"
        f"printf '\\n' >> '{log}'\n"
        f"exec '{real}' \"$@\"\n",
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    log.touch()
    return log


def calls(log: Path) -> list[list[str]]:
    return [line.split("\x1f")[:-1] for line in log.read_text(encoding="utf-8").splitlines()]


def user_strings_reached_gpg(log: Path, *needles: str) -> list[str]:
    found = (arg for call in calls(log) for arg in call)
    return [arg for arg in found if any(arg == n or (len(n) > 3 and n in arg) for n in needles)]


HOSTILE_KEYS = (
    "--output=/tmp/pwned", "-o", "--homedir=/", "--local-user=x",
    "8E04A1814EC87130EF8BA1B01C217A0E35158B16 --yes",
)  # fmt: skip


def test_sign_refuses_a_key_that_is_not_a_fingerprint(
    template: Path, strata: RunCli, gpg_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(template)
    for key in HOSTILE_KEYS:
        assert strata("sign", "datasets/iris/v1", f"--key={key}") == (
            2, "", f"strata: error: {key!r} is not a full key fingerprint (40 hex digits)\n",
        )  # fmt: skip
    assert user_strings_reached_gpg(gpg_calls, *HOSTILE_KEYS) == []
    assert not (template / "datasets/iris/v1/SIGNATURE.asc").exists()


def test_keys_and_trust_entries_that_look_like_options(
    template: Path, strata: RunCli, gpg_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = "8E04A1814EC87130EF8BA1B01C217A0E35158B16"
    monkeypatch.chdir(template)
    (template / "--output=pwned.asc").write_bytes((template / f"keys/{example}.asc").read_bytes())
    code, out, _ = strata("keys", "add", "--", "--output=pwned.asc")  # a file: read, fed on stdin
    assert (code, out.split(": ", 1)[0]) == (0, f"keys/{example}.asc")
    assert strata("keys", "add", "--", "--homedir=/tmp/pwned") == (
        2, "", "strata: error: --homedir=/tmp/pwned: no such file, and not a key fingerprint (40 hex digits)\n",
    )  # fmt: skip
    assert strata("keys", "remove", "--", "--output=pwned") == (
        2, "", "strata: error: '--output=pwned' is not a full key fingerprint (40 hex digits)\n",
    )  # fmt: skip
    (template / "--output=pwned.asc").rename(template / "keys/--output=pwned.asc")
    pyproject = template / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        text.replace(f'  "{example}",', f'  "{example}", "--output=pwned",'), "utf-8"
    )
    code, out, _ = strata("doctor", str(template), "--format", "json", "--select", "CFG,SIG")
    found = [(d["code"], d["path"]) for d in json.loads(out)["diagnostics"]]
    # One bad entry makes the whole list unusable: no signature counts (fail closed: CFG001 is an
    # error, and verify fails), and doctor reports the list, not each signature it no longer
    # trusts (TFC-0006 R18); the file's name is not its key's fingerprint, so keys/ refuses it
    # too (TFC-0008 R8).
    assert (code, found) == (
        1,
        [
            ("SIG010", "keys/--output=pwned.asc"),
            ("CFG001", "pyproject.toml"),
        ],
    )
    assert strata("verify", "models/iris-classifier/v1")[0] == 1
    assert len(calls(gpg_calls)) > 4  # gpg did run: imports, listings, verifications
    assert user_strings_reached_gpg(gpg_calls, "pwned") == []
    assert planted(template) == []
    assert not Path("/tmp/pwned").exists()


# --- nothing reads or writes outside the repository (TFC-0001 R8, R10) -------------------------

SHIPPED_RUN = "runs/run-2026-11-25-sunrtb"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the repository that hostile links point into; it must stay as it is."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "canary").write_text("canary\n", encoding="utf-8")
    return directory


def redirect(repo: Path, rel: str, target: Path) -> None:
    """Replace repo/rel with a symlink to `target` (a copy of what was there, if anything)."""
    path = repo / rel
    if path.exists():
        path.rename(target)
    else:
        target.mkdir(parents=True)
    path.symlink_to(target)


@pytest.mark.parametrize(
    ("link", "command"),
    [
        (
            "datasets/evil",
            ["dataset", "add", "evil", "{src}", "--license", "MIT", "--source", "web"],
        ),
        (
            "models/evil",
            [
                "model",
                "register",
                "evil",
                "--from-run",
                SHIPPED_RUN.split("/")[1],
                "--task",
                "classification",
                "--license",
                "MIT",
            ],
        ),
        ("keys", ["keys", "add", "{key}"]),
        (".strata", ["dataset", "add", "evil", "{src}", "--license", "MIT", "--source", "web"]),
        (".strata", ["model", "promote", "iris-classifier", "v1", "--to", "staging"]),
        ("datasets/iris", ["checksum", "datasets/iris/v1"]),
        ("datasets/iris", ["sign", "datasets/iris/v1"]),
    ],
    ids=[
        "dataset-add",
        "model-register",
        "keys-add",
        "scratch-dataset-add",
        "scratch-promote",
        "checksum",
        "sign",
    ],
)
def test_writers_refuse_a_symlinked_directory(
    template: Path, strata: RunCli, outside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    link: str, command: list[str],
) -> None:  # fmt: skip
    src = tmp_path / "src"
    src.mkdir()
    (src / "rows.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    key = tmp_path / "key.asc"
    key.write_bytes(next((template / "keys").glob("*.asc")).read_bytes())
    redirect(template, link, outside / "target")
    before = tree(outside)
    monkeypatch.chdir(template)
    args = [a.format(src=src, key=key) for a in command]
    assert strata(*args) == (
        2, "", f"strata: error: {link} is a symlink; StrataML writes only into real directories of the repository\n",
    )  # fmt: skip
    assert tree(outside) == before


def test_doctor_with_a_symlinked_cache_writes_nothing_there(
    template: Path, strata: RunCli, outside: Path
) -> None:
    redirect(template, ".strata", outside / "cache")
    code, out, _ = strata("doctor", str(template), "--format", "json", "--select", "CHK")
    assert (code, json.loads(out)["diagnostics"]) == (0, [])
    assert tree(outside) == {"canary": b"canary\n"}


@pytest.mark.parametrize("command", ["sign", "verify", "checksum --check"])
def test_paths_outside_the_repository_are_one_line_errors(
    template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(template)
    code, out, err = strata(*command.split(), "/etc")
    if command == "checksum --check":  # verifying any directory is allowed; /etc is no repository
        assert (code, err) == (
            2,
            "strata: error: /etc: not inside a StrataML repository (no pyproject.toml with [tool.strataml] above it)\n",
        )
    else:
        assert (code, out, err) == (
            2,
            "",
            "strata: error: /etc: not a dataset version, model version or run directory\n",
        )


def test_escaping_paths_in_metadata_are_diagnostics(
    template: Path, strata: RunCli, outside: Path
) -> None:
    def swap(rel: str, old: str, new: str) -> None:
        path = template / rel
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    up = "../../../../outside"
    swap("datasets/iris/v1/metadata.yaml", "    path: train\n", f"    path: {up}\n")
    swap(
        "models/iris-classifier/v1/metadata.yaml",
        "- path: model.json\n",
        f"- path: {outside}/canary\n",
    )
    swap(f"{SHIPPED_RUN}/config.yaml", "    path: datasets/iris/v1\n", f"    path: {up}\n")
    swap("experiments/my_experiment.yaml", "outputs: [model.json]", "outputs: [../../canary]")
    code, out, _ = strata("doctor", str(template), "--format", "json", "--select", "LAY013")
    found = [(d["path"], d["line"], d["message"]) for d in json.loads(out)["diagnostics"]]
    tail = "is absolute, has '..' or control characters, or is empty"
    assert (code, found) == (1, [
        ("datasets/iris/v1/metadata.yaml", 30, f"splits.train.path: {up!r} {tail}"),
        ("experiments/my_experiment.yaml", 15, f"outputs[0]: '../../canary' {tail}"),
        ("models/iris-classifier/v1/metadata.yaml", 12, f"artifacts[0].path: '{outside}/canary' {tail}"),
        (f"{SHIPPED_RUN}/config.yaml", 37, f"inputs.data.path: {up!r} {tail}"),
    ])  # fmt: skip
    assert tree(outside) == {"canary": b"canary\n"}


def test_a_run_output_linking_outside_fails_the_run(
    template: Path, run_cli: RunCli, strata: RunCli, outside: Path
) -> None:
    link = f"import os; os.symlink({str(outside / 'canary')!r}, os.environ['STRATA_OUTPUT_DIR'] + '/model.json')"
    write_experiment(
        template, "linker", f"command: [python, -c, {json.dumps(link)}]\noutputs: [model.json]\n"
    )
    code, _, err = run_cli("--experiment", "experiments/linker.yaml")
    [run] = new_runs(template)
    system = json.loads((run / "system.json").read_text(encoding="utf-8"))
    assert (code, system["status"]) == (1, "failed"), err
    log = (run / "logs.txt").read_text(encoding="utf-8").splitlines()
    assert log[-3:-1] == [
        "[strata] artifacts/model.json: runs hold regular files with portable names only",
        "[strata] 'artifacts/model.json': removed before sealing: runs hold regular files with portable names only",
    ]
    assert not (run / "artifacts/model.json").is_symlink()
    rel = str(run.relative_to(template))
    assert strata("doctor", str(run), "--select", "CHK,LAY,RUN005")[0] == 0
    assert "model.json" not in (run / "CHECKSUMS.txt").read_text(encoding="utf-8"), rel
    assert tree(outside) == {"canary": b"canary\n"}


def test_site_never_replaces_a_runs_directory_it_did_not_build(
    template: Path, strata: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(template)
    home = tmp_path / "not-a-site"
    (home / "runs").mkdir(parents=True)
    (home / "runs" / "keep.txt").write_text("mine\n", encoding="utf-8")
    code, out, err = strata("index", "--site", str(home))
    assert (code, out, err) == (
        2,
        "",
        f"strata: error: --site {home}: holds runs/ but is not a built site; choose a new directory\n",
    )
    assert tree(home) == {"runs/keep.txt": b"mine\n"}


# --- no secrets in run records (TFC-0003 R9) ---------------------------------------------------

SECRETS = {
    "GITHUB_TOKEN": "ghp_" + "A1b2C3d4" * 5,
    "AWS_ACCESS_KEY_ID": "AKIA" + "Z" * 16,
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY",
    "HF_TOKEN": "hf_" + "x" * 34,
    "WANDB_API_KEY": "0123456789abcdef0123456789abcdef01234567",
    "DB_PASSWORD": "correct-horse-battery",
    "MY_SERVICE_AUTH": "bearer-7f3a9c",
    "PRIVATE_SIGNING_SEED": "seed-5b1e",
    "DATA_URL": "https://alice:s3cr3t-pw@data.example.com/iris.csv",
}


def test_a_real_run_records_no_environment(template: Path) -> None:
    done = run_py(template, "--experiment", "experiments/my_experiment.yaml", env=SECRETS)
    assert done.returncode == 0, done.stderr
    [run] = new_runs(template)
    system = json.loads((run / "system.json").read_text(encoding="utf-8"))
    assert sorted(system) == [
        "duration_s", "ended", "exit_code", "git", "host", "packages", "peak_memory_bytes", "pid",
        "python", "schema_version", "started", "status", "strataml_version",
    ]  # fmt: skip
    assert sorted(system["host"]) == ["cpu", "gpus", "hostname", "kernel", "memory_bytes", "os"]
    assert sorted(system["python"]) == ["executable", "implementation", "version"]
    config = (run / "config.yaml").read_text(encoding="utf-8")
    assert [line for line in config.splitlines() if not line.startswith((" ", "#", "- "))] == [
        "schema_version: 1", f"run_id: {run.name}", "experiment:", "params:", "inputs:", "code:",
        line_of(config, "fingerprint: "), line_of(config, "created: "), "tags:",
    ]  # fmt: skip
    leaked = {
        f"{name} in {path.relative_to(run)}"
        for path in run.rglob("*") if path.is_file()
        for name, value in SECRETS.items() if value.encode() in path.read_bytes()
    }  # fmt: skip
    assert leaked == set()


def line_of(text: str, prefix: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(prefix))


@pytest.mark.parametrize(
    ("args", "where", "kind"),
    [
        (
            ["--set", "seed=https://ci:hunter2@example.com/x"],
            "experiment.spec.params.seed",
            "a URL with a password",
        ),
        (["--name", "ghp_" + "a" * 36], "name", "a GitHub token"),
        (["--tag", "AKIAABCDEFGHIJKLMNOP"], "tags[2]", "an AWS access key id"),
    ],
    ids=["set-url", "name-github-token", "tag-aws-key"],
)
def test_a_secret_in_what_config_yaml_would_record_stops_the_run(
    template: Path, run_cli: RunCli, args: list[str], where: str, kind: str
) -> None:
    spec = template / "experiments/my_experiment.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("  seed: 0\n", "  seed: ''\n"), "utf-8"
    )
    assert run_cli("--experiment", "experiments/my_experiment.yaml", *args) == (
        2, "", f"run: error: experiments/my_experiment.yaml: {where} holds {kind}, which config.yaml "
        "would record; pass secrets to the command through environment variables (TFC-0003 R9)\n",
    )  # fmt: skip
    assert new_runs(template) == []


def test_a_secret_in_the_spec_itself_stops_the_run(template: Path, run_cli: RunCli) -> None:
    write_experiment(template, "leaky", 'command: [curl, "https://:tok3n@example.com/data"]\n')
    assert run_cli("--experiment", "experiments/leaky.yaml") == (
        2, "", "run: error: experiments/leaky.yaml: experiment.spec.command[1] holds a URL with a password, "
        "which config.yaml would record; pass secrets to the command through environment variables (TFC-0003 R9)\n",
    )  # fmt: skip
    assert new_runs(template) == []
