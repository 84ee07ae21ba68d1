"""Doctor reports: text for people; json, sarif, github and gitlab for machines (TFC-0006 R8)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from itertools import groupby
from typing import Any

from strataml import tool_version
from strataml.doctor.engine import Report
from strataml.doctor.model import Diagnostic, Severity
from strataml.doctor.rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_COLORS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}


# Characters a terminal or a line-oriented reader would act on: C0/C1 controls, DEL and the
# Unicode line and paragraph separators. Hostile metadata must not drive the user's terminal.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _visible(text: str) -> str:
    """One line, no control characters: each shown as its Python escape (\\x1b, \\n)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 or word == "info" else f"{n} {word}s"


def _group(d: Diagnostic) -> str:
    parts = d.path.split("/")
    if parts[0] in {"datasets", "models"} and len(parts) >= 4:
        return "/".join(parts[:3])  # a version directory
    if parts[0] == "models" and len(parts) == 3:
        return "/".join(parts[:2])  # models/<name>/stages.yaml
    if parts[0] in {"datasets", "models"} and len(parts) == 3:
        return "/".join(parts[:3])
    if parts[0] == "runs" and len(parts) >= 2:
        return "/".join(parts[:2])
    return "repository"


def format_text(report: Report, *, color: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    out: list[str] = []
    ordered = sorted(
        report.diagnostics, key=lambda d: (_group(d) == "repository", _group(d), d.sort_key())
    )
    for group, items in groupby(ordered, key=_group):
        out.append(paint(_visible(group), "1"))
        for d in items:
            shown = _visible(d.path if group == "repository" else d.path[len(group) + 1 :])
            where = f"{shown}:{d.line}: " if d.line else f"{shown}: " if shown else ""
            out.append(
                f"  {where}{paint(d.severity.value, _COLORS[d.severity])} {d.code} {_visible(d.message)}"
            )
            if d.hint:
                out.append(f"    hint: {_visible(d.hint)}")
        out.append("")
    verdict = paint("FAILED", "31;1") if report.failed else paint("OK", "32;1")
    counts = ", ".join(
        _plural(report.count(s), w)
        for s, w in (
            (Severity.ERROR, "error"),
            (Severity.WARNING, "warning"),
            (Severity.INFO, "info"),
        )
    )
    scope = "" if report.target == "." else f" under {report.target}"
    if report.since is not None:
        scope += f" (of {report.artifacts_total}; only those changed since {report.since})"
    if report.changed:
        scope += f" (of {report.artifacts_total}; only those the changed files touch)"
    strict = " (strict)" if report.strict else ""
    out.append(
        f"{verdict}{strict}: {counts}; {_plural(report.artifacts, 'artifact')} checked{scope}, {_plural(report.files_hashed, 'file')} hashed"
    )
    return "\n".join(out) + "\n"


def _diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    rule = RULES[d.code]
    return {
        "code": d.code,
        "rule": rule.name,
        "tfc": rule.tfc,
        "severity": d.severity.value,
        "path": d.path,
        "line": d.line,
        "message": d.message,
        "hint": d.hint,
    }


def report_document(report: Report) -> dict[str, Any]:
    """schemas/doctor-report.schema.json."""
    return {
        "schema_version": 1,
        "tool": {"name": "strataml", "version": tool_version()},
        "target": report.target,
        "strict": report.strict,
        "exit_code": report.exit_code,
        "summary": {
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "info": report.count(Severity.INFO),
            "artifacts": report.artifacts,
            "files_hashed": report.files_hashed,
        },
        "diagnostics": [_diagnostic_json(d) for d in report.diagnostics],
    }


def format_json(report: Report, *, color: bool = False) -> str:
    document = report_document(report)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def format_sarif(report: Report, *, color: bool = False) -> str:
    codes = sorted(RULES)
    rules = [
        {
            "id": code,
            "name": RULES[code].name,
            "shortDescription": {"text": RULES[code].summary},
            "defaultConfiguration": {"level": _SARIF_LEVEL[RULES[code].severity]},
            "properties": {"tfc": RULES[code].tfc},
        }
        for code in codes
    ]
    results = []
    for d in report.diagnostics:
        location: dict[str, Any] = {"artifactLocation": {"uri": d.path, "uriBaseId": "%SRCROOT%"}}
        if d.line:
            location["region"] = {"startLine": d.line}
        text = f"{d.message} (hint: {d.hint})" if d.hint else d.message
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": codes.index(d.code),
                "level": _SARIF_LEVEL[d.severity],
                "message": {"text": text},
                "locations": [{"physicalLocation": location}],
            }
        )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "strataml", "version": tool_version(), "rules": rules}},
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: Report, *, color: bool = False) -> str:
    lines = []
    for d in report.diagnostics:
        props = [f"file={_escape_property(_visible(d.path))}"]
        if d.line:
            props.append(f"line={d.line}")
        props.append(f"title={_escape_property(d.code)}")
        text = f"{d.message} (hint: {d.hint})" if d.hint else d.message
        lines.append(
            f"::{_GITHUB_COMMAND[d.severity]} {','.join(props)}::{_escape_data(_visible(text))}"
        )
    return "".join(line + "\n" for line in lines)


# GitLab Code Quality: a JSON array of CodeClimate issues with the fields GitLab reads
# (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format).
_GITLAB_SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def format_gitlab(report: Report, *, color: bool = False) -> str:
    issues = []
    for d in report.diagnostics:
        # surrogatepass: any str hashes, even one with lone surrogates from hostile input
        identity = "\0".join((d.code, d.path, str(d.line or 0), d.message)).encode(
            "utf-8", "surrogatepass"
        )
        issues.append(
            {
                "check_name": d.code,
                "description": f"{d.message} (hint: {d.hint})" if d.hint else d.message,
                "fingerprint": hashlib.sha256(identity).hexdigest(),
                "location": {"lines": {"begin": d.line or 1}, "path": d.path},
                "severity": _GITLAB_SEVERITY[d.severity],
            }
        )
    return json.dumps(issues, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


Reporter = Callable[..., str]
REPORTERS: dict[str, Reporter] = {
    "text": format_text,
    "json": format_json,
    "sarif": format_sarif,
    "github": format_github,
    "gitlab": format_gitlab,
}
