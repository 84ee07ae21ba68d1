"""`doctor --base REF`: the rules come from a trusted revision, never from what is judged.

A pull request can edit pyproject.toml, keys/ and schemas/ as well as artifacts. With --base the
trust list, keys, policy, signing requirements, ignores, allowed entries, LFS limits and schemas
are read from REF through Git, and every difference between them and the working tree's is a
finding (CFG004) naming the commit that made it (TFC-0006 R17, TFC-0008 R16).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import githistory, gitrepo
from strataml.config import PYPROJECT, Config, parse_config, parse_toml
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import CFG004
from strataml.errors import UsageError
from strataml.safeopen import read_regular
from strataml.schemas import PACKAGED, Schemas

KEYS, SCHEMAS = "keys", "schemas"
RULE_PATHS = (PYPROJECT, KEYS, SCHEMAS)
_MAX_RULE_BYTES = 16 << 20  # a larger file differs from any rule file the base holds
# How a difference under [tool.strataml] is named, by its first keys.
_NAMES = {
    ("signing", "trusted"): "trust list",
    ("signing", "require"): "signing requirements",
    ("doctor", "ignore"): "doctor ignore",
    ("doctor", "per-path-ignores"): "per-path ignore",
    ("doctor", "allow-top-level"): "allowed top-level entries",
    ("lfs",): "LFS limits",
    ("policy", "models"): "per-model stage policy",
    ("policy",): "stage policy",
    ("federation", "repositories"): "federation repository",
    ("federation",): "federation",
}


@dataclass(frozen=True, slots=True)
class BaseRules:
    ref: str
    commit: str
    config: Config
    keys_root: Path  # holds REF's keys/, for the keyring
    schemas: Schemas  # REF's schemas/, or the package's where REF has none
    changes: tuple[Diagnostic, ...]


@contextlib.contextmanager
def base_rules(root: Path, ref: str) -> Iterator[BaseRules]:
    """REF's rules, materialised for the run (keys and schemas in a private directory), and the
    working tree's differences from them."""
    commit = gitrepo.resolve_commit(root, ref)
    if commit is None:
        raise UsageError(f"--base {ref!r}: no such commit")
    files = gitrepo.files_at(root, commit, RULE_PATHS)
    scratch = Path(tempfile.mkdtemp(prefix="strata-base-"))
    try:
        for path, data in files.items():
            if path.startswith((f"{KEYS}/", f"{SCHEMAS}/")) and ".." not in path.split("/"):
                target = scratch / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        (scratch / KEYS).mkdir(exist_ok=True)
        base_config = parse_config(files.get(PYPROJECT, b""))
        changes = tuple(_changes(root, commit, files))
        has_schemas = any(p.startswith(f"{SCHEMAS}/") for p in files)
        validation = Schemas(scratch / SCHEMAS) if has_schemas else PACKAGED
        yield BaseRules(ref, commit, base_config, scratch, validation, changes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _changes(root: Path, commit: str, base: dict[str, bytes]) -> Iterator[Diagnostic]:
    current = _working_rules(root)
    differing = sorted(p for p in {*base, *current} if base.get(p) != current.get(p))
    if not differing:
        return
    made_in = githistory.last_changes(root, commit, RULE_PATHS)
    short = commit[:12]
    for path in differing:
        by = made_in.get(path, "uncommitted")
        who = "in the working tree" if by == "uncommitted" else f"by commit {by[:12]}"
        where = f"{who}, not on the base {short}"
        if path == PYPROJECT:
            for what in _config_changes(base.get(path), current.get(path)):
                yield _finding(path, f"{what} ({where})")
            continue
        verb = "added" if path not in base else "removed" if path not in current else "changed"
        kind = "key file" if path.startswith(f"{KEYS}/") else "schema"
        yield _finding(path, f"{kind} {verb} ({where})")


def _finding(path: str, message: str) -> Diagnostic:
    return CFG004.at(
        path,
        message,
        hint="a change to the rules takes effect once it is on the base branch: review and "
        "merge it on its own, then this check passes",
    )


def _working_rules(root: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for top in RULE_PATHS:
        start = root / top
        if top == PYPROJECT:
            candidates = [start]
        elif start.is_dir() and not start.is_symlink():
            candidates = sorted(p for p in start.rglob("*") if p.is_file() or p.is_symlink())
        else:
            candidates = []
        for path in candidates:
            with contextlib.suppress(OSError):  # unreadable or a link: not a rule file
                found[path.relative_to(root).as_posix()] = read_regular(path, _MAX_RULE_BYTES)
    return found


def _config_changes(before: bytes | None, after: bytes | None) -> list[str]:
    old, new = _strataml_table(before), _strataml_table(after)
    if old is None or new is None:
        return ["configuration changed: pyproject.toml cannot be compared (not readable TOML)"]
    changes: list[str] = []
    for key in sorted({*old, *new}):
        _diff((key,), old.get(key), new.get(key), changes)
    return changes  # a change outside [tool.strataml] is not a rule


def _strataml_table(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return {}
    try:
        document = parse_toml(raw.decode("utf-8"))
    except ValueError:
        return None
    table = document.get("tool", {}).get("strataml", {}) if isinstance(document, dict) else {}
    return table if isinstance(table, dict) else {}


def _diff(path: tuple[str, ...], old: Any, new: Any, changes: list[str]) -> None:
    if old == new:
        return
    if isinstance(old, dict | None) and isinstance(new, dict | None):
        old, new = old or {}, new or {}
        for key in sorted({*old, *new}):
            _diff((*path, key), old.get(key), new.get(key), changes)
        return
    tables = not (_scalars(old) and _scalars(new))  # e.g. one metric threshold edited
    if tables and isinstance(old, list | None) and isinstance(new, list | None):
        old, new = old or [], new or []  # e.g. a [[tool.strataml.policy.models]] entry added
        for index in range(max(len(old), len(new))):
            where = (*path, f"[{index}]")
            if index >= len(old):
                changes.append(f"{_name(where)} added: {_show(new[index])}")
            elif index >= len(new):
                changes.append(f"{_name(where)} removed: {_show(old[index])}")
            else:
                _diff(where, old[index], new[index], changes)
        return
    name = _name(path)
    if _scalars(old) and _scalars(new):
        before, after = old or [], new or []
        added = [x for x in after if x not in before]
        removed = [x for x in before if x not in after]
        if added:
            changes.append(f"{name} added: {', '.join(map(str, added))}")
        if removed:
            changes.append(f"{name} removed: {', '.join(map(str, removed))}")
        if added or removed:
            return
    changes.append(f"{name} changed: {_show(old)} → {_show(new)}")


def _name(path: tuple[str, ...]) -> str:
    for size in (2, 1):
        label = _NAMES.get(path[:size])
        if label is not None:
            rest = ".".join(path[size:]).replace(".[", "[")
            return f"{label} {rest}" if rest else label
    return "configuration " + ".".join(path).replace(".[", "[")


def _scalars(value: Any) -> bool:
    return value is None or (
        isinstance(value, list) and all(isinstance(x, str | int | float) for x in value)
    )


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:79] + "…"
