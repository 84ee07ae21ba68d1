"""What the benchmarks share: timing in interleaved pairs, running a tool, doctor's time and peak
memory end to end, and the table of targets they print."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS: list[tuple[str, str, bool | None]] = []


def timed(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass(frozen=True)
class Paired:
    ours: float  # median seconds
    ref: float
    ratio: float  # median of the per-pair ratios
    low: float
    high: float
    pairs: int

    def text(self, name: str) -> str:
        return (
            f"{self.ours:.3f} s vs {name} {self.ref:.3f} s = {self.ratio:.2f}x"
            f" (median of {self.pairs} pairs, {self.low:.2f}-{self.high:.2f})"
        )


def paired(
    ours: Callable[[], object],
    ref: Callable[[], object],
    repeat: int,
    prepare: Callable[[], object] = lambda: None,
) -> Paired:
    """Time both sides in interleaved pairs, alternating which goes first, so that a slow spell of
    the machine (the disk of a VM above all) lands on both; the verdict is the median pair ratio."""
    times: dict[str, list[float]] = {"ours": [], "ref": []}
    for trial in range(repeat):
        order = [("ours", ours), ("ref", ref)]
        for side, action in order if trial % 2 == 0 else order[::-1]:
            prepare()
            started = time.perf_counter()
            action()
            times[side].append(time.perf_counter() - started)
    ratios = sorted(a / b for a, b in zip(times["ours"], times["ref"], strict=True))
    return Paired(
        statistics.median(times["ours"]), statistics.median(times["ref"]),
        statistics.median(ratios), ratios[0], ratios[-1], repeat,
    )  # fmt: skip


# Python programs (doctor, dvc) run as installed, with their bytecode cache: an environment that
# sets PYTHONDONTWRITEBYTECODE would otherwise recompile every module on every start.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, check=True, env=ENV)


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def report(name: str, detail: str, ok: bool | None) -> None:
    RESULTS.append((name, detail, ok))
    mark = "PASS" if ok else "n/a " if ok is None else "FAIL"
    print(f"[{mark}] {name}: {detail}", flush=True)


def anon_rss(pid: int) -> int:
    """Anonymous (not file-backed) memory of a process and its children, in bytes (PSS)."""
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:  # proportional: pages a forked worker shares with doctor are not counted twice
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith(("Pss_Anon:", "Pss_Shmem:")):
                total += int(line.split()[1]) * 1024
        todo += [int(c) for c in children]
    return total


def doctor(repo: Path, *args: str, memory: bool = False) -> tuple[float, int, str]:
    """(seconds, peak anonymous RSS of doctor and its workers in bytes, summary line).

    Pages of memory-mapped files are left out: the kernel can drop them at any time. The peak is
    measured only with `memory` (else 0): reading a process's smaps takes its memory map's lock
    every 5 ms, which slows the process, so timed runs are not watched."""
    # Output goes to files, not pipes: a report longer than a pipe's buffer would block doctor
    # while this loop, which reads nothing until it ends, waits for it.
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "tools" / "doctor.py"), *args],
            cwd=repo,
            env=ENV,
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
        peak = 0
        if memory:
            while proc.poll() is None:
                peak = max(peak, anon_rss(proc.pid))
                time.sleep(0.005)
        else:
            proc.wait()
        took = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    if proc.returncode not in (0, 1):
        raise SystemExit(err)
    return took, peak, out.strip().splitlines()[-1]


def nothing_sweep(points: int) -> str:
    """experiments/nothing.yaml: a sweep of `points` runs of a command that does nothing, one CPU
    each (benchmarks/slurm.py, benchmarks/ray_overhead.py)."""
    return (
        "schema_version: 1\nname: nothing\ncommand: [sh, -c, 'exit 0']\nparams:\n  i: 0\n"
        f"sweep:\n  grid:\n    i: {list(range(points))}\n"
        "resources:\n  cpus: 1\n  memory: 100M\n"
    )


def sweep_wall(repo: Path, *args: str, env: dict[str, str]) -> float:
    """Wall time of `tools/run.py --experiment experiments/nothing.yaml ARGS`."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "run.py"), "--experiment",
         "experiments/nothing.yaml", *args],
        cwd=repo, env=env, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started
