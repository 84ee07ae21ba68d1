"""A sweep on Ray against the same sweep with `--jobs 2` (issue 21): per-run wall time, as a ratio.

    python benchmarks/ray_overhead.py [--points 100]

Starts a real two-node Ray cluster on this machine (tests/raynodes.py: `ray start --head`, then a
second node, one CPU each), forks the template twice, runs a `--points` sweep of a command that
does nothing, once with `--jobs 2` and once with `--executor ray` (one CPU per task, so two at a
time), and prints the wall time of each per run and their ratio: what Ray adds to a run (joining
the cluster, packing the code once, a task per point, its scratch directory, the sealed run sent
back, verified and placed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from measure import ENV, REPO, nothing_sweep, sweep_wall

sys.path.insert(0, str(REPO / "tests"))
import raynodes
from conftest import commit_all, fork_template


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=100)
    points = parser.parse_args().points
    walls = {}
    with tempfile.TemporaryDirectory() as scratch:
        top = Path(scratch)
        cluster = raynodes.start(top / "cluster", REPO / "tools")
        try:
            runs = (
                ("--jobs 2", ("--jobs", "2")),
                ("ray", ("--executor", "ray", "--address", cluster.address)),
            )
            for name, args in runs:
                repo = fork_template(top / name.replace(" ", ""))
                (repo / "experiments" / "nothing.yaml").write_text(nothing_sweep(points))
                commit_all(repo, "a sweep that does nothing")
                walls[name] = sweep_wall(repo, *args, env={**ENV, **cluster.env})
        finally:
            raynodes.stop()
    for name, wall in walls.items():
        print(f"{name:>8}: {points} runs in {wall:.1f} s, {wall / points:.3f} s per run")
    print(f"   ratio: ray / --jobs 2 = {walls['ray'] / walls['--jobs 2']:.2f}x")


if __name__ == "__main__":
    main()
