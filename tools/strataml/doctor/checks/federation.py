"""Pins into other repositories of the federation (TFC-0001 R15-R16, TFC-0005 R18): each is
verified against that repository's committed HEAD where it is reachable, reported as not verified
where it is not, and never fetched."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator

from strataml.config import PYPROJECT
from strataml.doctor.checks.artifacts import metadata
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import FED001, FED002, FED003, FED004, FED005
from strataml.jsonio import as_list, as_mapping
from strataml.refs import ForeignRef, is_foreign
from strataml.registry.federation import (
    Member,
    Outcome,
    declaration,
    is_local,
    locate,
    verify_pins,
)
from strataml.safeopen import read_regular

Site = tuple[str, int | None]  # (metadata path, line) where a pin is written


def check_federation(ctx: Context) -> Iterator[Diagnostic]:
    declared = declaration(ctx.root, ctx.config)
    if ctx.whole_repository:
        lines = _declaration_lines(ctx) if ctx.declared in (None, ctx.config) else {}
        for name, message in declared.problems:
            yield FED001.at(
                PYPROJECT, message, line=lines.get(name),
                hint="name each repository [a-z][a-z0-9-]{0,31}, once, by a url outside this one",
            )  # fmt: skip
    pins = _pins(ctx)
    if not pins:
        return
    members = {m.name: m for m in declared.members}
    invalid = {name for name, _ in declared.problems}
    by_repository: dict[str, dict[ForeignRef, list[Site]]] = defaultdict(dict)
    for pin, sites in pins.items():
        if pin.repository not in members:
            # Fail closed: a pin into a repository declared wrongly (FED001) is not verified either.
            why = (
                "whose declaration is invalid"
                if pin.repository in invalid
                else "which is not declared"
            )
            for path, line in sites:
                yield FED002.at(
                    path, f"{pin.node} names repository {pin.repository!r}, {why}", line=line,
                    hint=f"declare it: [tool.strataml.federation.repositories] "
                    f'{pin.repository} = {{ url = "…" }}',
                )  # fmt: skip
            continue
        by_repository[pin.repository][pin] = sites
    mirrors = not ctx.tracked_state  # a .strata/ a pull request wrote is not the tools' own
    for name in sorted(by_repository):
        source = locate(ctx.root, members[name], mirrors=mirrors)
        wanted = by_repository[name]
        verdicts = verify_pins(source, wanted)
        for pin in sorted(wanted, key=str):
            for path, line in wanted[pin]:
                verdict = verdicts.get(pin)
                if verdict is None:
                    yield FED003.at(
                        path, f"{pin.node} not verified: {source.unreachable}", line=line,
                        hint=_reach(members[name]),
                    )  # fmt: skip
                elif verdict.outcome is Outcome.MISMATCH:
                    yield FED004.at(
                        path, f"{pin.node} does not verify: {verdict.detail}", line=line,
                        hint=f"pin what {name} holds, or restore that version there",
                    )  # fmt: skip
                elif verdict.outcome is Outcome.UNAVAILABLE:
                    yield FED005.at(
                        path, f"{pin.node} not verified: {verdict.detail}", line=line,
                        hint=f"pull its LFS content in {name} (`git lfs fetch`)",
                    )  # fmt: skip


def _reach(member: Member) -> str:
    if is_local(member.url):
        return f"put a clone of {member.name} at {member.url}, or declare its Git URL"
    return f"`strata federation fetch {member.name}` mirrors it under .strata/"


# Where a record may pin a version of another repository (TFC-0001 R15).
_PINNING = {"model": ("training", "datasets"), "dataset": ("provenance", "derived_from")}


def _pins(ctx: Context) -> dict[ForeignRef, list[Site]]:
    """Every pin into another repository the selected versions' metadata writes."""
    found: dict[ForeignRef, list[Site]] = defaultdict(list)
    for artifact in ctx.artifacts:
        if artifact.kind not in _PINNING:
            continue
        loaded = metadata(ctx, artifact)
        if loaded is None:
            continue
        document, data = loaded
        table, key = _PINNING[artifact.kind]
        for index, text in enumerate(as_list(as_mapping(data.get(table)).get(key))):
            if not is_foreign(text):
                continue
            try:
                pin = ForeignRef.parse(str(text))
            except ValueError:
                continue  # the schema reports it
            where = document.line_of((table, key, index))
            found[pin].append((f"{artifact.path}/metadata.yaml", where))
    return found


def _declaration_lines(ctx: Context) -> dict[str, int]:
    """name -> the line of pyproject.toml that declares it (TOML keeps no positions)."""
    lines: dict[str, int] = {}
    with contextlib.suppress(OSError):
        text = read_regular(ctx.root / PYPROJECT).decode("utf-8", "replace")
        table = False
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith("["):
                table = stripped.startswith("[tool.strataml.federation")
                last = stripped.strip("[]").rsplit(".", 1)[-1].strip('"')
                if stripped.startswith("[tool.strataml.federation.repositories."):
                    lines.setdefault(last, number)
            elif table and "=" in stripped:
                key = stripped.split("=", 1)[0].strip().strip('"')
                lines.setdefault(key, number)
    return lines
