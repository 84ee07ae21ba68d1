"""The registry case of issue 17 (and issue 20's pipeline status): N sealed, committed runs beside 200 model versions and 50
dataset versions, all copies of the template's own (tests/registrykit.py), so the same N gives
the same repository. Every figure is a whole command in its own process, as a user runs it."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from measure import ENV, REPO, doctor, report, run, timed
from pipelines import bench_pipeline_status
from runner import BURN, SPEC, bench_overhead

sys.path.insert(0, str(REPO / "tests"))
from conftest import commit_all, fork_template
from registrykit import RUN_DAY, add_copies

MODELS, DATASETS = 200, 50
TOOLS_ENV = {**ENV, "PYTHONPATH": str(REPO / "tools")}  # `python -m strataml`: this checkout's


def strata(repo: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "strataml", *args], cwd=repo, env=TOOLS_ENV,
                   capture_output=True, check=True)  # fmt: skip
    return time.perf_counter() - started


def bench_registry(scratch: Path, runs: int, repeat: int) -> None:
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):  # commits need a name, if git has none
        os.environ.setdefault(f"{variable}_NAME", "bench")
        os.environ.setdefault(f"{variable}_EMAIL", "bench@example.org")
    started = time.perf_counter()
    repo = fork_template(scratch / "registry")
    # Each run with metrics and a system record of its own, as a sweep's are: no two runs'
    # documents share bytes (which the parse cache would read once).
    add_copies(repo, runs=runs, datasets=DATASETS, models=MODELS, vary=True)
    commit_all(repo, f"{runs} runs, {MODELS} model and {DATASETS} dataset versions")
    files = [p for tree in ("datasets", "models", "runs") for p in (repo / tree).rglob("*")
             if p.is_file()]  # fmt: skip
    size = sum(p.stat().st_size for p in files)
    print(f"generated {runs} runs + {MODELS} model + {DATASETS} dataset versions: {len(files)} "
          f"files, {size / 2**20:.0f} MiB, committed, in {time.perf_counter() - started:.0f} s\n",
          flush=True)  # fmt: skip
    time.sleep(2.1)  # past the hash cache's racy window, as a checkout a while ago is

    # The floor a first run is held to: b3sum over the same files, and doctor's own start-up
    # (the interpreter and the CLI's imports: `doctor.py --help`).
    listing = scratch / "files.txt"
    listing.write_bytes(b"\0".join(str(p).encode() for p in files))
    b3sum = shutil.which("b3sum")
    xargs = f"xargs -0 -P2 {b3sum} --num-threads 1 < {listing} > /dev/null"
    floor = timed(lambda: subprocess.run(xargs, shell=True, check=True), repeat) if b3sum else None
    entry = str(REPO / "tools" / "doctor.py")
    python = timed(lambda: run(sys.executable, entry, "--help", cwd=repo), repeat)
    first = []
    for _ in range(repeat):
        shutil.rmtree(repo / ".strata", ignore_errors=True)
        first.append(doctor(repo, "--strict"))
    warm = [doctor(repo, "--strict") for _ in range(repeat)]
    took = statistics.median(t for t, _, _ in first)
    print(f"       doctor: {warm[-1][2]}")
    if floor is not None:
        ratio = took / (floor + python)
        report(f"doctor first run, {runs} runs", f"{took:.2f} s vs b3sum {floor:.2f} s + Python "
               f"start-up {python:.2f} s = {ratio:.2f}x (target <= 1.5x)", ratio <= 1.5)  # fmt: skip
    else:
        report(f"doctor first run, {runs} runs", f"{took:.2f} s; b3sum not installed", None)
    warm_s = statistics.median(t for t, _, _ in warm)
    spread = f"{min(t for t, _, _ in warm):.3f}-{max(t for t, _, _ in warm):.3f}"
    report(f"doctor warm, {runs} runs", f"{warm_s:.3f} s median ({spread}) (target < 1.0 s)",
           warm_s < 1.0)  # fmt: skip
    # The run right after a first one is warm too, though the first run's `git status` may have
    # rewritten Git's index (files committed just after they were written): timed on its own, so
    # that a median cannot hide it.
    second = warm[0][0]
    report(f"doctor second run, {runs} runs", f"{second:.3f} s (target < 1.0 s)", second < 1.0)

    add_copies(repo, runs=1, start=runs, vary=True)  # one new run, committed, as after a push
    commit_all(repo, "one run more")
    time.sleep(2.1)
    since = [doctor(repo, "--strict", "--since", "HEAD~1") for _ in range(repeat)]
    since_s = statistics.median(t for t, _, _ in since)
    report("doctor --since HEAD~1, one new run", f"{since_s:.3f} s: "
           f"{since[-1][2].split('; ', 1)[-1]} (target < 0.5 s)", since_s < 0.5)  # fmt: skip
    # Memory apart from the timed runs (watching it slows doctor): a first, a warm, a --since run.
    shutil.rmtree(repo / ".strata", ignore_errors=True)
    watched = [doctor(repo, "--strict", memory=True), doctor(repo, "--strict", memory=True),
               doctor(repo, "--strict", "--since", "HEAD~1", memory=True)]  # fmt: skip
    peak = max(r for _, r, _ in watched)
    report(f"doctor peak memory, {runs} runs", f"{peak / 2**20:.0f} MiB RSS (target < 500 MiB)",
           peak < 500 * 2**20)  # fmt: skip

    site = scratch / "site"
    index = timed(lambda: run(sys.executable, str(REPO / "tools" / "index.py"), "--site",
                              str(site), "--output", str(scratch / "index.json"), "--force",
                              cwd=repo), repeat)  # fmt: skip
    report(f"tools/index.py --site, {runs} runs", f"{index:.2f} s (target < 5 s)", index < 5)
    # The first listing after doctor builds the listing's cache: said, not held to a target.
    shutil.rmtree(repo / ".strata", ignore_errors=True)
    doctor(repo, "--strict")
    print(f"       first strata runs list after a first doctor run: "
          f"{strata(repo, 'runs', 'list'):.2f} s (builds its cache)", flush=True)  # fmt: skip
    two = [f"{RUN_DAY}-s{0:05d}", f"{RUN_DAY}-s{runs - 1:05d}"]
    for name, args in (
        ("runs list", ("runs", "list")),
        ("runs best", ("runs", "best", "--experiment", "my_experiment", "--metric",
                       "val/accuracy")),
        ("runs compare", ("runs", "compare", *two)),
    ):  # fmt: skip
        seconds = timed(lambda args=args: strata(repo, *args), repeat)
        report(f"strata {name}, {runs} runs", f"{seconds:.3f} s (target < 0.5 s)", seconds < 0.5)

    bench_pipeline_status(repo, runs, repeat, TOOLS_ENV)

    # A run started in the registry: its input check and code state must not walk the runs.
    (repo / "experiments" / "single.yaml").write_text(
        SPEC.format(name="single", code=BURN, work_ms=0, sweep="")
    )
    commit_all(repo, "benchmark experiment")
    time.sleep(2.1)
    bench_overhead(repo, max(repeat, 5), f"runner overhead per run, in the registry of {runs}")
