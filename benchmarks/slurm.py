"""A sweep on Slurm against the same sweep with `--jobs 2` (issue 21): per-run wall time, as a ratio.

    python benchmarks/slurm.py [--points 100]

Starts a real one-machine Slurm cluster (tests/slurmcluster.py: slurmctld, slurmd and munged
from Debian's slurm-wlm and munge), forks the template twice, runs a `--points` sweep of a
command that does nothing, once with `--jobs 2` and once as a job array with `--executor slurm`
(one CPU per task, so two at a time on a two-core machine), and prints the wall time of each
per run and their ratio: what the scheduler adds to a run (submission, scheduling passes, task
start on the node, the runner planning the sweep again inside each task).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from measure import ENV, REPO, nothing_sweep, sweep_wall

sys.path.insert(0, str(REPO / "tests"))
import slurmcluster
from conftest import commit_all, fork_template


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=100)
    points = parser.parse_args().points
    with tempfile.TemporaryDirectory() as scratch:
        top = Path(scratch)
        cluster = slurmcluster.start(top / "cluster")
        try:
            walls = {}
            for name, args in (("--jobs 2", ("--jobs", "2")), ("slurm", ("--executor", "slurm"))):
                repo = fork_template(top / name.replace(" ", ""))
                (repo / "experiments" / "nothing.yaml").write_text(nothing_sweep(points))
                commit_all(repo, "a sweep that does nothing")
                env = {**os.environ, **ENV, "SLURM_CONF": str(cluster.conf)}
                walls[name] = sweep_wall(repo, *args, env=env)
        finally:
            slurmcluster.stop(cluster)
    for name, wall in walls.items():
        print(f"{name:>8}: {points} runs in {wall:.1f} s, {wall / points:.3f} s per run")
    print(f"   ratio: slurm / --jobs 2 = {walls['slurm'] / walls['--jobs 2']:.2f}x")


if __name__ == "__main__":
    main()
