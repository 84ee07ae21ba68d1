"""Where a Slurm submission's notes live (TFC-0002 R24): names only, so that `strata runs list`,
which reads them, starts without the runner that writes them."""

from __future__ import annotations

from pathlib import Path

BATCHES = Path(".strata") / "slurm"
SWEEP, JOB = "sweep.json", "job.json"
COLLECTED = "collected.json"  # the collector job's notes and how each task ended (R24)
