from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, RunCli, doctor_script
from strataml.doctor.rules import RULES


def test_unknown_option_is_one_line_exit_2(base_repo: Path, strata: RunCli) -> None:
    assert strata("doctor", str(base_repo), "--qqqq") == (
        2,
        "",
        "strata: error: No such option: --qqqq\n",
    )


def test_path_outside_a_repository_exits_2(tmp_path: Path, strata: RunCli) -> None:
    code, out, err = strata("doctor", str(tmp_path))
    assert (code, out) == (2, "")
    assert (
        err
        == f"strata: error: {tmp_path}: not inside a StrataML repository (no pyproject.toml with [tool.strataml] above it)\n"
    )


def test_missing_path_exits_2(tmp_path: Path, strata: RunCli) -> None:
    assert strata("doctor", str(tmp_path / "nope")) == (
        2,
        "",
        f"strata: error: {tmp_path / 'nope'}: no such file or directory\n",
    )


def test_unknown_codes_and_formats_exit_2(base_repo: Path, strata: RunCli) -> None:
    assert strata("doctor", str(base_repo), "--select", "XYZ") == (
        2,
        "",
        "strata: error: unknown rule code or prefix: XYZ\n",
    )
    assert strata("doctor", str(base_repo), "--format", "xml") == (
        2,
        "",
        "strata: error: unknown format 'xml' (choose from text, json, sarif, github, gitlab)\n",
    )
    assert strata("doctor", "--explain", "ABC999") == (
        2,
        "",
        "strata: error: unknown rule code: ABC999\n",
    )


def test_explain(strata: RunCli) -> None:
    tfc = "TFC-0008-checksums-and-signatures.md"
    line = (REPO / "tfc" / tfc).read_text(encoding="utf-8").splitlines().index(
        "### R4. Digests match"
    ) + 1
    code, out, err = strata("doctor", "--explain", "chk005")
    assert (code, out.split("\n\n")[0], err) == (
        0,
        "CHK005 (checksums-mismatch): File content does not match its checksum\n"
        "severity: error\n"
        f'defined by: TFC-0008 R4 "Digests match" (tfc/{tfc}:{line})',
        "",
    )  # the rest: tests/test_ergonomics.py


def test_subpath_checks_only_that_artifact(base_repo: Path, strata: RunCli) -> None:
    (base_repo / "notebooks").mkdir()  # a repository-wide finding, out of scope below
    (base_repo / "datasets/toy/v1/train/data.csv").write_text("tampered\n")
    code, out, _ = strata("doctor", str(base_repo / "datasets/toy/v1/train"), "--select", "CHK,LAY")
    assert code == 1
    assert (
        out.splitlines()[-1]
        == "FAILED: 1 error, 0 warnings, 0 info; 1 artifact checked under datasets/toy/v1/train, 4 files hashed"
    )
    assert "LAY001" not in out


def test_github_annotations_escape(base_repo: Path, strata: RunCli) -> None:
    (base_repo / "datasets/toy/v1/a,b:c.csv").write_text("x\n")
    code, out, _ = strata("doctor", str(base_repo), "--format", "github", "--select", "CHK004")
    assert code == 1
    assert out == (
        "::error file=datasets/toy/v1/a%2Cb%3Ac.csv,title=CHK004::not listed in CHECKSUMS.txt"
        " (hint: remove it, or if the change is intended, run `strata checksum datasets/toy/v1`)\n"
    )


def test_checksum_then_check(base_repo: Path, strata: RunCli) -> None:
    version = base_repo / "datasets/toy/v1"
    (version / "train/data.csv").write_text("x,y\n9,9\n")
    assert strata("checksum", "--check", str(version))[0] == 1
    code, out, _ = strata("checksum", str(version))
    assert code == 0
    assert out.startswith(f"{version}: 4 files, blake3:") and out.endswith(
        " (metadata.yaml content_hash updated)\n"
    )
    code, out, _ = strata("checksum", "--check", str(version))
    assert code == 0 and out.endswith(
        "OK: 0 errors, 0 warnings, 0 info; 1 artifact checked under datasets/toy/v1, 4 files hashed\n"
    )


