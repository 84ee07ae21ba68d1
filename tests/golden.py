"""Golden doctor cases: a directory with case.yaml (steps applied to a copy of a base) and expected.txt."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conftest import EXAMPLES


@dataclass(frozen=True)
class Case:
    directory: Path
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.directory.parent.name}/{self.directory.name}"

    @property
    def expected(self) -> Path:
        return self.directory / "expected.txt"


def load_cases(kind: str) -> list[Case]:
    root = EXAMPLES / kind
    return [
        Case(d, yaml.safe_load((d / "case.yaml").read_text()))
        for d in sorted(root.iterdir())
        if d.is_dir()
    ]


def apply_steps(repo: Path, steps: list[dict[str, Any]]) -> None:
    for step in steps:
        ((op, arg),) = step.items()
        if op == "write":
            target = repo / arg["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            if "bytes_hex" in arg:
                target.write_bytes(bytes.fromhex(arg["bytes_hex"]))
            else:
                target.write_bytes(arg["text"].encode("utf-8"))
        elif op == "append":
            with (repo / arg["path"]).open("ab") as handle:
                handle.write(arg["text"].encode("utf-8"))
        elif op == "replace":
            target = repo / arg["path"]
            text = target.read_bytes().decode("utf-8")
            assert arg["old"] in text, f"{arg['old']!r} not in {arg['path']}"
            target.write_bytes(
                text.replace(arg["old"], arg["new"], arg.get("count", 1)).encode("utf-8")
            )
        elif op == "flip":
            target = repo / arg["path"]
            data = bytearray(target.read_bytes())
            data[arg.get("offset", 0)] ^= 0x01
            target.write_bytes(bytes(data))
        elif op == "delete":
            target = repo / arg
            if target.is_dir() and not target.is_symlink():
                import shutil

                shutil.rmtree(target)
            else:
                target.unlink()
        elif op == "rename":
            (repo / arg["path"]).rename(repo / arg["to"])
        elif op == "mkdir":
            (repo / arg).mkdir(parents=True)
        elif op == "symlink":
            link = repo / arg["path"]
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(arg["target"])
        elif op == "fifo":
            os.mkfifo(repo / arg)
        else:
            raise ValueError(f"unknown step {op!r}")
