"""Run records: contents, identity, status, liveness, outputs, inputs and code (TFC-0002, TFC-0003)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from strataml.credentials import dotted, iter_secrets
from strataml.doctor.checks.runinputs import check_inputs, mapping
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import (
    RUN001,
    RUN002,
    RUN003,
    RUN004,
    RUN005,
    RUN006,
    RUN007,
    RUN008,
    RUN009,
    RUN012,
    RUN013,
    RUN015,
    RUN030,
)
from strataml.integrity.tree import TreeScan
from strataml.liveness import parse_moment, runner_liveness
from strataml.schemas import is_safe_relative_path
from strataml.workspace import Artifact
from strataml.yamlio import YamlDocument

CONFIG, SYSTEM, LOGS, METRICS = "config.yaml", "system.json", "logs.txt", "metrics.json"
ARTIFACTS, CHECKSUMS = "artifacts", "CHECKSUMS.txt"
# What a run directory holds at its top level (TFC-0003 R1): name -> is a directory. artifacts/
# is optional: Git stores no empty directory, so a run with no outputs has none in any clone.
_ALWAYS = {CONFIG: False, SYSTEM: False, LOGS: False}
_FINISHED = {METRICS: False}
_ALLOWED = {
    **_ALWAYS, **_FINISHED, ARTIFACTS: True, CHECKSUMS: False,
    "README.md": False, "SIGNATURE.asc": False,
    "reproduction.json": False,  # the verdict of tools/run.py --reproduce (TFC-0002 R12)
    "metrics.csv": False,  # a long metric history (TFC-0003 R15)
}  # fmt: skip
_STATUSES = ("running", "succeeded", "failed", "interrupted")


@dataclass(frozen=True, slots=True)
class _Record:
    """The parsed parts of one run's record that the checks below need."""

    config: tuple[YamlDocument, dict[str, Any]] | None
    system: tuple[YamlDocument, dict[str, Any]] | None

    @property
    def imported(self) -> bool:
        """Written by `strata import`, not the runner (TFC-0003 R14)."""
        return self.config is not None and isinstance(self.config[1].get("imported_from"), dict)

    @property
    def status(self) -> str | None:
        value = self.system[1].get("status") if self.system else None
        return value if value in _STATUSES else None


def check_run(ctx: Context, artifact: Artifact) -> Iterator[Diagnostic]:
    if artifact.kind != "run":
        return
    record = _Record(
        mapping(ctx, f"{artifact.path}/{CONFIG}"), mapping(ctx, f"{artifact.path}/{SYSTEM}")
    )
    yield from _check_entries(ctx, artifact, record.status)
    yield from _check_identity(artifact, record)
    yield from _check_secrets(ctx, artifact, record)
    if record.system is not None and record.status is not None:
        yield from _check_status(ctx, artifact, record.system, record.status, record.imported)
    if record.system is not None and record.config is not None and not record.imported:
        yield from _check_facts(artifact, record.system)
    if record.config is not None:
        if record.status == "succeeded":
            yield from _check_outputs(ctx, artifact, record.config)
        yield from check_inputs(ctx, artifact, record.config)
        yield from _check_commit(ctx, artifact, record.config)


def _check_secrets(ctx: Context, artifact: Artifact, record: _Record) -> Iterator[Diagnostic]:
    for name, parsed in ((CONFIG, record.config), (SYSTEM, record.system)):
        if parsed is None:
            continue
        document, data = parsed
        # Found when the document was parsed (and stored with the parse), else searched now.
        found = ctx.secrets(f"{artifact.path}/{name}")
        for where, kind in iter_secrets(data) if found is None else found:
            yield RUN015.at(
                f"{artifact.path}/{name}",
                f"{dotted(where)} holds {kind}",
                line=document.line_of(where),
                hint="revoke it, then remove the run from history; records are never edited",
            )


