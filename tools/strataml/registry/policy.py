"""Promotion policy as code: what a model version needs to hold a stage (TFC-0005 R10)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml.errors import StrataError
from strataml.registry.cards import parse_card, section_written
from strataml.registry.store import load_mapping
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES

STAGES = ("staging", "production")


@dataclass(frozen=True)
class MetricRule:
    name: str
    dataset: str  # datasets/<name>@v<N>, unpinned
    split: str
    minimum: float | None
    maximum: float | None

    def describe(self) -> str:
        bounds = []
        if self.minimum is not None:
            bounds.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        return f"{self.name} on {self.dataset} {self.split} {' and '.join(bounds)}"


@dataclass(frozen=True)
class StagePolicy:
    card_sections: tuple[str, ...] = ()
    metrics: tuple[MetricRule, ...] = ()
    signatures: int = 0  # distinct trusted signers; checked with the signatures (SIG009)


@dataclass(frozen=True)
class Violation:
    kind: str  # "card-section" or "metric"
    path: str  # repo-relative file at fault
    message: str


def load_policy(table: dict[str, Any]) -> dict[str, StagePolicy]:
    """[tool.strataml.policy] (already schema-valid) as one StagePolicy per stage."""
    policies = {}
    for stage in STAGES:
        entry = table.get(stage)
        if not isinstance(entry, dict):
            continue
        policies[stage] = StagePolicy(
            tuple(entry.get("card-sections", ())),
            tuple(
                MetricRule(m["name"], m["dataset"], m["split"], m.get("min"), m.get("max"))
                for m in entry.get("metrics", ())
            ),
            int(entry.get("signatures", 0)),
        )
    return policies


def evaluate(root: Path, name: str, version: str, policy: StagePolicy) -> list[Violation]:
    """Everything `models/<name>/<version>` lacks for a stage with this policy."""
    directory = f"models/{name}/{version}"
    violations: list[Violation] = []
    if policy.card_sections:
        try:
            text = read_regular(root / directory / "card.md", 16 * MAX_BYTES).decode(
                "utf-8", "replace"
            )
        except OSError:
            text = ""
        card = parse_card(text)
        for section in policy.card_sections:
            if not section_written(card, section):
                violations.append(
                    Violation(
                        "card-section",
                        f"{directory}/card.md",
                        f"card section {section!r} is missing or not written",
                    )
                )
    if policy.metrics:
        try:
            entries = load_mapping(root / directory / "metrics.yaml").get("metrics")
        except StrataError:
            entries = None
        reported = {
            (e.get("name"), str(e.get("dataset", "")).split("#", 1)[0], e.get("split")): e.get(
                "value"
            )
            for e in (entries if isinstance(entries, list) else [])
            if isinstance(e, dict)
        }
        for rule in policy.metrics:
            value = reported.get((rule.name, rule.dataset, rule.split))
            at = f"{directory}/metrics.yaml"
            if isinstance(value, bool) or not isinstance(value, int | float):
                violations.append(
                    Violation(
                        "metric",
                        at,
                        f"reports no {rule.name} on {rule.dataset} {rule.split}; policy needs {rule.describe()}",
                    )
                )
            elif (rule.minimum is not None and value < rule.minimum) or (
                rule.maximum is not None and value > rule.maximum
            ):
                violations.append(
                    Violation(
                        "metric",
                        at,
                        f"{rule.name} on {rule.dataset} {rule.split} is {value:g}; policy needs {rule.describe()}",
                    )
                )
    return violations
