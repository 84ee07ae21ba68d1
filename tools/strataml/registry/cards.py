"""Model cards: Mitchell et al. sections under Hugging Face-compatible front matter (TFC-0005 R6)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from strataml.jsonio import as_number
from strataml.yamlio import parse_yaml
from strataml.yamltext import dump_yaml

CARD_SECTIONS = (
    "Model Details",
    "Intended Use",
    "Factors",
    "Metrics",
    "Evaluation Data",
    "Training Data",
    "Quantitative Analyses",
    "Ethical Considerations",
    "Caveats and Recommendations",
)
PLACEHOLDER = "_To be written._"
# Our relations in Hugging Face's base_model_relation vocabulary, where it has one.
HF_RELATIONS = {"fine-tune": "finetune", "quantize": "quantized", "merge": "merge"}
_HEADING = re.compile(r"^## +(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Card:
    front_matter: dict[str, Any] | None  # None: no front matter, or it does not parse
    sections: dict[str, str]  # level-2 heading -> body, stripped
    problem: tuple[int, str] | None = None  # (card line, message): front matter that does not parse


def parse_card(text: str) -> Card:
    front: dict[str, Any] | None = None
    problem: tuple[int, str] | None = None
    body = text
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            document = parse_yaml(text[4 : end + 1].encode("utf-8"))
            if document.ok and isinstance(document.data, dict):
                front = document.data
            elif not document.ok:
                first = document.problems[0]
                problem = ((first.line or 1) + 1, first.message)  # + the opening ---
            body = text[end + 5 :]
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in body.splitlines():
        match = _HEADING.match(line)
        if match:
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current, lines = match.group(1), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return Card(front, sections, problem)


def section_written(card: Card, section: str) -> bool:
    body = card.sections.get(section, "")
    return bool(body) and body != PLACEHOLDER


def unwritten_sections(text: str) -> list[tuple[str, int]]:
    """(section, line of its heading) for each level-2 section of a card or datasheet that
    holds only the placeholder the writers put in (TFC-0004 R6, TFC-0005 R6)."""
    headings: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADING.match(line)
        if match:
            headings.setdefault(match.group(1), number)
    sections = parse_card(text).sections.items()
    return [(name, headings.get(name, 1)) for name, body in sections if body == PLACEHOLDER]


def front_matter(metadata: dict[str, Any], metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """What the card's front matter must say, from the version's metadata and metrics."""
    training = metadata.get("training") or {}
    datasets = [ref.split("#", 1)[0] for ref in training.get("datasets", [])]
    parents = (metadata.get("lineage") or {}).get("parents", [])
    front: dict[str, Any] = {"license": str(metadata["license"]).lower()}
    if datasets:
        front["datasets"] = datasets
    front["tags"] = ["strataml", str(metadata.get("task", ""))]
    if parents:
        bases = [p["ref"].split("#", 1)[0] for p in parents]
        front["base_model"] = bases[0] if len(bases) == 1 else bases
        relations = {HF_RELATIONS.get(p["relation"]) for p in parents}
        if len(relations) == 1 and None not in relations:
            front["base_model_relation"] = relations.pop()
    results = [
        {
            "task": {"type": str(metadata.get("task", "unknown"))},
            "dataset": {
                "name": entry["dataset"].split("#", 1)[0],
                "type": entry["dataset"].split("#", 1)[0],
                "split": entry["split"],
            },
            "metrics": [{"type": entry["name"], "value": entry["value"], "name": entry["name"]}],
        }
        for entry in metrics
    ]
    if results:
        front["model-index"] = [
            {"name": f"{metadata['name']}@{metadata['version']}", "results": results}
        ]
    return front


def _number_text(value: object) -> str:
    number = as_number(value)  # NaN, an infinity or a huge integer is shown as it is
    return f"{number:.6g}" if number is not None else str(value)


def render_card(
    metadata: dict[str, Any], metrics: list[dict[str, Any]], sections: dict[str, str] | None = None
) -> str:
    """card.md: front matter, then every section; `sections` keeps text people already wrote."""
    written = dict(sections or {})
    training = metadata.get("training") or {}
    details = [
        f"- **Name and version:** `models/{metadata['name']}@{metadata['version']}`",
        f"- **Framework:** {metadata.get('framework')}; **task:** {metadata.get('task')}",
        f"- **Licence:** {metadata.get('license')}",
        f"- **Created:** {metadata.get('created')}, by run `{training.get('run')}`",
    ]
    for parent in (metadata.get("lineage") or {}).get("parents", []):
        details.append(
            f"- **Derived from:** `{parent['ref'].split('#', 1)[0]}` ({parent['relation']})"
        )
    table = ["| Metric | Value | Dataset | Split |", "|---|---|---|---|"] + [
        f"| {m['name']} | {_number_text(m['value'])} | `{m['dataset'].split('#', 1)[0]}` | {m['split']} |"
        for m in metrics
    ]
    generated = {
        "Model Details": "\n".join(details),
        "Metrics": "\n".join(table),
        "Training Data": "\n".join(f"- `{ref}`" for ref in training.get("datasets", []))
        or PLACEHOLDER,
        "Evaluation Data": "\n".join(
            sorted({f"- `{m['dataset'].split('#', 1)[0]}`, split `{m['split']}`" for m in metrics})
        )
        or PLACEHOLDER,
    }
    lines = ["---", dump_yaml(front_matter(metadata, metrics)).rstrip("\n"), "---", ""]
    lines += [
        f"# {metadata['name']} {metadata['version']}",
        "",
        str(metadata.get("description", "")),
    ]
    for section in CARD_SECTIONS:
        body = written.get(section) or generated.get(section) or PLACEHOLDER
        lines += ["", f"## {section}", "", body]
    return "\n".join(lines) + "\n"
