"""The library's layers hold (import-linter contracts in pyproject.toml) and no module imports
itself back through others: the graph of every import, function-local ones included, is acyclic."""

from __future__ import annotations

import ast
import graphlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, installed_script

PACKAGE = REPO / "tools" / "strataml"


def module_name(path: Path, base: Path) -> str:
    parts = path.relative_to(base).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(base: Path) -> dict[str, set[str]]:
    """Module -> the strataml modules it imports (`from a import b` is a.b where b is a module)."""
    modules = {module_name(p, base): p for p in (base / "strataml").rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                    else node.module
                    for a in node.names
                ]  # fmt: skip
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def test_no_module_imports_itself_back() -> None:
    graph = import_graph(PACKAGE.parent)
    assert len(graph) > 90  # the walk found the library
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def lint_imports(tools: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed_script("lint-imports"), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=tools.parent, capture_output=True, text=True, timeout=300, check=False,
        env={"PYTHONPATH": str(tools), "PATH": str(Path(sys.executable).parent)},
    )  # fmt: skip


def test_the_contracts_hold() -> None:
    done = lint_imports(PACKAGE.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 5 kept, 0 broken." in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("gitrepo.py", "import strataml.doctor.engine", "Layers: command line"),
        ("integrity/checksums.py", "from strataml.registry import stages", "Layers: command line"),
        ("doctor/engine.py", "import strataml.runner.session", "Layers: command line"),
        ("registry/store.py", "import gnupg", "Only integrity.gpg talks to gpg"),
        ("index/site.py", "import subprocess", "Only the adapters and the runner's executor"),
        ("integrations/lightning.py", "import transformers", "Each framework is imported by"),
        ("registry/models.py", "import skops.io", "Each framework is imported by"),
        ("runner/tracked.py", "import strataml.integrations.recording", "Layers: command line"),
    ],
)
def test_a_wrong_import_breaks_the_named_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tools = tmp_path / "tools"
    shutil.copytree(PACKAGE, tools / "strataml", ignore=shutil.ignore_patterns("__pycache__"))
    target = tools / "strataml" / module
    target.write_text(f"{target.read_text(encoding='utf-8')}\n{line}  # noqa\n", encoding="utf-8")
    done = lint_imports(tools)
    assert done.returncode == 1, done.stdout
    broken = [row for row in done.stdout.splitlines() if " BROKEN" in row]
    assert [row.startswith(contract) for row in broken] == [True], done.stdout


def test_git_runs_through_one_helper(tmp_path: Path) -> None:
    """Only gitrepo spells out a git argv (one adapter per outside tool); its one error type names
    the subcommand past leading options and keeps git's own words."""
    from strataml.errors import StrataError
    from strataml.gitrepo import GitError, git_ok, run_git

    spelled = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if '["git"' in path.read_text(encoding="utf-8")
    )
    assert spelled == ["gitrepo.py"]
    with pytest.raises(GitError) as caught:
        run_git(tmp_path, "-c", "log.showRoot=true", "log")
    assert isinstance(caught.value, StrataError) and caught.value.returncode != 0
    assert str(caught.value).startswith("git log failed: fatal: not a git repository")
    assert git_ok(tmp_path, "rev-parse", "--show-toplevel") is None
    assert run_git(tmp_path, "rev-parse", "--show-toplevel", ok=(0, 128)) == b""


def test_no_module_outgrows_its_limit() -> None:
    """A module that grows past its limit is split by what it owns (tools/strataml/README.md):
    300 lines for a command module, 400 for any other module of the library."""
    package = Path(__file__).resolve().parents[1] / "tools" / "strataml"
    over = {
        str(path.relative_to(package)): lines
        for path in sorted(package.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines()))
        > (300 if path.parent.name == "cli" else 400)
    }
    assert over == {}
