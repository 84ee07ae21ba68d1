"""One catalogue over several repositories (TFC-0007 R15): this one, those its federation table
declares and those named with --repo, each checked out at its HEAD, doctored, catalogued and
qualified by its name."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strataml import gitremote
from strataml.config import load_config
from strataml.doctor.engine import Report, run_doctor
from strataml.doctor.model import Severity
from strataml.errors import StrataError
from strataml.gitindex import tracked_local_state
from strataml.gitrepo import head_commit
from strataml.index.catalogue import build_index
from strataml.refs import is_foreign, is_repository_name
from strataml.registry.federation import Source, declaration, is_local, locate


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str
    source: str | None  # what to check out: a local repository, a mirror, a --repo URL
    problem: str | None = None  # why it is not reachable


def build_federated_index(root: Path, repos: Sequence[str] = ()) -> dict[str, Any]:
    """The catalogue of `root`, and, where a federation is declared or `repos` are named, of
    every other repository too, with `repositories` saying which were read at what commit."""
    document = build_index(root)
    declared = declaration(root, load_config(root))
    if not declared.members and not repos:
        return document  # one repository: the catalogue as it always was
    for kind in ("datasets", "models", "runs"):
        for entry in document[kind]:
            entry["repository"] = declared.own
    repositories = [_entry(declared.own, ".", head_commit(root), run_doctor(root))]
    mirrors = not tracked_local_state(root)  # as doctor: a committed .strata/ is not ours
    targets = [_declared(locate(root, member, mirrors=mirrors)) for member in declared.members]
    taken = {declared.own, *(t.name for t in targets)}
    for text in repos:
        if any(t.url == text for t in targets):
            continue  # declared already, under its name
        name = _name_for(text, taken)
        taken.add(name)
        source = str(Path(text).resolve()) if is_local(text) else text
        targets.append(Target(name, text, source))
    with tempfile.TemporaryDirectory(prefix="strata-federation-") as scratch:
        for target in targets:
            if target.source is None:
                repositories.append({**_entry(target.name, target.url, None, None),
                                     "problem": target.problem})  # fmt: skip
                continue
            checkout = Path(scratch) / target.name
            try:  # a clone that fails, a repository that is not a StrataML one: said, not fatal
                gitremote.checkout_copy(target.source, checkout)
                other, report = build_index(checkout), run_doctor(checkout)
            except StrataError as exc:
                repositories.append({**_entry(target.name, target.url, None, None),
                                     "problem": str(exc)})  # fmt: skip
                continue
            _qualify(other, target.name)
            for kind in ("datasets", "models", "runs", "lineage", "problems"):
                document[kind].extend(other[kind])
            repositories.append(_entry(target.name, target.url, head_commit(checkout), report))
    document["lineage"].sort(key=lambda e: (e["source"], e["target"], e["relation"]))
    document["repositories"] = repositories
    return document


def _declared(source: Source) -> Target:
    member = source.member
    if source.path is None:
        return Target(member.name, member.url, None, source.unreachable)
    return Target(member.name, member.url, str(source.path))


def _entry(name: str, url: str, commit: str | None, report: Report | None) -> dict[str, Any]:
    doctor = None
    if report is not None:
        doctor = {
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "info": report.count(Severity.INFO),
        }
    return {"name": name, "url": url, "commit": commit, "doctor": doctor,
            "reachable": commit is not None}  # fmt: skip


def _name_for(text: str, taken: set[str]) -> str:
    """A repository name for a --repo: its last path segment, made a name, unique."""
    last = re.split(r"[/:]", text.rstrip("/"))[-1].removesuffix(".git").lower()
    base = re.sub(r"[^a-z0-9-]+", "-", last).strip("-")[:28] or "repo"
    base = base if is_repository_name(base) else f"r-{base}"[:28]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _qualify(index: dict[str, Any], name: str) -> None:
    """Another repository's entries, named as this catalogue names them: `NAME:…`."""

    def q(text: str) -> str:
        return text if is_foreign(text) else f"{name}:{text}"

    for dataset in index["datasets"]:
        dataset.update(repository=name, ref=q(dataset["ref"]), name=q(dataset["name"]))
    for model in index["models"]:
        model.update(repository=name, name=q(model["name"]))
        for version in model["versions"]:
            version["ref"] = q(version["ref"])
    for run in index["runs"]:
        run.update(repository=name, id=q(run["id"]), path=q(run["path"]))
    for edge in index["lineage"]:
        edge.update(source=q(edge["source"]), target=q(edge["target"]))
    for problem in index["problems"]:
        problem["path"] = q(problem["path"])
