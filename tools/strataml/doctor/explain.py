"""`doctor --explain CODE`: the rule itself, from what already states it (TFC-0006 R19).

What: the rule's summary. Why: the text of the TFC clause it cites. How to fix and an example:
the golden negative case that shows the rule firing, with doctor's hint. Nothing is written twice:
the clause ships with the package (tfc/ beside it, copied into wheels like the schemas); the
golden cases exist only in a checkout, so an installed package explains without an example.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from strataml.doctor.rules import RULES

_PACKAGED = Path(__file__).resolve().parents[1] / "tfc"
_SOURCE = Path(__file__).resolve().parents[3] / "tfc"
TFC_DIR = _PACKAGED.resolve() if _PACKAGED.is_dir() else _SOURCE
NEGATIVE = Path(__file__).resolve().parents[3] / "tests" / "examples" / "negative"
_FINDING = re.compile(r"^\s+\S.*: (error|warning|info) ([A-Z]{3}\d{3}) ")


@dataclass(frozen=True, slots=True)
class Clause:
    title: str
    location: str  # tfc/<file>:<line>
    text: str  # the requirement's paragraphs, without its heading and Enforced-by line


@dataclass(frozen=True, slots=True)
class Example:
    case: str
    lines: tuple[str, ...]  # the artifact heading and the finding
    hint: str | None


def explain(code: str) -> str:
    rule = RULES[code]
    clause = find_clause(rule.tfc)
    where = f' "{clause.title}" ({clause.location})' if clause else ""
    parts = [
        f"{rule.code} ({rule.name}): {rule.summary}\n"
        f"severity: {rule.severity.value}\n"
        f"defined by: {rule.tfc}{where}\n"
    ]
    if clause is not None and clause.text:
        parts.append(f"\nwhy ({rule.tfc}):\n{_indent(clause.text)}")
    example = find_example(code)
    if example is not None and example.hint:
        parts.append(f"\nhow to fix (doctor's hint in the example):\n  {example.hint}\n")
    if example is not None:
        lines = "".join(f"  {line}\n" for line in example.lines)
        parts.append(f"\nexample (tests/examples/negative/{example.case}):\n{lines}")
    return "".join(parts)


def find_clause(cited: str) -> Clause | None:
    """'TFC-0008 R4' -> its title, place and text; None when the TFCs are not at hand."""
    document, number = cited.split(" ", 1)
    for path in sorted(TFC_DIR.glob(f"{document}-*.md")):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            lines = path.read_text(encoding="utf-8").splitlines()
            for index, line in enumerate(lines):
                if line.startswith(f"### {number}. "):
                    return Clause(
                        line.removeprefix(f"### {number}. "),
                        f"tfc/{path.name}:{index + 1}",
                        _body(lines[index + 1 :]),
                    )
    return None


def _body(lines: list[str]) -> str:
    kept: list[str] = []
    for line in lines:
        if line.startswith(("#", "Enforced by:")):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def find_example(code: str) -> Example | None:
    """The golden case that shows `code` with the fewest other findings (the clearest one)."""
    found: list[tuple[int, str, Example]] = []
    for expected in sorted(NEGATIVE.glob("*/expected.txt")) if NEGATIVE.is_dir() else []:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            lines = expected.read_text(encoding="utf-8").splitlines()
            codes = [m.group(2) for line in lines if (m := _FINDING.match(line))]
            if code in codes:
                case = expected.parent.name
                found.append((len(codes), case, _example(case, lines, code)))
    return min(found, key=lambda item: item[:2])[2] if found else None


def _example(case: str, lines: list[str], code: str) -> Example:
    at = next(i for i, line in enumerate(lines) if (m := _FINDING.match(line)) and m[2] == code)
    heading = next((lines[i] for i in range(at, -1, -1) if not lines[i].startswith(" ")), None)
    hint_line = lines[at + 1] if at + 1 < len(lines) else ""
    hint = (
        hint_line.strip().removeprefix("hint: ") if hint_line.strip().startswith("hint:") else None
    )
    return Example(case, (heading, lines[at]) if heading is not None else (lines[at],), hint)


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" if line else "\n" for line in text.splitlines())
