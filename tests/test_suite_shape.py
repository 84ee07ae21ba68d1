"""The suite's own shape: test modules share helpers through helper modules, never each other."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_no_test_module_imports_another() -> None:
    offenders = {
        path.name: sorted(m for m in imported_modules(path) if m.startswith("test_"))
        for path in sorted(TESTS.glob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_walk_sees_every_kind_of_import(tmp_path: Path) -> None:
    module = tmp_path / "test_x.py"
    module.write_text("import test_a\nfrom test_b import c\ndef f():\n    from test_d.e import g\n")
    assert imported_modules(module) == {"test_a", "test_b", "test_d"}
