"""The state of a model's stages and the transition table, with no I/O (TFC-0005 R8, R9)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml import schemas
from strataml.jsonio import as_list, as_mapping
from strataml.refs import version_key
from strataml.registry.store import RegistryError, load_mapping

STAGES = ("experimental", "staging", "production", "archived")
RESERVED_ALIASES = frozenset({*STAGES, "latest"})


def is_reserved_alias(alias: str) -> bool:
    """A stage name, `latest`, or a version's spelling (`v` and a digit): a reference
    `@<alias>` would be read as that instead (TFC-0005 R8)."""
    return alias in RESERVED_ALIASES or (alias[:1] == "v" and alias[1:2].isdigit())


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


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a promotion rested on: a history entry's `evidence` (TFC-0005 R8)."""

    run: str | None = None
    metrics: tuple[tuple[str, float], ...] | None = None  # "<dataset>:<split>/<name>" -> value
    checksums: str | None = None  # blake3: of the version's CHECKSUMS.txt

    def document(self) -> dict[str, object]:
        found: dict[str, object] = {}
        if self.run is not None:
            found["run"] = self.run
        if self.metrics is not None:
            found["metrics"] = dict(self.metrics)
        if self.checksums is not None:
            found["checksums"] = self.checksums
        return found

    @classmethod
    def from_document(cls, data: Mapping[str, Any]) -> Evidence:
        metrics = data.get("metrics")
        return cls(
            data.get("run"),
            None if metrics is None else tuple(metrics.items()),
            data.get("checksums"),
        )


@dataclass(frozen=True, slots=True)
class StageEvent:
    """One entry of stages.yaml `history`: a version moved from one stage to another."""

    version: str
    from_stage: str
    to: str
    at: str  # RFC 3339, as written
    by: str
    reason: str
    evidence: Evidence | None = None

    def text(self) -> str:
        return f"{self.at}  {self.version}  {self.from_stage} -> {self.to}  by {self.by}: {self.reason}\n"

    def document(self) -> dict[str, object]:
        """An item of stages.yaml `history` (schemas/stages.schema.json), in the order written."""
        entry: dict[str, object] = {
            "version": self.version, "from": self.from_stage, "to": self.to, "at": self.at,
            "by": self.by, "reason": self.reason,
        }  # fmt: skip
        if self.evidence is not None:
            entry["evidence"] = self.evidence.document()
        return entry

    @classmethod
    def from_document(cls, entry: Mapping[str, Any]) -> StageEvent:
        """An entry of a stages.yaml that passed the stages schema."""
        evidence = entry.get("evidence")
        return cls(
            entry["version"], entry["from"], entry["to"], entry["at"], entry["by"], entry["reason"],
            None if evidence is None else Evidence.from_document(evidence),
        )  # fmt: skip


@dataclass
class Stages:
    production: str | None = None
    staging: str | None = None
    archived: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    history: list[StageEvent] = field(default_factory=list)

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

    def document(self) -> dict[str, object]:
        return {
            "schema_version": 1,
            "production": self.production,
            "staging": self.staging,
            "archived": self.archived,
            "aliases": dict(sorted(self.aliases.items())),
            "history": [event.document() for event in self.history],
        }

    @classmethod
    def from_document(cls, data: dict[str, Any], *, history: bool = True) -> Stages:
        """The stages of a schema-valid stages.yaml; `history=False` reads only where each
        version stands, from a document no schema has passed (an old commit's)."""
        # Versions are strings; in an unchecked document anything else stands for none.
        return cls(
            _version(data.get("production")),
            _version(data.get("staging")),
            [v for v in as_list(data.get("archived")) if isinstance(v, str)],
            {str(a): v for a, v in as_mapping(data.get("aliases")).items() if isinstance(v, str)},
            [StageEvent.from_document(e) for e in data.get("history") or []] if history else [],
        )


def _version(value: object) -> str | None:
    return value if isinstance(value, str) else None


STAGES_FILE = "stages.yaml"


def stages_path(name: str) -> str:
    return f"models/{name}/{STAGES_FILE}"


def load_stages(root: Path, name: str) -> Stages:
    """The current stages of a model; a missing file means every version is experimental."""
    path = root / stages_path(name)
    if not path.exists():
        return Stages()
    data = load_mapping(path)
    problems = schemas.validate("stages", data)
    if (
        problems
        or isinstance(data.get("production"), list)
        or isinstance(data.get("staging"), list)
    ):
        detail = problems[0].message if problems else "more than one version in one stage"
        raise RegistryError(
            f"{stages_path(name)}: {detail}; fix it first (`strata doctor {stages_path(name)}`)"
        )
    return Stages.from_document(data)
