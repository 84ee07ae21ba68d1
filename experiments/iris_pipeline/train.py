"""Pipeline stage `train`: a nearest-centroid classifier pulled towards the mean by `lr`."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from strataml import tracking


def main() -> None:
    params = json.loads(os.environ["STRATA_PARAMS"])
    with Path(os.environ["STRATA_INPUT_TRAIN"]).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    by_class: dict[str, list[list[float]]] = {}
    for row in rows:
        by_class.setdefault(row[-1], []).append([float(x) for x in row[:-1]])
    shrink = 1.0 - float(params["lr"])  # toy: lr pulls every centroid towards the origin
    centroids = {
        label: [round(shrink * sum(col) / len(col), 6) for col in zip(*points, strict=True)]
        for label, points in sorted(by_class.items())
    }
    out = Path(os.environ["STRATA_OUTPUT_DIR"]) / "model.json"
    out.write_text(json.dumps(centroids, sort_keys=True) + "\n", encoding="utf-8")
    tracking.log_metric("classes", len(centroids))


if __name__ == "__main__":
    main()
