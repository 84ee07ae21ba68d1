"""A reproduction's verdict agrees with its own record and with the run it reproduced (TFC-0002 R14)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import RUN020
from strataml.registry.verdict import FAIL, Tolerance
from strataml.workspace import Artifact

REPRODUCTION = "reproduction.json"


def _data(ctx: Context, path: str) -> dict[str, Any]:
    document = ctx.document(path)
    ok = document is not None and document.ok and isinstance(document.data, dict)
    return document.data if ok and document is not None else {}


def check_reproduction(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    if artifact.kind != "run":
        return
    path = f"{artifact.path}/{REPRODUCTION}"
    document = ctx.document(path)
    if (
        document is None
        or not document.ok
        or ctx.schemas.validate("run-reproduction", document.data)
    ):
        return  # absent, or SCH001-SCH005 report it
    verdict: dict[str, Any] = document.data
    config = _data(ctx, f"{artifact.path}/config.yaml")
    system = _data(ctx, f"{artifact.path}/system.json")
    final = _data(ctx, f"{artifact.path}/metrics.json").get("final")
    if not isinstance(final, dict):
        final = {}  # SCH003 reports a broken metrics.json
    original = ctx.document(f"runs/{verdict['reproduces']}/metrics.json")
    for keys, message in _disagreements(artifact.name, verdict, config, system, final, original):
        yield RUN020.at(
            path,
            message,
            line=document.line_of(keys),
            hint="a verdict is written by tools/run.py --reproduce and sealed; restore the run "
            "from Git, or reproduce again",
        )


def _disagreements(
    run_id: str, verdict: dict[str, Any], config: dict[str, Any], system: dict[str, Any],
    final: dict[str, Any], original: Any,
) -> Iterator[tuple[tuple[str, ...], str]]:  # fmt: skip
    if verdict["run_id"] != run_id:
        yield ("run_id",), f"names run {verdict['run_id']} but lies in {run_id}"
    if verdict["reproduces"] != config.get("reproduces"):
        named = config.get("reproduces") or "nothing"
        yield ("reproduces",), f"reproduces {verdict['reproduces']} but config.yaml names {named}"
    if system and verdict["status"] != system.get("status"):
        yield (
            ("status",),
            f"status is {verdict['status']} but system.json says {system.get('status')}",
        )
    rows: dict[str, Any] = verdict["metrics"]
    for name, row in rows.items():
        if row["reproduced"] != final.get(name):
            yield (
                ("metrics", name, "reproduced"),
                f"metric {name}: reproduced {row['reproduced']!r} but metrics.json holds "
                f"{final.get(name)!r}",
            )
        tolerance = Tolerance(row["tolerance"]["abs"], row["tolerance"]["rel"])
        within = row["reproduced"] is not None and tolerance.allows(
            row["recorded"], row["reproduced"]
        )
        if row["within"] != within:
            yield (
                ("metrics", name, "within"),
                f"metric {name}: within is {row['within']} but the values say {within}",
            )
    if original is not None and original.ok and isinstance(original.data, dict):
        recorded = original.data.get("final")
        recorded = recorded if isinstance(recorded, dict) else {}
        for name in sorted(set(recorded) | set(rows)):
            was = rows[name]["recorded"] if name in rows else None
            if was != recorded.get(name):
                yield (
                    ("metrics", name) if name in rows else ("metrics",),
                    f"metric {name}: recorded {was!r} but runs/{verdict['reproduces']}/metrics.json "
                    f"holds {recorded.get(name)!r}",
                )
    failing = (
        verdict["status"] != "succeeded"
        or any(not row["within"] for row in rows.values())
        or any(entry["found"] is None for entry in verdict["inputs"].values())
    )
    if failing != (verdict["verdict"] == FAIL):
        yield (
            ("verdict",),
            f"verdict is {verdict['verdict']} but its entries say {'FAIL' if failing else 'not FAIL'}",
        )