def _entries(scan: TreeScan) -> dict[str, bool | None]:
    """Top-level names -> True for a directory, False for a regular file, None for anything
    else: read from the run's scan (Context.scan), not listed again."""
    found: dict[str, bool | None] = {}
    for rel, *_ in scan.directories:
        if "/" not in rel:
            found[rel] = True
    for rel in scan.files:
        if "/" not in rel:
            found[rel] = False
    for rel in (*scan.symlinks, *scan.special, *scan.unportable, *scan.unreadable):
        if "/" not in rel and rel != ".":
            found.setdefault(rel, None)
    return found


def _check_entries(ctx: Context, artifact: Artifact, status: str | None) -> Iterator[Diagnostic]:
    entries = _entries(ctx.scan(artifact))
    required = dict(_ALWAYS)
    if status not in (None, "running"):
        required |= _FINISHED
    for name in required:
        if name not in entries:
            which = "every run" if name in _ALWAYS else f"a {status} run"
            yield RUN001.at(
                f"{artifact.path}/{name}",
                f"run has no {name}, which {which} holds",
                hint="restore it from Git; a record with parts missing cannot be trusted",
            )
    for name, kind in sorted(entries.items()):
        if name in _ALLOWED and _ALLOWED[name] is kind:
            continue
        if name in _ALLOWED and kind is not None:
            yield RUN002.at(
                f"{artifact.path}/{name}",
                f"{name} must be a {'directory' if _ALLOWED[name] else 'file'}",
                hint="restore the run from Git",
            )
        elif name not in _ALLOWED:
            yield RUN002.at(
                f"{artifact.path}/{name}",
                "not part of a run record",
                hint="command outputs belong under artifacts/; notes go in README.md",
            )
    if status not in (None, "running") and CHECKSUMS not in entries:
        yield RUN005.at(
            f"{artifact.path}/{CHECKSUMS}",
            f"run {status} but was never sealed",
            hint="the runner stopped before writing CHECKSUMS.txt; after checking the record, "
            f"seal it with `strata checksum {artifact.path}`",
        )


def _check_identity(artifact: Artifact, record: _Record) -> Iterator[Diagnostic]:
    if record.config is None:
        return
    document, config = record.config
    run_id = config.get("run_id")
    if isinstance(run_id, str) and run_id != artifact.name:
        yield RUN003.at(
            f"{artifact.path}/{CONFIG}",
            f"run_id is {run_id!r} but the directory is {artifact.name!r}",
            line=document.line_of(("run_id",)),
            hint="a run directory is never renamed; move it back",
        )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _status_problems(
    system: dict[str, Any], status: str, imported: bool = False
) -> list[tuple[str, str]]:
    """(key, problem) pairs where the record contradicts its own status (TFC-0002 R7)."""
    code, ended, duration = system.get("exit_code"), system.get("ended"), system.get("duration_s")
    problems: list[tuple[str, str]] = []
    if "reason" in system and status != "failed":
        problems.append(("reason", f"status is {status} but a failure reason is recorded"))
    if status == "running":
        for key, value in (("exit_code", code), ("ended", ended), ("duration_s", duration)):
            if value is not None:
                problems.append((key, f"status is running but {key} is {value!r}"))
        return problems
    if ended is None:
        problems.append(("ended", f"status is {status} but ended is null"))
    if duration is None:
        problems.append(("duration_s", f"status is {status} but duration_s is null"))
    if status == "succeeded" and code != 0:
        problems.append(("exit_code", f"status is succeeded but exit_code is {code!r}, not 0"))
    if status == "interrupted" and code is None and not imported:  # sources rarely know it
        problems.append(("exit_code", "status is interrupted but exit_code is null"))
    started, finished = parse_moment(system.get("started")), parse_moment(ended)
    if started is not None and finished is not None and finished < started:
        problems.append(("ended", f"ended ({ended}) is before started ({system['started']})"))
    return problems


