"""From an experiment spec to a sealed run directory (TFC-0002, TFC-0003)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from strataml.integrity.digest import shown
from strataml.registry.runrecord import RunRecord
from strataml.runner import rundir
from strataml.runner.execute import Interrupts, Outcome, execute
from strataml.runner.experiment import expand, load_experiment, parse_override
from strataml.runner.fingerprint import CodeState, code_state
from strataml.runner.inputs import resolve_inputs
from strataml.runner.record import (
    Notify,
    OpenRun,
    PlannedRun,
    RunResult,
    begin_run,
    finish_run,
    planned_run,
    refuse_secrets,
)
from strataml.runner.reuse import find_reusable
from strataml.runner.seal import seal_abandoned
from strataml.yamltext import dump_yaml


def plan(
    root: Path, experiment_path: Path, *, overrides: list[str] | None = None, name: str | None = None,
    tags: tuple[str, ...] = (), code: CodeState | None = None,
) -> list[PlannedRun]:  # fmt: skip
    """Resolve everything a run needs, or raise; nothing is created (TFC-0002 R4); `code`, a
    submission's code state, stands for this checkout's (a Slurm task, R23)."""
    experiment = load_experiment(root, experiment_path)
    points = expand(experiment, [parse_override(text) for text in overrides or ()])
    inputs = resolve_inputs(root, experiment.inputs)
    code = code if code is not None else code_state(root)
    all_tags = tuple(dict.fromkeys((*experiment.tags, *tags)))
    planned = [planned_run(experiment, params, inputs, code, name, all_tags) for params in points]
    for point in planned:
        refuse_secrets(point)
    return planned


def reuse(
    root: Path, planned: PlannedRun, succeeded: Sequence[RunRecord] | None = None
) -> RunResult | None:
    found = find_reusable(root, planned.experiment.name, planned.fingerprint, succeeded)
    if found is None:
        return None
    return RunResult(found, root / rundir.RUNS / found, "reused", 0, None)


def execute_run(
    root: Path, planned: PlannedRun, *, interrupts: Interrupts,
    echo: tuple[BinaryIO, BinaryIO] | None, notify: Notify = lambda _: None,
    before_seal: Callable[[str, Path], None] | None = None,
    claimed: Callable[[str], None] = lambda _: None,
    ended_by: Callable[[Outcome], str | None] = lambda _: None,
) -> RunResult:  # fmt: skip
    run, outcome = start_run(
        root, planned, interrupts=interrupts, echo=echo, notify=notify, claimed=claimed
    )
    return end_run(run, planned, outcome, notify=notify, before_seal=before_seal, ended_by=ended_by)


def start_run(
    root: Path, planned: PlannedRun, *, interrupts: Interrupts,
    echo: tuple[BinaryIO, BinaryIO] | None, notify: Notify = lambda _: None,
    claimed: Callable[[str], None] = lambda _: None,
) -> tuple[OpenRun, Outcome]:  # fmt: skip
    """Claim the run, record it running and run its command to the end; end_run seals it."""
    run = begin_run(root, planned, notify=notify)
    try:
        claimed(run.run_id)
    except OSError as exc:  # e.g. a full disk: the run is claimed, so it is sealed, not left
        run.reserve.unlink(missing_ok=True)  # the space set aside is what sealing writes into
        seal_abandoned(root, run.run_id, f"could not record the claim: {exc}")
        raise
    with run.log_path.open("ab", buffering=0) as log:
        outcome = execute(
            planned.experiment.command,
            shell=bool(planned.experiment.spec.get("shell", False)),
            cwd=root,
            env=_command_env(root, run.run_id, run.run_dir, planned, run.metrics_file),
            log=log,
            echo=echo,
            timeout_s=planned.experiment.timeout_s,
            interrupts=interrupts,
        )
    return run, outcome


def end_run(
    run: OpenRun, planned: PlannedRun, outcome: Outcome, *, notify: Notify = lambda _: None,
    before_seal: Callable[[str, Path], None] | None = None,
    ended_by: Callable[[Outcome], str | None] = lambda _: None,
) -> RunResult:  # fmt: skip
    try:
        why = ended_by(outcome)
    except BaseException:  # sealed all the same, then the bug's traceback
        finish_run(run, planned, outcome, notify=notify, before_seal=before_seal)
        raise
    return finish_run(run, planned, outcome, notify=notify, before_seal=before_seal, ended_by=why)


def _command_env(
    root: Path, run_id: str, run_dir: Path, planned: PlannedRun, metrics_file: Path
) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")  # live logs from Python commands
    env.update(
        STRATA_RUN_ID=run_id,
        STRATA_RUN_DIR=str(run_dir.resolve()),
        STRATA_OUTPUT_DIR=str((run_dir / rundir.ARTIFACTS).resolve()),
        STRATA_PARAMS=tracking_params(planned.params),
        STRATA_METRICS_FILE=str(metrics_file.resolve()),
    )
    for name, resolved in planned.inputs.items():
        where = resolved.source or root / resolved.path
        env[f"STRATA_INPUT_{name.upper()}"] = str(where.resolve())
    if planned.stage is not None:  # a stage's other inputs, by the same mechanism
        for name, upstream in planned.stage.upstream.items():
            output = root / rundir.RUNS / upstream.run_id / rundir.ARTIFACTS / upstream.output
            env[f"STRATA_INPUT_{name.upper()}"] = str(output.resolve())
        for name, pinned in planned.stage.files.items():
            env[f"STRATA_INPUT_{name.upper()}"] = str((root / pinned.path).resolve())
    return env


def tracking_params(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, ensure_ascii=False, allow_nan=False)


# Runs a planned run elsewhere (Ray, TFC-0002 R26) and places it under runs/; None: never ran.
Executor = Callable[[PlannedRun], RunResult | None]


def run_all(
    root: Path, planned: list[PlannedRun], *, jobs: int = 1, reuse_earlier: bool = False,
    interrupts: Interrupts, echo: tuple[BinaryIO, BinaryIO] | None, notify: Notify = lambda _: None,
    elsewhere: Executor | None = None,
) -> list[RunResult]:  # fmt: skip
    """Run (or reuse) every planned point; with jobs > 1 they run side by side, logs only."""

    # --jobs N: at most N points claimed or running at once. Sealing holds no slot, so a point's
    # record is sealed while the next point's command already runs (TFC-0002 R29).
    slots = threading.Semaphore(jobs)

    def one(point: PlannedRun) -> RunResult | None:
        if interrupts.received:
            return None  # Ctrl-C stops the sweep: nothing new starts
        if reuse_earlier and (earlier := reuse(root, point)) is not None:
            notify(
                f"{earlier.run_id} reused: same fingerprint {shown(point.fingerprint)}, nothing run"
            )
            return earlier
        if elsewhere is not None:
            if (placed := elsewhere(point)) is None:
                return None
            result = placed
        else:
            with slots:
                if interrupts.received:  # came while this point waited for its slot
                    return None
                run, outcome = start_run(
                    root, point, interrupts=interrupts, echo=echo if jobs == 1 else None,
                    notify=notify,
                )  # fmt: skip
            result = end_run(run, point, outcome, notify=notify)
        notify(
            f"{result.run_id} {result.status} in {result.duration_s:g} s: {rundir.RUNS}/{result.run_id}/"
        )
        return result

    if jobs == 1 or len(planned) == 1:
        results = [one(point) for point in planned]
    else:
        # Twice the slots in threads: while `jobs` commands run, as many records are sealed.
        workers = jobs if elsewhere is not None else 2 * jobs
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, planned))
    return [r for r in results if r is not None]


def exit_code(results: list[RunResult]) -> int:
    """The single run's exit code; for a sweep, the first failure's (0 when all succeeded)."""
    return next((r.exit_code for r in results if r.exit_code != 0), 0)


def format_plan(planned: list[PlannedRun]) -> str:
    """--dry-run: each config.yaml as it would be written, run id and time left open."""
    return "---\n".join(
        dump_yaml(p.config("<claimed at start>", "<claimed at start>")) for p in planned
    )


def format_summary(results: list[RunResult], planned: int) -> str:
    lines = [f"sweep: {len(results)} of {planned} points ran or were reused"]
    width = max((len(r.run_id) for r in results), default=0)
    for r in results:
        took = f"{r.duration_s:g} s" if r.duration_s is not None else "-"
        lines.append(f"  {r.run_id:<{width}}  {r.status:<11}  exit {r.exit_code:<3}  {took}")
    counts = {
        s: sum(r.status == s for r in results)
        for s in ("succeeded", "reused", "failed", "interrupted")
    }
    lines.append("  " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return "\n".join(lines) + "\n"
