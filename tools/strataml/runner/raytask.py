"""A Ray task's side (TFC-0002 R26): in a scratch directory of its own worker, the files the
driver packed, then the run as the runner runs any, sealed there and returned as a tar; the
worker's file system is never the driver's."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from strataml import raycluster
from strataml.runner import rundir
from strataml.runner.environment import host_facts
from strataml.runner.execute import Interrupts, forwarding
from strataml.runner.rayship import pack_run, unpack
from strataml.runner.record import Placement, PlannedRun
from strataml.runner.session import execute_run

SCRATCH_ENV = "STRATA_RAY_SCRATCH"  # where a worker makes its scratch directories


def placement(where: raycluster.Where) -> Placement:
    return Placement("ray", where.job_id, None, None, where.task_id, where.node_id)


def run_shipped(
    code: bytes, files: bytes, digests: tuple[str, str], planned: PlannedRun
) -> Iterator[dict[str, Any]]:
    """Yields where it runs, then {"run_id", "archive"}: the sealed run (TFC-0002 R26). `code`
    and `files` (the inputs) come resolved from the object store; `digests` are the driver's."""
    where = raycluster.here()
    yield {
        "task_id": where.task_id, "node_id": where.node_id, "job_id": where.job_id,
        "host": host_facts(), "pid": os.getpid(),
        "started": rundir.timestamp(dt.datetime.now(dt.UTC)),
    }  # fmt: skip
    base = os.environ.get(SCRATCH_ENV) or None
    scratch = Path(tempfile.mkdtemp(prefix="strata-ray-", dir=base))
    try:
        unpack([(code, digests[0]), (files, digests[1])], scratch)
        (scratch / rundir.RUNS).mkdir(exist_ok=True)
        interrupts = Interrupts()
        # A Ray worker blocks SIGINT, and a command inherits the mask: unblocked, the SIGINT
        # the runner forwards on ray.cancel (R8) stops the command at once, not after the grace.
        mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        try:
            with forwarding(interrupts):  # ray.cancel interrupts the runner, as Ctrl-C would
                result = execute_run(
                    scratch, replace(planned, placement=placement(where)),
                    interrupts=interrupts, echo=None,
                )  # fmt: skip
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        archive = pack_run(result.path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # before the result: nothing outlives the task
    yield {"run_id": result.run_id, "archive": archive}
