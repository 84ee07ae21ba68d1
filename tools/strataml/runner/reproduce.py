"""Re-execute a recorded run from its config and pinned inputs in a new run (TFC-0002 R12-R14)."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from strataml import schemas
from strataml.doctor.intact import NotIntactError, intact
from strataml.errors import StrataError
from strataml.gitrepo import commits_present, file_at
from strataml.jsonio import as_mapping
from strataml.refs import ArtifactRef
from strataml.registry.runrecord import RunRecord, load_run
from strataml.registry.runs import resolve_run
from strataml.registry.verdict import (
    FAIL,
    Tolerances,
    Verdict,
    compare_environment,
    compare_metrics,
    judge,
    read_tolerances,
)
from strataml.runner import rundir
from strataml.runner.execute import Interrupts
from strataml.runner.experiment import SpecError, experiment_from_spec, load_experiment
from strataml.runner.fingerprint import CodeState, code_state
from strataml.runner.inputs import ResolvedInput, read_content_hash, resolve_input, restore_input
from strataml.runner.record import Notify, PlannedRun, planned_run
from strataml.runner.session import execute_run

REPRODUCTION = "reproduction.json"


class ReproduceError(StrataError):
    """The run cannot serve as the reference of a reproduction; nothing was created."""


@dataclass(frozen=True, slots=True)
class Reproduction:
    original: RunRecord
    planned: PlannedRun
    tolerances: Tolerances
    inputs: tuple[tuple[str, dict[str, Any]], ...]  # name -> the verdict's input entry
    scratch: Path  # where pinned bytes restored from Git are put while the run needs them

    @property
    def blocked(self) -> bool:
        return any(entry["found"] is None for _, entry in self.inputs)


def plan_reproduction(root: Path, run_ref: str) -> Reproduction:
    """Everything the re-execution needs, from the recorded run alone; raises if it cannot serve."""
    record = resolve_run(root, run_ref)
    if record.problems:
        raise ReproduceError(f"{record.run_id}: {record.problems[0]}")
    if record.status != "succeeded" or not record.sealed:
        raise ReproduceError(
            f"{record.run_id} is {record.status}{'' if record.sealed else ', not sealed'}; "
            "only a sealed, succeeded run can be reproduced"
        )
    if not intact(root, record.path, select=("CHK",)):  # the reference must be intact
        raise ReproduceError(
            f"{record.run_id}: the record does not match its CHECKSUMS.txt "
            f"(see `strata doctor {record.path}`)"
        )
    for name, schema, document in (
        (rundir.CONFIG, "run-config", record.config),
        (rundir.SYSTEM, "run-system", record.system),
        (rundir.METRICS, "run-metrics", record.metrics),
    ):
        if schemas.validate(schema, document):
            raise ReproduceError(
                f"{record.path}/{name} does not validate (see `strata doctor {record.path}`)"
            )
    if isinstance(link := record.config.get("pipeline"), dict):  # its inputs are other runs'
        raise ReproduceError(
            f"{record.run_id} is stage {link.get('stage')} of {link.get('path')}; re-run it with "
            f"`tools/run.py --pipeline {link.get('path')} --force {link.get('stage')}`"
        )
    recorded = as_mapping(record.config.get("experiment"))  # schema-valid: checked above
    spec = recorded["spec"]
    violations = schemas.validate("experiment", spec)
    if violations:
        raise ReproduceError(f"{record.path}/config.yaml: experiment.spec: {violations[0].message}")
    experiment = experiment_from_spec(recorded["path"], spec)
    tolerances = _tolerances(root, record, spec)
    scratch = root / ".strata" / "reproduce" / f"{record.run_id}-{os.getpid()}"
    entries: dict[str, dict[str, Any]] = {}
    resolved: dict[str, ResolvedInput] = {}
    for name, pinned in sorted(as_mapping(record.config.get("inputs")).items()):
        entries[name], found = _input(root, name, pinned, scratch / name)
        if found is not None:
            resolved[name] = found
    planned = planned_run(
        experiment, record.params, resolved, code_state(root),
        named if isinstance(named := record.config.get("name"), str) else None,
        tuple(record.tags), reproduces=record.run_id,
    )  # fmt: skip
    return Reproduction(record, planned, tolerances, tuple(entries.items()), scratch)


def _input(
    root: Path, name: str, pinned: dict[str, Any], destination: Path
) -> tuple[dict[str, Any], ResolvedInput | None]:
    ref = ArtifactRef.parse(pinned["ref"])
    entry: dict[str, Any] = {"ref": str(ref), "path": ref.path, "pinned": ref.pin}
    try:
        found: ResolvedInput | None = resolve_input(root, name, ref)
        commit = None
    except (SpecError, NotIntactError):  # gone, changed or damaged: maybe still in Git
        restored = restore_input(root, name, ref, destination)
        found, commit = restored if restored is not None else (None, None)
    try:
        now: str | None = read_content_hash(root / ref.path, name, ref)
    except SpecError:
        now = None
    entry.update(now=now, found=found.content_hash if found else None, restored_from=commit)
    return entry, found


def _tolerances(root: Path, record: RunRecord, spec: dict[str, Any]) -> Tolerances:
    """The experiment file's tolerances while it exists (they are policy); else the recorded ones."""
    path = as_mapping(record.config.get("experiment"))["path"]
    # A run started from Python names its script or notebook there, which holds no tolerances.
    if path.endswith((".yaml", ".yml")) and (root / path).is_file():
        current = load_experiment(root, root / path)
        if current.name == spec["name"]:
            return read_tolerances(current.spec, path)
    return read_tolerances(spec, f"{record.path}/{rundir.CONFIG}")


