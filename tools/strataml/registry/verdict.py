"""Judge a reproduction against the run it re-executed: PASS, DRIFT or FAIL (TFC-0002 R13, R14)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PASS, DRIFT, FAIL = "PASS", "DRIFT", "FAIL"
EXIT_CODES = {PASS: 0, DRIFT: 0, FAIL: 1}
_SHOWN_PACKAGES = 10  # the report lists this many package differences; the verdict file all


@dataclass(frozen=True, slots=True)
class Tolerance:
    abs: float
    rel: float

    def allows(self, recorded: float, reproduced: float) -> bool:
        return math.fabs(reproduced - recorded) <= max(self.abs, self.rel * math.fabs(recorded))

    def __str__(self) -> str:
        return f"abs {self.abs:g}, rel {self.rel:g}"


DEFAULT_TOLERANCE = Tolerance(1e-9, 1e-9)  # exact up to float noise (math.isclose's rel_tol)


@dataclass(frozen=True, slots=True)
class Tolerances:
    source: str  # the experiment file or run record they were read from, or "default"
    default: Tolerance
    metrics: tuple[tuple[str, Tolerance], ...]

    def of(self, metric: str) -> Tolerance:
        return dict(self.metrics).get(metric, self.default)


def read_tolerances(spec: dict[str, Any], source: str) -> Tolerances:
    """`reproduce.tolerance` of an experiment spec: `default` and per-metric {abs, rel} or a number."""
    table = spec.get("reproduce", {}).get("tolerance", {})
    if not table:
        return Tolerances("default", DEFAULT_TOLERANCE, ())

    def one(value: float | dict[str, float]) -> Tolerance:
        if isinstance(value, dict):
            return Tolerance(float(value.get("abs", 0)), float(value.get("rel", 0)))
        return Tolerance(float(value), 0.0)

    default = one(table["default"]) if "default" in table else DEFAULT_TOLERANCE
    metrics = tuple(sorted((k, one(v)) for k, v in table.items() if k != "default"))
    return Tolerances(source, default, metrics)


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: str  # PASS, DRIFT, FAIL
    reasons: tuple[str, ...]
    document: dict[str, Any]  # reproduction.json (schemas/run-reproduction.schema.json)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]


def compare_metrics(
    recorded: dict[str, Any], reproduced: dict[str, Any], tolerances: Tolerances
) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for name in sorted(recorded):
        old, new, tolerance = recorded[name], reproduced.get(name), tolerances.of(name)
        if isinstance(new, bool) or not isinstance(new, (int, float)):
            new = None  # not reported (metrics.json holds numbers only)
        rows[name] = {
            "recorded": old,
            "reproduced": new,
            "delta": None if new is None else new - old,
            "tolerance": {"abs": tolerance.abs, "rel": tolerance.rel},
            "within": new is not None and tolerance.allows(old, new),
        }
    return rows


def compare_packages(recorded: dict[str, str], now: dict[str, str]) -> dict[str, Any]:
    return {
        "added": {n: now[n] for n in sorted(now.keys() - recorded.keys())},
        "removed": {n: recorded[n] for n in sorted(recorded.keys() - now.keys())},
        "changed": {
            n: {"recorded": recorded[n], "now": now[n]}
            for n in sorted(recorded.keys() & now.keys())
            if recorded[n] != now[n]
        },
    }


def _python(system: dict[str, Any]) -> str:
    python = system.get("python", {})
    return f"{python.get('implementation', '?')} {python.get('version', '?')}"


def _minor(text: str) -> str:
    return ".".join(text.split(".")[:2])


def compare_environment(recorded: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    def host(system: dict[str, Any], key: str) -> str:
        return str(system.get("host", {}).get(key, "?"))

    return {
        "python": {"recorded": _python(recorded), "now": _python(now)},
        "os": {"recorded": host(recorded, "os"), "now": host(now, "os")},
        "kernel": {"recorded": host(recorded, "kernel"), "now": host(now, "kernel")},
        "packages": compare_packages(recorded.get("packages", {}), now.get("packages", {})),
    }


def judge(
    *, status: str, metrics: dict[str, dict[str, Any]], inputs: dict[str, dict[str, Any]],
    environment: dict[str, Any], code: dict[str, Any],
) -> tuple[str, tuple[str, ...]]:  # fmt: skip
    """The verdict and its reasons, most serious first (TFC-0002 R14)."""
    fail: list[str] = []
    if status != "succeeded":
        fail.append(f"the reproduction did not succeed ({status})")
    for name, row in metrics.items():
        if row["reproduced"] is None:
            fail.append(f"metric {name} was not reported")
        elif not row["within"]:
            fail.append(f"metric {name} is out of tolerance")
    fail += [f"input {n}: pinned bytes not found" for n, i in inputs.items() if i["found"] is None]
    drift: list[str] = []
    python = environment["python"]
    old_python, new_python = python["recorded"].split(" "), python["now"].split(" ")
    if old_python[0] != new_python[0] or _minor(old_python[-1]) != _minor(new_python[-1]):
        drift.append(f"Python {python['recorded']} -> {python['now']}")
    system = {side: environment["os"][side].split(" ")[0] for side in ("recorded", "now")}
    if system["recorded"] != system["now"]:  # Linux, Darwin, Windows: not the release
        drift.append(f"operating system {system['recorded']} -> {system['now']}")
    drift += [
        f"input {n}: {i['path']} no longer holds the pinned bytes (used them from {i['restored_from'][:12]})"
        for n, i in inputs.items()
        if i["restored_from"] is not None
    ]
    if code["drift"]:
        drift.append(code["drift"])
    verdict = FAIL if fail else DRIFT if drift else PASS
    return verdict, (*fail, *drift)  # with a FAIL, drift may explain it


def format_report(verdict: Verdict) -> str:
    doc = verdict.document
    lines = [
        f"reproduction of {doc['reproduces']}: {doc['run_id'] or 'nothing run'} ({doc['status']})"
    ]
    if doc["status"] == "not run":
        lines.append("metrics: not compared (nothing was run)")
    else:
        lines.append(f"metrics (tolerance: {doc['tolerance_source']}):")
    width = max((len(n) for n in doc["metrics"]), default=0)
    for name, row in doc["metrics"].items():
        shown = "missing" if row["reproduced"] is None else repr(row["reproduced"])
        delta = "" if row["delta"] is None else f"  delta {row['delta']:+.3g}"
        tolerance = Tolerance(row["tolerance"]["abs"], row["tolerance"]["rel"])
        judged = "ok" if row["within"] else "OUT"
        lines.append(
            f"  {name:<{width}}  {row['recorded']!r} -> {shown}{delta}  {judged} ({tolerance})"
        )
    if not doc["metrics"] and doc["status"] != "not run":
        lines.append("  (the run recorded no final metrics)")
    for name in doc["extra_metrics"]:
        lines.append(f"  {name}  not recorded -> {doc['extra_metrics'][name]!r}  (new)")
    lines.append("inputs:")
    for name, entry in doc["inputs"].items():
        if entry["found"] is None:
            state = f"DRIFTED: {entry['path']} holds {entry['now'] or 'nothing'}; pinned bytes not found"
        elif entry["restored_from"] is not None:
            state = f"DRIFTED: pinned bytes restored from commit {entry['restored_from'][:12]}"
        else:
            state = "same bytes"
        lines.append(f"  {name}  {entry['ref'].split('#')[0]}  {state}")
    if doc["environment"] is not None:
        lines += _environment_lines(doc["environment"])
    if doc["code"] is not None:
        lines += _code_lines(doc["code"])
    lines.append(f"verdict: {verdict.verdict}")
    lines += [f"  {reason}" for reason in verdict.reasons]
    return "\n".join(lines) + "\n"


def _environment_lines(environment: dict[str, Any]) -> list[str]:
    lines = ["environment:"]
    for key in ("python", "os", "kernel"):
        pair = environment[key]
        same = pair["recorded"] == pair["now"]
        lines.append(f"  {key}: {pair['recorded']}" + (" (same)" if same else f" -> {pair['now']}"))
    packages = environment["packages"]
    rows = [f"    + {n} {v}" for n, v in packages["added"].items()]
    rows += [f"    - {n} {v}" for n, v in packages["removed"].items()]
    rows += [f"    ~ {n} {v['recorded']} -> {v['now']}" for n, v in packages["changed"].items()]
    counts = ", ".join(f"{len(packages[k])} {k}" for k in ("added", "removed", "changed"))
    lines.append(f"  packages: {counts}" if rows else "  packages: same")
    lines += sorted(rows, key=lambda row: row[6:])[:_SHOWN_PACKAGES]
    if len(rows) > _SHOWN_PACKAGES:
        lines.append(f"    … and {len(rows) - _SHOWN_PACKAGES} more (see reproduction.json)")
    return lines


def _code_lines(code: dict[str, Any]) -> list[str]:
    def state(side: dict[str, Any]) -> str:
        commit = side["commit"][:12] if side["commit"] else "no commit"
        return f"{commit} ({'dirty' if side['dirty'] else 'clean'})"

    same = code["recorded"] == code["now"]
    lines = [
        "code:",
        f"  commit: {state(code['recorded'])}"
        + (" (same)" if same else f" -> {state(code['now'])}"),
    ]
    if code["same_tree"]:
        lines.append("  code tree: same")
    elif code["changed_files"] is None:
        lines.append("  command files: cannot be compared")
    else:
        changed = code["changed_files"]
        lines.append(
            f"  command files changed: {', '.join(changed)}"
            if changed
            else f"  command files: same ({', '.join(code['command_files'])})"
        )
    return lines
