"""What the registry commands print: what they read, as values with a text form and a JSON document."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from strataml.refs import Kind
from strataml.registry.versionviews import DatasetVersionView, ModelVersionView

if TYPE_CHECKING:
    from strataml.registry.stages import PromotionResult, StagesAt
    from strataml.registry.stagestate import StageEvent


@dataclass(frozen=True, slots=True)
class DatasetList:
    rows: tuple[DatasetVersionView, ...]

    def text(self) -> str:
        return "".join(r.line() for r in self.rows) or "no datasets\n"

    def document(self) -> list[dict[str, object]]:
        """schemas/dataset-list.schema.json."""
        return [r.document() for r in self.rows]


@dataclass(frozen=True, slots=True)
class ModelList:
    rows: tuple[ModelVersionView, ...]

    def text(self) -> str:
        return "".join(r.line() for r in self.rows) or "no models\n"

    def document(self) -> list[dict[str, object]]:
        """schemas/model-list.schema.json."""
        return [r.document() for r in self.rows]


def show_version(root: Path, kind: Kind, ref: str) -> DatasetVersionView | ModelVersionView:
    """`strata dataset show` / `strata model show`: one version, by a reference or a name."""
    from strataml.registry import datasets, models
    from strataml.registry.resolve import resolve_as

    found = resolve_as(root, ref, kind)
    if kind == "datasets":
        return datasets.describe(root, found.name, found.version)
    return models.describe(root, found.name, found.version)


@dataclass(frozen=True, slots=True)
class StageHistory:
    """`strata model history NAME`: the transitions recorded in stages.yaml."""

    name: str
    entries: tuple[StageEvent, ...]

    def text(self) -> str:
        lines = "".join(e.text() for e in self.entries)
        return lines or f"models/{self.name}: no stage changes yet\n"

    def document(self) -> list[dict[str, object]]:
        """schemas/model-history.schema.json (the array form)."""
        return [e.document() for e in self.entries]


@dataclass(frozen=True, slots=True)
class StagesView:
    """`strata model history NAME --at WHEN`: the stages as committed at that moment."""

    name: str
    moment: dt.datetime
    found: StagesAt

    def document(self) -> dict[str, object]:
        """schemas/model-history.schema.json (the object form)."""
        state = self.found.stages
        committed = self.found.committed
        return {
            "model": self.name, "at": self.moment.isoformat(), "commit": self.found.commit,
            "committed": committed.isoformat() if committed else None,
            "production": state.production, "staging": state.staging,
            "archived": state.archived, "aliases": state.aliases,
        }  # fmt: skip

    def text(self) -> str:
        state = self.found.stages
        commit = self.found.commit
        source = (
            f"as committed in {commit[:12]} ({self.document()['committed']})"
            if commit else "no stages.yaml committed by then: every version experimental"
        )  # fmt: skip
        return (
            f"models/{self.name} at {self.moment.isoformat()}, {source}\n"
            f"  production  {state.production or '-'}\n  staging     {state.staging or '-'}\n"
            f"  archived    {', '.join(state.archived) or '-'}\n"
        )


def promotion_text(result: PromotionResult) -> str:
    """`strata model promote`: one line per stage change, then the commit that holds them."""
    moves = "".join(
        f"models/{name}@{e.version}: {e.from_stage} -> {e.to}\n" for name, e in result.entries
    )
    return moves + (f"committed {result.commit[:12]}\n" if result.commit else "")
