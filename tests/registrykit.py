"""A registry in bulk, cheaply and deterministically: copies of the template's own run, dataset
version and model version under new names, each sealed again as its writer would seal it, so
that `doctor --strict` passes on them (the scale test and benchmarks/perf.py, issue 17)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from conftest import EXAMPLE_RUN
from strataml.integrity.stamp import stamp_directory

RUN_DAY = "run-2026-11-26"


def _copy(source: Path, target: Path, old: str, new: str, documents: tuple[str, ...]) -> None:
    shutil.copytree(source, target)
    (target / "SIGNATURE.asc").unlink(missing_ok=True)  # it vouched for the original's listing
    for name in documents:
        document = target / name
        document.write_text(document.read_text("utf-8").replace(old, new), "utf-8")


def _vary(run: Path, n: int) -> None:
    """The run's own numbers, as a sweep's runs have: every metric scaled by a factor of its own
    (summary and history alike, so they still agree) and its own duration."""
    factor = 1 + (n + 1) * 1e-6

    def scaled(value: Any) -> Any:
        if isinstance(value, float):
            return value * factor
        if isinstance(value, dict):
            return {k: v if k == "step" else scaled(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scaled(v) for v in value]
        return value

    metrics = run / "metrics.json"
    data = json.loads(metrics.read_text("utf-8"))
    data["final"], data["history"] = scaled(data["final"]), scaled(data["history"])
    metrics.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")
    system = run / "system.json"
    data = json.loads(system.read_text("utf-8"))
    data["duration_s"] = round(data["duration_s"] + n / 1000, 3)
    system.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")


def add_copies(
    repo: Path, *, runs: int = 0, datasets: int = 0, models: int = 0, start: int = 0,
    lfs_bytes: int = 0, vary: bool = False,
) -> list[str]:  # fmt: skip
    """Add `runs` runs, `datasets` versions of datasets/iris and `models` versions of
    models/iris-classifier, numbered from `start`; their repo-relative paths. With `lfs_bytes`,
    each run also holds artifacts/weights.bin, which .gitattributes sends to Git LFS. With
    `vary`, each run's metrics and system record are its own (`_vary`), so no two runs share a
    document's bytes, as in a real sweep; else they are the template run's, byte for byte."""
    shipped = repo / "runs" / EXAMPLE_RUN  # the example experiment's, not a pipeline stage's
    added = []
    for n in range(start, start + runs):
        run = repo / "runs" / f"{RUN_DAY}-s{n:05d}"
        _copy(shipped, run, shipped.name, run.name, ("config.yaml", "logs.txt"))
        if vary:
            _vary(run, n)
        if lfs_bytes:
            (run / "artifacts" / "weights.bin").write_bytes(bytes([n % 256]) * lfs_bytes)
        added.append(run)
    for kind, name, count in (
        ("datasets", "iris", datasets),
        ("models", "iris-classifier", models),
    ):
        for n in range(start, start + count):
            version = repo / kind / name / f"v{n + 2}"  # v1 is the template's own
            _copy(version.with_name("v1"), version, "version: v1", f"version: {version.name}",
                  ("metadata.yaml",))  # fmt: skip
            added.append(version)
    for directory in added:
        stamp_directory(directory)
    return [d.relative_to(repo).as_posix() for d in added]
