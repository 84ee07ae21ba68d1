"""What `strata dataset` and `strata model` show of one version: its metadata as read, with the
list line, the text of `show` and the JSON document (TFC-0004, TFC-0005). Read-only."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strataml.jsonio import as_list, as_number

# Values copied from metadata.yaml are as the file holds them (`object`): a version is listed
# and shown before doctor has passed it, so a field may be missing (None) or of any type.


@dataclass(frozen=True, slots=True)
class DatasetVersionView:
    ref: str  # datasets/<name>@<version>
    path: str
    problem: str | None = None  # metadata.yaml does not read: the version is listed all the same
    description: object = None
    license: object = None
    created: object = None
    content_hash: object = None
    splits: Mapping[str, Any] = field(default_factory=dict)  # {} unless metadata has a mapping
    provenance: object = None

    def document(self) -> dict[str, object]:
        """An item of schemas/dataset-list.schema.json; schemas/dataset-show.schema.json."""
        if self.problem is not None:
            return {"ref": self.ref, "path": self.path, "problem": self.problem}
        return {
            "ref": self.ref, "path": self.path, "description": self.description,
            "license": self.license, "created": self.created, "content_hash": self.content_hash,
            "splits": self.splits, "provenance": self.provenance,
        }  # fmt: skip

    def text(self) -> str:
        """`strata dataset show`: one field a line, tables as JSON."""
        return "".join(f"{key:<13} {_scalar(value)}\n" for key, value in self.document().items())

    def line(self) -> str:
        """`strata dataset list`: ref, licence, files per split."""
        splits = ", ".join(
            f"{k}={v.get('files', '?') if isinstance(v, dict) else '?'}"
            for k, v in self.splits.items()
        )
        if self.problem is not None:
            return f"{self.ref}  ?  {splits}  PROBLEM {self.problem}\n"
        return f"{self.ref}  {self.license}  {splits}\n"


@dataclass(frozen=True, slots=True)
class ModelVersionView:
    ref: str  # models/<name>@<version>
    path: str
    problem: str | None = None  # metadata.yaml does not read: the version is listed all the same
    stage: str = "experimental"
    description: object = None
    framework: object = None
    task: object = None
    license: object = None
    created: object = None
    content_hash: object = None
    training: object = None
    lineage: object = None
    metrics: tuple[Any, ...] = ()  # metrics.yaml `metrics`, () unless it is a list

    def document(self) -> dict[str, object]:
        """An item of schemas/model-list.schema.json; schemas/model-show.schema.json."""
        if self.problem is not None:
            return {"ref": self.ref, "path": self.path, "problem": self.problem}
        return {
            "ref": self.ref, "path": self.path, "stage": self.stage,
            "description": self.description, "framework": self.framework, "task": self.task,
            "license": self.license, "created": self.created, "content_hash": self.content_hash,
            "training": self.training, "lineage": self.lineage, "metrics": list(self.metrics),
        }  # fmt: skip

    def line(self) -> str:
        """`strata model list`: ref, stage, task, metrics."""
        if self.problem is not None:
            return f"{self.ref}  ?  ?  \n"
        metrics = " ".join(_metric_texts(self.metrics))
        return f"{self.ref}  {self.stage}  {self.task}  {metrics}\n"

    def text(self) -> str:
        """`strata model show`: what a reader asks first; `--format json` holds everything."""
        if self.problem is not None:
            return f"{self.ref}  PROBLEM {self.problem}\n"
        facts = [self.task, self.framework, self.license]
        about = ", ".join(str(f) for f in facts if f) + (
            f"; created {self.created}" if self.created else ""
        )
        training = _mapping(self.training)
        inputs = [str(d).split("#", 1)[0] for d in as_list(training.get("datasets"))]
        parents = [
            f"{str(p.get('ref', '?')).split('#', 1)[0]} ({p.get('relation', '?')})"
            for p in as_list(_mapping(self.lineage).get("parents"))
            if isinstance(p, dict)
        ]
        metrics = _metric_texts(self.metrics)
        lines = [
            f"{self.ref}  {self.stage or 'experimental'}",
            f"  {about}" if about else None,
            f"  {self.description}" if self.description else None,
            f"  trained by   runs/{training['run']}" if training.get("run") else None,
            f"  on           {', '.join(inputs)}" if inputs else None,
            f"  parents      {', '.join(parents)}" if parents else None,
            f"  metrics      {'  '.join(metrics) or '-'}",
            f"  content      {self.content_hash or '-'}",
        ]
        return "".join(f"{line}\n" for line in lines if line is not None)


def _metric_texts(metrics: tuple[Any, ...]) -> list[str]:
    """split/name=value of each entry with a number for a value; metrics.yaml as read may hold
    anything (doctor reports what its schema does not allow)."""
    return [
        f"{m.get('split')}/{m.get('name')}={value:.4g}"
        for m in metrics
        if isinstance(m, dict) and (value := as_number(m.get("value"))) is not None
    ]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _scalar(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value
