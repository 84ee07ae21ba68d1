"""A DVC pipeline as values (TFC-0003 R19): dvc.yaml's stages, the params they read, and whether
dvc.lock still describes the workspace, by the md5s DVC itself computes. dvc is not needed."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml.confine import symlink_on_the_way
from strataml.errors import UsageError
from strataml.importers.dvc import LOCK, PARAMS, PIPELINE
from strataml.importers.record import SourceError, link_refused, read_mapping
from strataml.integrity.tree import scan_tree
from strataml.runner.fingerprint import canonical_json
from strataml.safeopen import LinkOnPathError, open_beneath
from strataml.yamlio import MAX_BYTES, YamlDocument

_LARGE = 256 * MAX_BYTES
# Words a shell gives meaning to: a cmd holding any is run as `sh -c CMD`, else split into argv.
_SHELL = frozenset("|&;<>()$`*?[]{}~#!\n\\")
_UNSUPPORTED = {
    "foreach": "expand the stage into one stage per item (dvc.yaml `foreach` is not imported)",
    "matrix": "expand the stage into one stage per combination (`matrix` is not imported)",
    "wdir": "move the stage's command to the project root (a `wdir` is not imported)",
    "vars": "write the values into dvc.yaml (`vars` and ${...} are not imported)",
}
_KNOWN = {"cmd", "deps", "outs", "params", "metrics", "plots", "frozen", "always_changed",
          "desc", "meta"}  # fmt: skip


class DvcImportError(UsageError):
    """A DVC pipeline that cannot be imported as it stands: a stable code, the file and line, a
    hint; nothing is written."""

    def __init__(self, code: str, path: Path | str, message: str, hint: str, line: int | None = None) -> None:  # fmt: skip
        self.code = code
        at = f"{path}:{line}" if line else str(path)
        super().__init__(f"{at}: {code} {message}\n  hint: {hint}")


@dataclass(frozen=True, slots=True)
class DvcStage:
    name: str
    cmd: str
    deps: tuple[str, ...]
    outs: tuple[str, ...]  # outs, metrics and plots, in that order
    metrics: tuple[str, ...]
    params: dict[str, tuple[str, ...]]  # params file -> dotted keys (empty: every top-level key)
    always_changed: bool
    line: int | None
    desc: str | None = None

    def argv(self) -> tuple[str, ...]:
        """The command as StrataML runs it (TFC-0003 R19): split as a shell would when it holds
        no shell syntax, else handed to `sh -c`."""
        try:
            words = shlex.split(self.cmd)
        except ValueError:  # an unbalanced quote: the shell says what it makes of it
            words = []
        if not words or any(c in _SHELL for c in self.cmd) or "=" in words[0]:
            return ("sh", "-c", self.cmd)
        return tuple(words)

    def words(self) -> set[str]:
        """The command's words as paths: which deps it runs (`./src/a.py` is `src/a.py`)."""
        try:
            words = shlex.split(self.cmd)
        except ValueError:
            words = self.cmd.split()
        return {posixpath.normpath(w) for w in words if w}


def read_stages(project: Path) -> tuple[dict[str, DvcStage], YamlDocument]:
    """dvc.yaml's stages, or DvcImportError for the first thing that cannot be imported."""
    if not (project / PIPELINE).is_file():
        raise DvcImportError("dvc-yaml", project / PIPELINE, "no dvc.yaml: nothing to import as a "
                             "pipeline", "run `strata import dvc PATH` without --pipeline")  # fmt: skip
    document = _mapping(project, PIPELINE)
    stages = document.data.get("stages")
    if not isinstance(stages, dict) or not stages:
        raise DvcImportError("dvc-yaml", project / PIPELINE, "no stages: mapping",
                             "declare stages as DVC does: stages: {NAME: {cmd: ...}}", 1)  # fmt: skip
    if "vars" in document.data:
        _unsupported(project, document, ("vars",), "vars")
    found = {}
    for name, spec in stages.items():
        found[str(name)] = _stage(project, document, str(name), spec)
    return found, document


def _mapping(project: Path, name: str) -> YamlDocument:
    try:
        return read_mapping(project, name, _LARGE)
    except SourceError as exc:
        raise DvcImportError("dvc-yaml", exc.path, exc.detail, f"fix {name} so that `dvc status` "
                             "reads it", exc.line) from None  # fmt: skip


def _unsupported(project: Path, document: YamlDocument, at: tuple[str, ...], key: str) -> None:
    where = f"stage {at[1]}" if len(at) > 1 else "dvc.yaml"
    raise DvcImportError("dvc-unsupported", project / PIPELINE, f"{where}: `{key}` cannot be "
                         "imported", _UNSUPPORTED[key], document.line_of(at))  # fmt: skip