def test_checksum_of_a_file_exits_2(base_repo: Path, strata: RunCli) -> None:
    target = base_repo / "datasets/toy/v1/datasheet.md"
    assert strata("checksum", str(target)) == (2, "", f"strata: error: {target}: not a directory\n")


def test_tools_doctor_entry_point(base_repo: Path) -> None:
    clean = doctor_script(base_repo, "--strict")
    assert (clean.returncode, clean.stderr) == (0, "")
    assert (
        clean.stdout
        == "OK (strict): 0 errors, 0 warnings, 0 info; 3 artifacts checked, 14 files hashed\n"
    )
    bad = doctor_script(base_repo, "--strict", "--nope")
    assert (bad.returncode, bad.stdout, bad.stderr) == (
        2,
        "",
        "doctor: error: No such option: --nope (Possible options: --ignore, --no-cache, --since)\n",
    )


def test_tools_doctor_ends_with_its_whole_report_and_code(base_repo: Path) -> None:
    """The program skips the interpreter's teardown (cli._leave): what it printed still reaches
    the pipe whole, and its exit code is the report's."""
    sarif = doctor_script(base_repo, "--format", "sarif")
    assert (sarif.returncode, sarif.stderr) == (0, "")
    rules = json.loads(sarif.stdout)["runs"][0]["tool"]["driver"]["rules"]
    assert len(sarif.stdout) > 40_000 and len(rules) == len(RULES)  # many buffers full
    data = base_repo / "datasets/toy/v1/datasheet.md"
    data.write_bytes(data.read_bytes() + b"tampered\n")
    failed = doctor_script(base_repo, "--strict")
    assert (failed.returncode, failed.stderr) == (1, "")
    assert failed.stdout.endswith(
        "FAILED (strict): 1 error, 0 warnings, 0 info; 3 artifacts checked, 14 files hashed\n"
    )


def test_version(strata: RunCli) -> None:
    from strataml import tool_version

    assert strata("--version") == (0, f"strata {tool_version()}\n", "")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("doctr",), "No such command 'doctr'. Did you mean 'doctor'?"),
        (("model", "promot"), "No such command 'promot'. Did you mean 'promote'?"),
        (("keys", "lst"), "No such command 'lst'. Did you mean 'list'?"),
    ],
)
def test_a_mistyped_command_names_the_closest(
    strata: RunCli, args: tuple[str, ...], error: str
) -> None:
    assert strata(*args) == (2, "", f"strata: error: {error}\n")


def test_the_command_line_loads_no_feature_until_a_command_runs() -> None:
    # `strata --help` and `python tools/doctor.py` pay only for what they run.
    code = (
        "import sys; import strataml.cli.app; "
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('strataml.')}))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = set(ast.literal_eval(done.stdout))
    features = {"bundle", "doctor", "importers", "index", "integrity", "registry", "runner"}
    assert loaded & features == set()


def _commands(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_help_ends_with_examples_that_parse(strata: RunCli) -> None:
    from typer.main import get_command

    from strataml.cli.app import app

    paths = list(_commands(get_command(app)))
    assert len(paths) == 50  # the app, 10 commands, 9 groups and their 30 commands
    for path in paths:
        code, out, err = strata(*path, "--help")
        assert (code, err) == (0, ""), path
        lines = out.rstrip("\n").split("\n\n")[-1].splitlines()
        assert lines and all(
            line.startswith(f"    strata {' '.join(path)}".rstrip()) for line in lines
        )
        for line in lines:  # every option an example names exists
            assert strata(*shlex.split(line)[1:], "--help")[0] == 0, line


@pytest.mark.parametrize(
    ("shell", "first_line"),
    [
        ("zsh", "#compdef strata"),
        ("fish", "complete --command strata --no-files --arguments"),
        ("pwsh", "Import-Module PSReadLine"),
    ],
)
def test_the_completion_script_is_the_named_shells(
    strata: RunCli, shell: str, first_line: str
) -> None:
    """The shell named, whatever shell (or none) runs the command: a Dockerfile's RUN, a CI job
    or a detached process has no shell above it to guess from, and this suite's runs one."""
    code, out, err = strata("--show-completion", shell)
    assert (code, err, out.splitlines()[0].startswith(first_line)) == (0, "", True)
    code, out, err = strata("--show-completion", "tcsh")
    assert (code, out) == (2, "")
    assert err.endswith(
        "Invalid value for '--show-completion': 'tcsh' is not one of 'bash', 'zsh', 'fish', "
        "'powershell', 'pwsh'.\n"
    )


def test_the_completion_script_without_a_shell_above(tmp_path: Path) -> None:
    """Started by a process that left (no shell among its ancestors): the script all the same."""
    out = tmp_path / "completion.sh"
    script = f"{shlex.quote(sys.executable)} -m strataml --show-completion bash >{out} 2>&1 &"
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    subprocess.run(["/bin/sh", "-c", script], env=env, check=True, timeout=60)
    for _ in range(600):
        if out.exists() and out.read_text().rstrip().endswith("strata"):
            break
        time.sleep(0.05)
    assert out.read_text().startswith("_strata_completion() {")


def test_shell_completion(strata: RunCli) -> None:
    code, out, err = strata("--show-completion", "bash")
    assert (code, err) == (0, "")
    assert "_STRATA_COMPLETE=complete_bash" in out and out.rstrip().endswith("strata")
    env = {
        **os.environ, "PYTHONPATH": str(REPO / "tools"), "_STRATA_COMPLETE": "complete_bash",
        "COMP_WORDS": "strata model pro", "COMP_CWORD": "2",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "strataml"], env=env, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "promote\n", "")


