"""YAML as text the tools write or edit: records dumped in key order, the line of a top-level
key, one command-line value read as YAML."""

from __future__ import annotations

from typing import Any

import yaml

from strataml.yamlio import parse_yaml


def top_level_key_line(text: str, key: str) -> int | None:
    """1-based line of a top-level `key:` in block style, for in-place edits."""
    prefix = f"{key}:"
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(prefix):
            return number
    return None


class _Dumper(yaml.CSafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # records are trees; never emit anchors
        return True


def dump_yaml(data: object, *, modeline: str | None = None) -> str:
    """Block-style YAML in the given key order; `modeline` names the schema for editors."""
    body = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return (f"# yaml-language-server: $schema={modeline}\n" if modeline else "") + body


def parse_scalar(text: str) -> object:
    """A command-line value as YAML reads it: 3 -> int, 0.1 -> float, [a, b] -> list, x -> str."""
    document = parse_yaml(text.encode("utf-8"))
    if document.problems:
        raise ValueError(document.problems[0].message)
    return document.data