def _stage(project: Path, document: YamlDocument, name: str, spec: object) -> DvcStage:
    at = ("stages", name)
    line = document.line_of(at)

    def bad(message: str, hint: str, where: tuple[str | int, ...] = ()) -> DvcImportError:
        return DvcImportError("dvc-yaml", project / PIPELINE, f"stage {name}: {message}", hint,
                              document.line_of((*at, *where)) or line)  # fmt: skip

    if not isinstance(spec, dict):
        raise bad("not a mapping", "give the stage a cmd, deps and outs")
    for key in sorted(set(spec) & set(_UNSUPPORTED)):
        _unsupported(project, document, (*at, key), key)
    for key in sorted(spec):
        if key not in _KNOWN:
            raise bad(f"unknown key {key!r}", "see DVC's dvc.yaml reference", (str(key),))
    cmd = one_command(spec.get("cmd"))
    if not isinstance(cmd, str) or not cmd.strip():
        raise bad("no cmd", "give the stage the command DVC runs", ("cmd",))
    if "${" in cmd:
        _unsupported(project, document, (*at, "cmd"), "vars")
    paths: dict[str, list[str]] = {}
    for part in ("deps", "outs", "metrics", "plots"):
        items = spec.get(part) or []
        if not isinstance(items, list):
            raise bad(f"{part} is not a list", "list paths, as DVC does", (part,))
        paths[part] = []
        for index, item in enumerate(items):
            path = next(iter(item), None) if isinstance(item, dict) and len(item) == 1 else item
            if not isinstance(path, str) or "${" in path:
                raise bad(f"{part}[{index}] is not a path", "write a path relative to the project",
                          (part, index))  # fmt: skip
            paths[part].append(_inside(project, document, (*at, part, index), path))
    return DvcStage(
        name=name,
        cmd=cmd,
        deps=tuple(paths["deps"]),
        outs=(*paths["outs"], *paths["metrics"], *paths["plots"]),
        metrics=tuple(paths["metrics"]),
        params=_params(project, document, at, spec.get("params")),
        always_changed=spec.get("always_changed") is True,
        line=line,
        desc=spec["desc"] if isinstance(spec.get("desc"), str) else None,
    )


def _inside(project: Path, document: YamlDocument, at: tuple[str | int, ...], path: str) -> str:
    normal = posixpath.normpath(path)
    if posixpath.isabs(path) or normal == ".." or normal.startswith("../") or normal == ".":
        raise DvcImportError("dvc-path", project / PIPELINE, f"{_shown(at)}: {path} is "
                             "not a path inside the project", "name files inside the "
                             "DVC project, with no '..' and no leading '/'",
                             document.line_of(at))  # fmt: skip
    link = symlink_on_the_way(project, project / normal)
    if link is not None:
        raise DvcImportError("dvc-link", project / PIPELINE, f"{_shown(at)}: {link} is a "
                             "symlink, which is never followed", "replace the link "
                             "with the file or directory it names", document.line_of(at))  # fmt: skip
    return normal


def _shown(at: tuple[str | int, ...]) -> str:
    """("stages", "train", "deps", 0) -> "stage train deps[0]"."""
    return f"stage {at[1]} {at[2]}[{at[3]}]"


def _params(
    project: Path, document: YamlDocument, at: tuple[str, ...], value: object
) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for index, item in enumerate(
        value if isinstance(value, list) else [] if value is None else [value]
    ):
        where: tuple[str | int, ...] = (*at, "params", index)
        if isinstance(item, str):
            found.setdefault(PARAMS, []).append(item)
        elif isinstance(item, dict) and len(item) == 1:
            file, keys = next(iter(item.items()))
            if not isinstance(keys, list | None) or not all(isinstance(k, str) for k in keys or []):
                raise DvcImportError("dvc-params", project / PIPELINE, f"stage {at[1]}: params "
                                     f"of {file} are not a list of keys", "list the keys the "
                                     "stage reads", document.line_of(where))  # fmt: skip
            found.setdefault(_inside(project, document, where, str(file)), []).extend(keys or [])
        else:
            raise DvcImportError("dvc-params", project / PIPELINE, f"stage {at[1]}: params[{index}] "
                                 "is not a key or {file: [keys]}", "see DVC's params reference",
                                 document.line_of(where))  # fmt: skip
    return {file: tuple(keys) for file, keys in found.items()}


def read_lock(project: Path) -> dict[str, Any]:
    """dvc.lock's stages, as written; DvcImportError when there is none (R19 needs it)."""
    if not (project / LOCK).is_file():
        raise DvcImportError("dvc-lock", project / LOCK, "no dvc.lock: DVC has not run the "
                             "pipeline", "run `dvc repro` in the project, then import it")  # fmt: skip
    stages = _mapping(project, LOCK).data.get("stages")
    if not isinstance(stages, dict):
        raise DvcImportError("dvc-lock", project / LOCK, "no stages: mapping",
                             "let DVC write dvc.lock (`dvc repro` or `dvc commit`)", 1)  # fmt: skip
    return {str(k): v for k, v in stages.items() if isinstance(v, dict)}


