"""Why a pipeline stage is not up to date (TFC-0002 R21): one small value per reason, each with
its one-line text and its JSON document (schemas/status.schema.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass


def _shown(value: object) -> str:
    if value is _UNSET:
        return "(unset)"
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):  # a hand-edited record's keys of mixed types: shown as read
        return repr(value)


_UNSET = object()


@dataclass(frozen=True, slots=True)
class CodeChanged:
    path: str
    change: str  # changed, added, removed

    def text(self) -> str:
        return f"code file {self.path} {self.change}"

    def document(self) -> dict[str, object]:
        return {"kind": "code", "path": self.path, "change": self.change}


@dataclass(frozen=True, slots=True)
class ParamChanged:
    name: str  # dotted for nested parameters
    old: object
    new: object

    def text(self) -> str:
        return f"param {self.name}: {_shown(self.old)} -> {_shown(self.new)}"

    def document(self) -> dict[str, object]:
        found: dict[str, object] = {"kind": "param", "name": self.name}
        if self.old is not _UNSET:
            found["old"] = self.old
        if self.new is not _UNSET:
            found["new"] = self.new
        return found


@dataclass(frozen=True, slots=True)
class InputChanged:
    name: str
    old: str  # the pinned reference the last run recorded, or "" when it had no such input
    new: str  # the pinned reference the input resolves to now

    def text(self) -> str:
        old, new = self.old.split("#")[0], self.new.split("#")[0]
        if not self.old:
            return f"input {self.name} added: {new}"
        if old != new and old.split("@")[0] == new.split("@")[0]:
            return (
                f"input {self.name}: {new.split('@')[0]} has a new version: "
                f"{old.split('@')[1]} -> {new.split('@')[1]}"
            )
        if old != new:
            return f"input {self.name}: {old} -> {new}"
        return f"input {self.name}: {new} holds other bytes"

    def document(self) -> dict[str, object]:
        return {"kind": "input", "name": self.name, "old": self.old or None, "new": self.new}


@dataclass(frozen=True, slots=True)
class FileChanged:
    name: str
    path: str

    def text(self) -> str:
        return f"file input {self.name}: {self.path} changed"

    def document(self) -> dict[str, object]:
        return {"kind": "file", "name": self.name, "path": self.path}


@dataclass(frozen=True, slots=True)
class UpstreamOutputChanged:
    name: str
    stage: str
    output: str

    def text(self) -> str:
        return f"input {self.name}: output {self.output} of {self.stage} changed"

    def document(self) -> dict[str, object]:
        return {"kind": "upstream-output", "name": self.name, "stage": self.stage,
                "output": self.output}  # fmt: skip


@dataclass(frozen=True, slots=True)
class UpstreamNotCurrent:
    stage: str
    state: str  # stale or never run

    def text(self) -> str:
        return f"upstream {self.stage} " + (
            "was never run" if self.state == "never run" else "is stale"
        )

    def document(self) -> dict[str, object]:
        return {"kind": "upstream", "stage": self.stage, "state": self.state}


@dataclass(frozen=True, slots=True)
class Unresolved:
    """An input that names nothing now (a removed version, an emptied stage): the stage cannot
    run as it stands, whatever its last run was."""

    message: str

    def text(self) -> str:
        return self.message

    def document(self) -> dict[str, object]:
        return {"kind": "unresolved"}


@dataclass(frozen=True, slots=True)
class CommandChanged:
    """What the stage runs or writes changed: `name` is command, shell, outputs or input
    names, with the latest run's value and today's; no name where none of those differs."""

    name: str = ""
    old: object = _UNSET
    new: object = _UNSET

    def text(self) -> str:
        if not self.name:
            return "command, outputs or the way inputs are named changed"
        return f"{self.name}: {_shown(self.old)} -> {_shown(self.new)}"

    def document(self) -> dict[str, object]:
        if not self.name:
            return {"kind": "command"}
        return {"kind": "command", "name": self.name, "old": self.old, "new": self.new}


Reason = (
    CodeChanged | ParamChanged | InputChanged | FileChanged | UpstreamOutputChanged
    | UpstreamNotCurrent | CommandChanged | Unresolved
)  # fmt: skip


def param_changes(old: dict[str, object], new: dict[str, object], prefix: str = "") -> list[Reason]:
    found: list[Reason] = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, _UNSET), new.get(key, _UNSET)
        if isinstance(a, dict) and isinstance(b, dict):
            found += param_changes(a, b, f"{prefix}{key}.")
        elif a != b or type(a) is not type(b):
            found.append(ParamChanged(f"{prefix}{key}", a, b))
    return found


def code_changes(old: dict[str, str], new: dict[str, str]) -> list[Reason]:
    found: list[Reason] = []
    for path in sorted(set(old) | set(new), key=str):
        if path not in old:
            found.append(CodeChanged(path, "added"))
        elif path not in new:
            found.append(CodeChanged(path, "removed"))
        elif old[path] != new[path]:
            found.append(CodeChanged(path, "changed"))
    return found