def reproduce(
    root: Path, reproduction: Reproduction, *, interrupts: Interrupts,
    echo: tuple[BinaryIO, BinaryIO] | None, notify: Notify = lambda _: None,
) -> Verdict:  # fmt: skip
    """Run it again (unless an input's pinned bytes are gone) and judge the result."""
    verdicts: list[Verdict] = []

    def seal(run_id: str, run_dir: Path) -> None:
        verdict = _judged(reproduction, load_run(root, run_id), root)
        rundir.write_json(run_dir / REPRODUCTION, verdict.document)
        verdicts.append(verdict)

    try:
        if reproduction.blocked:
            return _judged(reproduction, None, None)
        result = execute_run(
            root, reproduction.planned, interrupts=interrupts, echo=echo, notify=notify,
            before_seal=seal,
        )  # fmt: skip
    finally:
        shutil.rmtree(reproduction.scratch, ignore_errors=True)
        with contextlib.suppress(OSError):  # other reproductions may be using it
            reproduction.scratch.parent.rmdir()
    notify(
        f"{result.run_id} {result.status} in {result.duration_s:g} s: {rundir.RUNS}/{result.run_id}/"
    )
    return verdicts[0]


def _judged(reproduction: Reproduction, new: RunRecord | None, root: Path | None) -> Verdict:
    original = reproduction.original
    inputs = dict(reproduction.inputs)
    if new is None or root is None:  # nothing was run: the inputs decide alone
        document = _document(reproduction, None, "not run", {}, {}, inputs, None, None)
        reasons = tuple(
            f"input {n}: pinned bytes not found" for n, i in inputs.items() if i["found"] is None
        )
        return Verdict(FAIL, reasons, {**document, "verdict": FAIL, "reasons": list(reasons)})
    metrics = compare_metrics(original.final, new.final, reproduction.tolerances)
    extra = {n: v for n, v in sorted(new.final.items()) if n not in original.final}
    environment = compare_environment(original.system, new.system)
    code = _code(root, reproduction.planned.experiment.command, original, reproduction.planned.code)
    verdict, reasons = judge(
        status=new.status, metrics=metrics, inputs=inputs, environment=environment, code=code,
    )  # fmt: skip
    document = _document(
        reproduction, new.run_id, new.status, metrics, extra, inputs, environment, code
    )
    return Verdict(verdict, reasons, {**document, "verdict": verdict, "reasons": list(reasons)})


def _document(
    reproduction: Reproduction, run_id: str | None, status: str, metrics: dict[str, Any],
    extra: dict[str, Any], inputs: dict[str, Any], environment: dict[str, Any] | None,
    code: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "schema_version": 1,
        "reproduces": reproduction.original.run_id,
        "run_id": run_id,
        "status": status,
        "tolerance_source": reproduction.tolerances.source,
        "metrics": metrics,
        "extra_metrics": extra,
        "inputs": inputs,
        "environment": environment,
        "code": code,
    }


def _code(
    root: Path, command: tuple[str, ...] | str, original: RunRecord, now: CodeState
) -> dict[str, Any]:
    """Code drift: only the experiment file and the files its command names count (TFC-0002 R14)."""
    recorded = as_mapping(original.config.get("code"))
    commit = recorded.get("commit")
    files = [as_mapping(original.config.get("experiment"))["path"]]
    if not isinstance(command, str):  # a shell line is not split into paths
        files += [a for a in command if _repo_file(root, a, commit)]
    files = sorted(set(files))
    changed: list[str] | None = None
    why = None
    if recorded.get("tree_hash") == now.tree_hash:
        changed = []
    elif not isinstance(commit, str):
        why = "the recorded run names no commit"
    elif recorded.get("dirty"):
        why = "the recorded run was made from uncommitted code"
    elif (presence := commits_present(root, [commit])) is None or commit not in presence.present:
        why = f"the recorded commit {commit[:12]} is not in this repository"
    else:
        changed = [f for f in files if _bytes(root / f) != file_at(root, commit, f)]
    drift = None
    if why is not None:
        drift = f"code cannot be compared: {why}"
    elif changed:
        drift = f"code changed since the run: {', '.join(changed)}"
    return {
        "recorded": {"commit": commit, "dirty": bool(recorded.get("dirty"))},
        "now": {"commit": now.commit, "dirty": now.dirty},
        "same_tree": recorded.get("tree_hash") == now.tree_hash,
        "command_files": files,
        "changed_files": changed,
        "drift": drift,
    }


def _repo_file(root: Path, argument: str, commit: object) -> bool:
    if not schemas.is_safe_relative_path(argument):
        return False
    return (root / argument).is_file() or (
        isinstance(commit, str) and file_at(root, commit, argument) is not None
    )


def _bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() and not path.is_symlink() else None
