"""Issue 20's scale target: `strata status` on a 50-stage pipeline in a registry of N runs.

The pipeline is generated deterministically: stage k reads stage k-1's output (and stage k-2's
where k is even), stage 0 reads datasets/iris@v1. It is run once through `tools/run.py
--pipeline --jobs 2`, committed, and `strata status` is then timed warm as a user runs it: up to
date, and again after one stage's parameter changed (that stage and all after it stale)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from measure import REPO, report, run

STAGES = 50
SCRIPT = '''"""A benchmark stage: its output is a digest of its inputs and its parameter."""

import hashlib
import json
import os
from pathlib import Path

digest = hashlib.blake2b(os.environ["STRATA_PARAMS"].encode())
for name in sorted(k for k in os.environ if k.startswith("STRATA_INPUT_")):
    source = Path(os.environ[name])
    for path in sorted(source.rglob("*")) if source.is_dir() else [source]:
        if path.is_file():
            digest.update(path.read_bytes())
out = Path(os.environ["STRATA_OUTPUT_DIR"]) / "out.txt"
out.write_text(digest.hexdigest() + "\\n", encoding="utf-8")
'''


def spec(stages: int, changed: int | None = None) -> str:
    lines = ["schema_version: 1", "name: bench", "stages:"]
    for k in range(stages):
        n = k + 1 if k == changed else k
        lines += [f"  s{k:02d}:", "    command: [python, experiments/bench_pipeline/stage.py]",
                  f"    params: {{n: {n}}}", "    inputs:"]  # fmt: skip
        if k == 0:
            lines.append("      data: datasets/iris@v1")
        else:
            lines.append(f"      prev: {{stage: s{k - 1:02d}, output: out.txt}}")
        if k >= 2 and k % 2 == 0:
            lines.append(f"      back: {{stage: s{k - 2:02d}, output: out.txt}}")
        lines.append("    outputs: [out.txt]")
    return "\n".join(lines) + "\n"


def status(repo: Path, env: dict[str, str]) -> dict[str, int]:
    done = subprocess.run([sys.executable, "-m", "strataml", "status", "pipelines/bench.yaml",
                           "--format", "json"], cwd=repo, env=env, capture_output=True,
                          check=False, text=True)  # fmt: skip
    states: dict[str, int] = {}
    for pipeline in json.loads(done.stdout)["pipelines"]:
        for stage in pipeline["stages"]:
            states[stage["state"]] = states.get(stage["state"], 0) + 1
    return states


def bench_pipeline_status(repo: Path, runs: int, repeat: int, env: dict[str, str]) -> None:
    from conftest import commit_all

    (repo / "experiments" / "bench_pipeline").mkdir(parents=True, exist_ok=True)
    (repo / "experiments" / "bench_pipeline" / "stage.py").write_text(SCRIPT, "utf-8")
    pipeline = repo / "pipelines" / "bench.yaml"
    pipeline.write_text(spec(STAGES), "utf-8")
    started = time.perf_counter()
    run(sys.executable, str(REPO / "tools" / "run.py"), "--pipeline", "pipelines/bench.yaml",
        "--jobs", "2", cwd=repo)  # fmt: skip
    print(f"ran the {STAGES}-stage pipeline in {time.perf_counter() - started:.1f} s", flush=True)
    commit_all(repo, f"the {STAGES}-stage benchmark pipeline and its runs")

    def timed_status() -> tuple[float, dict[str, int]]:
        times, states = [], {}
        for _ in range(repeat + 1):  # the first fills the run cache; the rest are warm
            began = time.perf_counter()
            states = status(repo, env)
            times.append(time.perf_counter() - began)
        return statistics.median(times[1:]), states

    seconds, states = timed_status()
    report(f"strata status, {STAGES} stages, {runs} runs", f"{seconds:.3f} s warm, {states} "
           "(target < 1 s)", seconds < 1.0 and states == {"up to date": STAGES})  # fmt: skip
    pipeline.write_text(spec(STAGES, changed=STAGES // 2), "utf-8")
    seconds, states = timed_status()
    expected = {"up to date": STAGES // 2, "stale": STAGES - STAGES // 2}
    report(f"strata status, {STAGES} stages, one parameter changed", f"{seconds:.3f} s warm, "
           f"{states} (target < 1 s)", seconds < 1.0 and states == expected)  # fmt: skip