def test_runs_list_loads_neither_the_runner_nor_doctor(template: Path) -> None:
    # Of the runner, `strata runs list` needs only where Slurm submissions keep their notes
    # (TFC-0002 R24): on 10,000 runs the runner's modules and doctor's were a third of its time.
    code = (
        "import sys; from strataml.cli import main; main(['runs', 'list']); "
        "print(sorted(m for m in sys.modules if m.startswith(('strataml.runner', "
        "'strataml.doctor'))), file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=template,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert ast.literal_eval(done.stderr.splitlines()[-1]) == [
        "strataml.runner", "strataml.runner.slurmpaths", "strataml.runner.slurmqueue",
    ]  # fmt: skip


def _said(capsys: pytest.CaptureFixture[str], run: Callable[[], int]) -> tuple[int, str, str]:
    """What `run` returned and printed (the `strata` fixture's, for an app other than main's)."""
    capsys.readouterr()
    code = run()
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "--help"),
        ("runs", "list", "--help"),
        ("runs",),
        ("runs", "lst"),
        ("runs", "best"),
        ("runs", "list", "--bogus"),
        ("model", "promot"),
        ("doctor", "--qqqq"),
        ("status", "--help"),
        ("keys",),
    ],
)
def test_a_command_line_naming_one_command_is_answered_as_by_the_whole_app(
    capsys: pytest.CaptureFixture[str], strata: RunCli, args: tuple[str, ...]
) -> None:
    from strataml.cli import app as strata_app
    from strataml.cli.exits import run_app

    alone = strata(*args)
    whole = _said(capsys, lambda: run_app(strata_app.app, list(args), "strata"))
    assert alone == whole
    assert alone[0] in (0, 2) and (alone[1] or alone[2])


def test_only_the_command_named_is_built(
    capsys: pytest.CaptureFixture[str], strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typer reads the signature of every command it builds: `strata runs list` builds `runs`."""
    import typer.main

    from strataml.cli import app as strata_app
    from strataml.cli.exits import run_app

    read: list[str] = []
    real = typer.main.get_params_from_function

    def counted(function: Callable[..., Any]) -> Any:
        read.append(function.__name__)
        return real(function)

    monkeypatch.setattr(typer.main, "get_params_from_function", counted)
    strata("runs", "list", "--help")
    alone = sorted(read)
    read.clear()
    _said(capsys, lambda: run_app(strata_app._build("runs"), ["runs", "list", "--help"], "strata"))
    assert alone == sorted(read)
    read.clear()
    _said(capsys, lambda: run_app(strata_app.app, ["runs", "list", "--help"], "strata"))
    whole = set(read)
    assert set(alone) == {
        "_options", "_print_version", "show_callback", "install_callback",
        "runs_aggregate", "runs_best", "runs_compare", "runs_list", "runs_show",
    }  # fmt: skip
    assert set(alone) < whole and len(whole) == 43
