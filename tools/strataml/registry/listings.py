"""What the registry commands print: what they read, as values with a text form and a JSON document."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strataml.refs import Kind

if TYPE_CHECKING:
    from strataml.registry.stages import PromotionResult, StagesAt
    from strataml.registry.stagestate import StageEvent


@dataclass(frozen=True)
class DatasetList:
    rows: tuple[dict[str, Any], ...]

    def text(self) -> str:
        return "".join(_dataset_line(r) for r in self.rows) or "no datasets\n"

    def document(self) -> list[dict[str, Any]]:
        """schemas/dataset-list.schema.json."""
        return list(self.rows)


def _dataset_line(row: dict[str, Any]) -> str:
    splits = ", ".join(f"{k}={v.get('files', '?')}" for k, v in (row.get("splits") or {}).items())
    problem = f"  PROBLEM {row['problem']}" if "problem" in row else ""
    return f"{row['ref']}  {row.get('license', '?')}  {splits}{problem}\n"


@dataclass(frozen=True)
class ModelList:
    rows: tuple[dict[str, Any], ...]

    def text(self) -> str:
        return "".join(_model_line(r) for r in self.rows) or "no models\n"

    def document(self) -> list[dict[str, Any]]:
        """schemas/model-list.schema.json."""
        return list(self.rows)


def _model_line(row: dict[str, Any]) -> str:
    metrics = " ".join(f"{m['split']}/{m['name']}={m['value']:.4g}" for m in row.get("metrics", []))
    return f"{row['ref']}  {row.get('stage', '?')}  {row.get('task', '?')}  {metrics}\n"


@dataclass(frozen=True)
class VersionView:
    """`strata dataset show` / `strata model show`: one version's describe() row."""

    kind: Kind
    row: dict[str, Any]

    def text(self) -> str:
        if self.kind == "models":
            return model_text(self.row)
        return "".join(f"{key:<13} {_scalar(value)}\n" for key, value in self.row.items())

    def document(self) -> dict[str, Any]:
        """schemas/dataset-show.schema.json or schemas/model-show.schema.json."""
        return self.row


def show_version(root: Path, kind: Kind, ref: str) -> VersionView:
    from strataml.registry import datasets, models, store

    found = store.existing(root, store.parse_ref(ref, kind, name_only_ok=True))
    describe = datasets.describe if kind == "datasets" else models.describe
    return VersionView(kind, describe(root, found.name, found.version))


def model_text(row: dict[str, Any]) -> str:
    """`strata model show`: what a reader asks first; `--format json` holds everything."""
    if "problem" in row:
        return f"{row['ref']}  PROBLEM {row['problem']}\n"
    facts = [row.get("task"), row.get("framework"), row.get("license")]
    about = ", ".join(str(f) for f in facts if f) + (
        f"; created {row['created']}" if row.get("created") else ""
    )
    training = _mapping(row.get("training"))
    inputs = [str(d).split("#", 1)[0] for d in training.get("datasets") or []]
    lineage = _mapping(row.get("lineage"))
    parents = [
        f"{str(p.get('ref', '?')).split('#', 1)[0]} ({p.get('relation', '?')})"
        for p in lineage.get("parents") or []
        if isinstance(p, dict)
    ]
    metrics = [
        f"{m.get('split')}/{m.get('name')}={m['value']:.4g}"
        for m in row.get("metrics") or []
        if isinstance(m, dict) and isinstance(m.get("value"), int | float)
    ]
    lines = [
        f"{row['ref']}  {row.get('stage') or 'experimental'}",
        f"  {about}" if about else None,
        f"  {row['description']}" if row.get("description") else None,
        f"  trained by   runs/{training['run']}" if training.get("run") else None,
        f"  on           {', '.join(inputs)}" if inputs else None,
        f"  parents      {', '.join(parents)}" if parents else None,
        f"  metrics      {'  '.join(metrics) or '-'}",
        f"  content      {row.get('content_hash') or '-'}",
    ]
    return "".join(f"{line}\n" for line in lines if line is not None)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _scalar(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class StagesView:
    """`strata model history NAME --at WHEN`: the stages as committed at that moment."""

    name: str
    moment: dt.datetime
    found: StagesAt

    def document(self) -> dict[str, Any]:
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
