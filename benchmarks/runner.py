"""The runner's own cost: what `tools/run.py` adds to a command, and how a sweep uses the cores.

    python benchmarks/runner.py [--single 10] [--points 1000] [--jobs 2] [--work-ms 200]

Builds a fork of the template in a temporary directory, then prints one line per target of
issue 17: the runner's overhead per run (the whole `run.py` minus the same command run alone,
side by side in interleaved pairs, the iris input verified as a real run does), and a sweep of
`--points` runs with `--jobs` side by side whose command burns `--work-ms` of CPU: its wall time,
its overhead per run, and how busy it kept the cores (the CPU time of every process it started
over wall time times the cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import ENV, REPO, paired, report, run

sys.path.insert(0, str(REPO / "tests"))
from conftest import commit_all, fork_template

SPEC = """\
schema_version: 1
name: {name}
description: runner benchmark
command: [python, -c, "{code}"]
params:
  point: 0
  work_ms: {work_ms}
inputs:
  data: datasets/iris@v1
tags: [bench]
{sweep}"""
# CPU for work_ms milliseconds (a training step's stand-in), measured on the process's own clock
BURN = (
    "import json, os, time; p = json.loads(os.environ['STRATA_PARAMS']); "
    "end = time.process_time() + p['work_ms'] / 1000\\n"
    "while time.process_time() < end: pass"
)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_overhead(repo: Path, repeat: int, label: str) -> None:
    """What `tools/run.py` adds to a command that does nothing, its input (the iris dataset)
    verified as a real run does: whole run minus the command alone, in interleaved pairs. The
    repository holds experiments/single.yaml, committed."""
    entry = str(REPO / "tools" / "run.py")
    alone_env = {**ENV, "STRATA_PARAMS": '{"point": 0, "work_ms": 0}'}

    def alone() -> None:
        subprocess.run([sys.executable, "-c", BURN.replace("\\n", "\n")], cwd=repo,
                       env=alone_env, check=True)  # fmt: skip

    single = paired(
        lambda: run(sys.executable, entry, "--experiment", "experiments/single.yaml", cwd=repo),
        alone,
        repeat,
    )
    overhead = single.ours - single.ref
    report(label, f"{overhead * 1000:.0f} ms: {single.text('the command alone')} "
           "(target < 100 ms)", overhead < 0.1)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=10, help="single runs, paired")
    parser.add_argument("--points", type=int, default=1000, help="sweep points")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work-ms", type=int, default=200, help="CPU each sweep point burns")
    args = parser.parse_args()
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):  # commits need a name, if git has none
        os.environ.setdefault(f"{variable}_NAME", "bench")
        os.environ.setdefault(f"{variable}_EMAIL", "bench@example.org")
    with tempfile.TemporaryDirectory(prefix="strata-runner-") as scratch:
        repo = fork_template(Path(scratch) / "repo")
        (repo / "experiments" / "single.yaml").write_text(
            SPEC.format(name="single", code=BURN, work_ms=0, sweep="")
        )
        grid = ", ".join(str(i) for i in range(args.points))
        (repo / "experiments" / "sweep.yaml").write_text(
            SPEC.format(name="sweep", code=BURN, work_ms=args.work_ms,
                        sweep=f"sweep:\n  grid:\n    point: [{grid}]\n")
        )  # fmt: skip
        commit_all(repo, "benchmark experiments")
        bench_overhead(repo, args.single, "runner overhead per run")
        entry = str(REPO / "tools" / "run.py")

        earlier = sum(1 for p in (repo / "runs").iterdir() if p.name.startswith("run-"))
        before, started = children_cpu(), time.perf_counter()
        run(sys.executable, entry, "--experiment", "experiments/sweep.yaml", "--jobs",
            str(args.jobs), cwd=repo)  # fmt: skip
        wall, cpu = time.perf_counter() - started, children_cpu() - before
        runs = sum(1 for p in (repo / "runs").iterdir() if p.name.startswith("run-")) - earlier
        cores = min(args.jobs, os.cpu_count() or 1)
        busy = cpu / (wall * cores)
        own = args.points * args.work_ms / 1000 / cores  # the commands' CPU, spread on the cores
        print(f"       sweep: {runs} runs recorded, {wall:.1f} s wall,"
              f" {cpu:.1f} s CPU")  # fmt: skip
        report(f"sweep of {args.points} with --jobs {args.jobs}, cores busy",
               f"{busy:.0%} of {cores} cores (target >= 90%)", busy >= 0.9)  # fmt: skip
        per_run = (wall - own) * cores / args.points
        report(f"sweep of {args.points}, overhead per run", f"{per_run * 1000:.0f} ms of a core "
               "(target < 100 ms)", per_run < 0.1)  # fmt: skip


if __name__ == "__main__":
    main()
