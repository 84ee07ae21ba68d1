"""The state of a model's stages and the transition table, with no I/O (TFC-0005 R8, R9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strataml.refs import version_key

STAGES = ("experimental", "staging", "production", "archived")
RESERVED_ALIASES = frozenset({*STAGES, "latest"})
# (from, to) -> None: allowed; "override": needs --override; missing: refused (TFC-0005 R9).
TRANSITIONS: dict[tuple[str, str], str | None] = {
    ("experimental", "staging"): None,
    ("experimental", "production"): None,
    ("experimental", "archived"): None,
    ("staging", "experimental"): None,
    ("staging", "production"): None,
    ("staging", "archived"): None,
    ("production", "staging"): None,
    ("production", "archived"): None,
    ("archived", "staging"): None,
    ("archived", "production"): "override",
}


@dataclass
class Stages:
    production: str | None = None
    staging: str | None = None
    archived: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    def stage_of(self, version: str) -> str:
        if self.production == version:
            return "production"
        if self.staging == version:
            return "staging"
        if version in self.archived:
            return "archived"
        return "experimental"

    def move(self, version: str, to: str) -> None:
        """Take `version` out of its stage and put it in `to` (no history; the caller writes it)."""
        if self.production == version:
            self.production = None
        if self.staging == version:
            self.staging = None
        self.archived = [v for v in self.archived if v != version]
        if to == "production":
            self.production = version
        elif to == "staging":
            self.staging = version
        elif to == "archived":
            self.archived = sorted([*self.archived, version], key=version_key)

    def document(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "production": self.production,
            "staging": self.staging,
            "archived": self.archived,
            "aliases": dict(sorted(self.aliases.items())),
            "history": self.history,
        }

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> Stages:
        return cls(
            data.get("production"),
            data.get("staging"),
            list(data.get("archived") or []),
            dict(data.get("aliases") or {}),
            list(data.get("history") or []),
        )