def _check_status(
    ctx: Context, artifact: Artifact, loaded: tuple[YamlDocument, dict[str, Any]], status: str,
    imported: bool,
) -> Iterator[Diagnostic]:  # fmt: skip
    document, system = loaded
    at = f"{artifact.path}/{SYSTEM}"
    for key, problem in _status_problems(system, status, imported):
        yield RUN004.at(
            at,
            problem,
            line=document.line_of((key,)),
            hint="system.json is written by the runner only; restore it from Git",
        )
    if status != "running":
        return
    if (ctx.root / artifact.path / CHECKSUMS).exists():
        yield RUN004.at(
            at,
            "status is running but the run is sealed (CHECKSUMS.txt exists)",
            line=document.line_of(("status",)),
            hint="system.json is written by the runner only; restore it from Git",
        )
        return
    ctx.tally.depends_on_live_state()  # whether the runner lives is not in the files
    yield from _check_liveness(artifact, document, system)


def _check_facts(
    artifact: Artifact, loaded: tuple[YamlDocument, dict[str, Any]]
) -> Iterator[Diagnostic]:
    document, system = loaded
    for key in ("host", "python", "git"):
        if key in system and system[key] is None:
            yield RUN030.at(
                f"{artifact.path}/{SYSTEM}",
                f"{key} is null, but the runner always records it; only an imported run "
                "(config.yaml imported_from) may leave it out",
                line=document.line_of((key,)),
                hint="system.json is written by the runner only; restore it from Git",
            )


def _check_liveness(
    artifact: Artifact, document: YamlDocument, system: dict[str, Any]
) -> Iterator[Diagnostic]:
    at = f"{artifact.path}/{SYSTEM}"
    line = document.line_of(("status",))
    liveness = runner_liveness(system)
    if liveness == "elsewhere":
        hostname = system["host"]["hostname"]
        yield RUN008.at(
            at,
            f"status is running on host {hostname!r}; whether it still runs cannot be told from here",
            line=line,
            hint=f"check on {hostname}; a run that died there stays `running` for ever",
        )
        return
    if liveness == "alive":
        yield RUN007.at(
            at,
            "run in progress: its runner is alive",
            line=line,
            hint="commit it once it has finished",
        )
        return
    yield RUN006.at(
        at,
        f"status is running but its runner (pid {system.get('pid')}) is gone: the run was abandoned",
        line=line,
        hint="the runner was killed or the machine went down; keep the directory as evidence "
        f"or delete it (`git rm -r {artifact.path}`), then run the experiment again",
    )


def _check_outputs(
    ctx: Context, artifact: Artifact, loaded: tuple[YamlDocument, dict[str, Any]]
) -> Iterator[Diagnostic]:
    document, config = loaded
    experiment = config.get("experiment")
    spec = experiment.get("spec") if isinstance(experiment, dict) else None
    outputs = spec.get("outputs") if isinstance(spec, dict) else None
    if not isinstance(outputs, list):
        return
    files = ctx.scan(artifact).files
    for index, output in enumerate(outputs):
        if not isinstance(output, str) or not is_safe_relative_path(output):
            continue  # the schema check reports it
        where = f"{ARTIFACTS}/{output.rstrip('/')}"
        if not any(p == where or p.startswith(where + "/") for p in files):
            yield RUN009.at(
                f"{artifact.path}/{CONFIG}",
                f"declared output {output} is missing from {ARTIFACTS}/ although the run succeeded",
                line=document.line_of(("experiment", "spec", "outputs", index)),
                hint=f"restore {artifact.path}/{where} from Git",
            )


def _check_commit(
    ctx: Context, artifact: Artifact, loaded: tuple[YamlDocument, dict[str, Any]]
) -> Iterator[Diagnostic]:
    document, config = loaded
    code = config.get("code")
    commit = code.get("commit") if isinstance(code, dict) else None
    if not isinstance(commit, str):
        return
    lookup = ctx.commits
    if lookup is None or lookup.present(commit):
        return
    at = f"{artifact.path}/{CONFIG}"
    line = document.line_of(("code", "commit"))
    if lookup.shallow():
        yield RUN013.at(
            at,
            f"code commit {commit[:12]} is not in this shallow clone; it cannot be checked",
            line=line,
            hint="fetch the full history (git fetch --unshallow) to check it",
        )
    else:
        yield RUN012.at(
            at,
            f"code commit {commit[:12]} does not exist in this repository",
            line=line,
            hint="the history was rewritten or the commit was never pushed; "
            "push the branch the run was made from",
        )
