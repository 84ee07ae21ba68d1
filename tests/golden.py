"""Golden doctor cases: a directory with case.yaml (steps applied to a copy of a base) and expected.txt."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conftest import EXAMPLES, copy_tree


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
        elif op == "pad":  # append copies of a line until the file holds `to` bytes or more
            target, line = repo / arg["path"], arg["text"].encode("utf-8")
            missing = arg["to"] - target.stat().st_size
            with target.open("ab") as handle:
                handle.write(line * -(-missing // len(line)))
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
        elif op == "copy":
            shutil.copytree(repo / arg["path"], repo / arg["to"], symlinks=True)
        elif op == "json_set":
            target = repo / arg["path"]
            document = json.loads(target.read_text(encoding="utf-8"))
            for dotted, value in arg["values"].items():
                *parents, key = dotted.split(".")
                node = document
                for parent in parents:
                    node = node[parent]
                node[key] = _token(value)
            target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")
        elif op == "restamp":  # what `strata checksum` does after an edit
            from strataml.integrity.stamp import stamp_directory

            stamp_directory(repo / arg)
        elif op == "fixture":  # a file from tests/examples/fixtures/
            target = repo / arg["to"]
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("ab" if arg.get("append") else "wb") as handle:
                handle.write((EXAMPLES / "fixtures" / arg["from"]).read_bytes())
        elif op == "git":
            _git(repo, arg)
        elif op == "sibling":  # another repository beside this one (a federation member), committed
            other = repo.parent / arg["name"]
            copy_tree(EXAMPLES / arg.get("base", "base"), other)
            apply_steps(other, arg.get("steps", []))
            _git(other, "commit")
        elif op == "git_force_add":  # what `git add -f` does with an ignored path
            subprocess.run(["git", "add", "-f", "--", arg], cwd=repo, check=True)
        else:
            raise ValueError(f"unknown step {op!r}")


def _token(value: Any) -> Any:
    """Values that depend on the machine running the case: this host, this process, now."""
    if value == "$HOSTNAME":
        return socket.gethostname()
    if value == "$PID":
        return os.getpid()
    if value == "$NOW":
        return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    return value


def _git(repo: Path, action: str) -> None:
    """'commit': make the tree a Git repository with one commit; 'shallow': and mark it shallow."""

    fixed = "2026-11-25T10:00:00+00:00"  # fixed dates: the same commit ids on every machine
    env = {**os.environ, "GIT_AUTHOR_DATE": fixed, "GIT_COMMITTER_DATE": fixed}

    def run(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env
        ).stdout

    if not (repo / ".git").exists():
        run("init", "-q", "-b", "main")
    if action == "stage":  # into the index only, with no commit yet
        run("add", "-A")
        return
    if action == "lfs-commit":  # with git-lfs's filters, as `git lfs install` sets them up
        run("lfs", "install", "--local")
    run("add", "-A")
    run("commit", "-q", "-m", "golden case")
    if action == "shallow":  # what `git clone --depth 1` leaves: history cut at HEAD
        (repo / ".git" / "shallow").write_text(run("rev-parse", "HEAD"), encoding="utf-8")
    elif action not in ("commit", "lfs-commit"):
        raise ValueError(f"unknown git step {action!r}")