def param_values(project: Path, stage: DvcStage) -> dict[str, dict[str, Any]]:
    """params file -> dotted key -> the value there now."""
    values: dict[str, dict[str, Any]] = {}
    for file, keys in stage.params.items():
        if Path(file).suffix not in (".yaml", ".yml", ".json"):
            raise DvcImportError("dvc-params", project / PIPELINE, f"stage {stage.name}: {file}: "
                                 "only YAML and JSON params files are read", "keep the stage's "
                                 "params in params.yaml", stage.line)  # fmt: skip
        if not (project / file).is_file():
            raise DvcImportError("dvc-params", project / PIPELINE, f"stage {stage.name}: no "
                                 f"params file {file}", "create it or drop it from the stage's "
                                 "params", stage.line)  # fmt: skip
        data = _mapping(project, file).data
        values[file] = {}
        for key in keys or tuple(str(k) for k in data):
            here: Any = data
            for part in key.split("."):
                if not isinstance(here, dict) or part not in here:
                    raise DvcImportError("dvc-params", project / PIPELINE, f"stage {stage.name}: "
                                         f"{file} has no param {key}", "add it to the file or drop it from the "
                                         "stage's params", stage.line)  # fmt: skip
                here = here[part]
            values[file][key] = here
    return values


def dvc_md5(project: Path, rel: str) -> str:
    """The md5 DVC records for a path: of a file's bytes, or `<md5 of its listing>.dir`."""
    path = project / rel
    if path.is_dir() and not path.is_symlink():
        scan = scan_tree(path)
        odd = scan.symlinks + scan.special + scan.unreadable
        if odd:
            raise SourceError(path / odd[0], "a symlink or not a regular file; never followed")
        listing = [
            {"md5": dvc_md5(project, f"{rel}/{f}"), "relpath": f} for f in sorted(scan.files)
        ]
        return hashlib.md5(json.dumps(listing, sort_keys=True).encode()).hexdigest() + ".dir"
    digest = hashlib.md5()
    try:
        with os.fdopen(open_beneath(project, rel), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SourceError(path, "not a regular file; never read")
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except LinkOnPathError as exc:
        raise link_refused(project, exc) from exc
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def lock_mismatch(project: Path, stage: DvcStage, entry: object, params: dict[str, Any]) -> str | None:  # fmt: skip
    """Why dvc.lock's entry does not describe the workspace now, or None when it does: the same
    command, params and every dep's and out's md5 (TFC-0003 R19)."""
    if stage.always_changed:
        return "always_changed: DVC never takes it as up to date"
    if not isinstance(entry, dict):
        return "no dvc.lock entry"
    cmd = one_command(entry.get("cmd"))
    if cmd != stage.cmd:
        return "cmd changed"
    locked_params = entry.get("params") or {}
    if not _same(locked_params, {f: v for f, v in params.items() if v}):
        for file, values in sorted(params.items()):
            before = locked_params.get(file) if isinstance(locked_params, dict) else None
            for key, value in sorted(values.items()):
                if (
                    not isinstance(before, dict)
                    or key not in before
                    or not _same(before[key], value)
                ):
                    return f"param {file} {key} changed"
        return "params changed"
    for part, paths in (("deps", stage.deps), ("outs", stage.outs)):
        items = entry.get(part) or []
        if not isinstance(items, list):
            return f"dvc.lock's {part} are not a list"
        locked = {i.get("path"): i.get("md5") for i in items if isinstance(i, dict)}
        if set(locked) != set(paths):
            return f"{part} differ from dvc.yaml's"
        for path in paths:
            if not (project / path).exists():
                return f"{part[:-1]} {path} is missing"
            if locked[path] != dvc_md5(project, path):
                return f"{part[:-1]} {path} changed"
    return None


def _same(a: object, b: object) -> bool:
    """Equal as JSON writes them, as a fingerprint counts them: `true` is not `1`, nor `1` `1.0`."""
    try:
        return canonical_json(a) == canonical_json(b)
    except (TypeError, ValueError):  # what JSON cannot write is never taken as unchanged
        return False


def one_command(cmd: object) -> object:
    """A cmd as one shell line: a list of strings joined with && (DVC runs each in turn and
    stops at the first failure); anything else as given, for the caller to judge."""
    if isinstance(cmd, list) and cmd and all(isinstance(c, str) for c in cmd):
        return " && ".join(cmd)
    return cmd
