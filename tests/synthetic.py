"""Synthetic run records in bulk, for the dashboard's scale test and benchmark."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

EXPERIMENTS = ("baseline", "wide", "deep", "tuned")


def generate_runs(repo: Path, count: int, steps: int, seed: int = 0) -> list[str]:
    """`count` finished runs with `steps` points of two metrics each; returns their ids."""
    rng = random.Random(seed)
    ids = []
    for n in range(count):
        run_id = f"run-2026-01-{1 + n % 28:02d}-s{n:05d}"
        directory = repo / "runs" / run_id
        directory.mkdir(parents=True)
        lr = round(10 ** rng.uniform(-3, -0.5), 5)
        experiment = EXPERIMENTS[n % len(EXPERIMENTS)]
        status = "failed" if n % 17 == 0 else "succeeded"
        decay = rng.uniform(0.002, 0.01)
        loss = [
            [s, round(2.0 * math.exp(-decay * s) + rng.uniform(0, 0.05), 5)] for s in range(steps)
        ]
        acc = [
            [s, round(1 - 0.9 * math.exp(-decay * s) - rng.uniform(0, 0.02), 5)]
            for s in range(0, steps, 10)
        ]
        (directory / "config.yaml").write_text(
            f"schema_version: 1\nrun_id: {run_id}\nexperiment:\n  name: {experiment}\n  path: experiments/{experiment}.yaml\n"
            f"params:\n  learning_rate: {lr}\n  batch_size: {2 ** (4 + n % 4)}\n  layers: {1 + n % 5}\n"
            f"inputs: {{}}\nfingerprint: blake3:{n:064x}\ncreated: '2026-01-{1 + n % 28:02d}T{n % 24:02d}:00:00+00:00'\ntags: [{experiment}]\n",
            encoding="utf-8",
        )
        (directory / "system.json").write_text(json.dumps({
            "schema_version": 1, "status": status, "exit_code": 1 if status == "failed" else 0,
            "started": f"2026-01-{1 + n % 28:02d}T{n % 24:02d}:00:01+00:00", "ended": f"2026-01-{1 + n % 28:02d}T{n % 24:02d}:10:00+00:00",
            "duration_s": 599.0, "host": {"hostname": "bench", "os": "Linux", "cpu": {"model": "x", "cores": 2}, "memory_bytes": 1, "gpus": []},
            "python": {"version": "3.11.7"}, "git": {"commit": None, "branch": None, "dirty": False}, "strataml_version": "0.1.0",
        }), encoding="utf-8")  # fmt: skip
        (directory / "metrics.json").write_text(json.dumps({
            "schema_version": 1,
            "final": {"train/loss": loss[-1][1], "val/accuracy": acc[-1][1]},
            "history": {"train/loss": [{"step": s, "value": v} for s, v in loss], "val/accuracy": [{"step": s, "value": v} for s, v in acc]},
        }), encoding="utf-8")  # fmt: skip
        (directory / "logs.txt").write_text(
            f"[strata] {run_id} started\nepoch 0 loss {loss[0][1]}\n", encoding="utf-8"
        )
        ids.append(run_id)
    return ids


def generate_sweep(
    repo: Path, grid: dict[str, list[object]], seeds: int, steps: int, experiment: str = "sweep"
) -> list[str]:
    """One finished run per point of `grid` and seed (params: the grid's and `seed`), each with a
    `train/loss` history of `steps` points and final `train/loss` and `val/accuracy`, the loss
    falling faster the further along each grid parameter's list; returns their ids."""
    names = sorted(grid)
    points: list[dict[str, object]] = [{}]
    for name in names:
        points = [{**p, name: v} for p in points for v in grid[name]]
    ids = []
    for n, (point, seed) in enumerate((p, s) for p in points for s in range(seeds)):
        rng = random.Random(n)
        run_id = f"run-2026-02-01-w{n:05d}"
        directory = repo / "runs" / run_id
        directory.mkdir(parents=True)
        rate = 0.003 * math.prod(1 + grid[k].index(point[k]) / (j + 1) for j, k in enumerate(names))
        loss = [
            [s, round(2.0 * math.exp(-rate * s) + rng.uniform(0, 0.1), 5)] for s in range(steps)
        ]
        accuracy = round(1 - loss[-1][1] / 2.5, 5)
        params = "".join(f"  {k}: {json.dumps(v)}\n" for k, v in {**point, "seed": seed}.items())
        (directory / "config.yaml").write_text(
            f"schema_version: 1\nrun_id: {run_id}\nexperiment:\n  name: {experiment}\n"
            f"  path: experiments/{experiment}.yaml\nparams:\n{params}inputs: {{}}\n"
            f"fingerprint: blake3:{n + 1:064x}\ncreated: '2026-02-01T00:{n % 60:02d}:00+00:00'\n"
            f"tags: [{experiment}]\n",
            encoding="utf-8",
        )
        (directory / "system.json").write_text(json.dumps({
            "schema_version": 1, "status": "succeeded", "exit_code": 0,
            "started": "2026-02-01T00:00:01+00:00", "ended": "2026-02-01T00:10:00+00:00",
            "duration_s": 599.0, "host": {"hostname": "bench", "os": "Linux", "cpu": {"model": "x", "cores": 2}, "memory_bytes": 1, "gpus": []},
            "python": {"version": "3.11.7"}, "git": {"commit": None, "branch": None, "dirty": False}, "strataml_version": "0.1.0",
        }), encoding="utf-8")  # fmt: skip
        (directory / "metrics.json").write_text(json.dumps({
            "schema_version": 1,
            "final": {"train/loss": loss[-1][1], "val/accuracy": accuracy},
            "history": {"train/loss": [{"step": s, "value": v} for s, v in loss]},
        }), encoding="utf-8")  # fmt: skip
        (directory / "logs.txt").write_text(f"[strata] {run_id} started\n", encoding="utf-8")
        ids.append(run_id)
    return ids
