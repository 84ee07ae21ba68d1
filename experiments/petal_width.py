"""Petal width from petal length by least squares: the README's second model, a regression.

Reads `train/`, `val/` and `test/` CSV files of the input named `data` (columns petal_length_cm
and petal_width_cm), reports the RMSE of each held-out split and writes the line as model.json.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from strataml import tracking


def load(split: str) -> list[tuple[float, float]]:
    rows: list[tuple[float, float]] = []
    for path in sorted((tracking.input_path("data") / split).glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows += [
                (float(r["petal_length_cm"]), float(r["petal_width_cm"]))
                for r in csv.DictReader(handle)
            ]
    return rows


def fit(rows: list[tuple[float, float]]) -> tuple[float, float]:
    n = len(rows)
    mx, my = sum(x for x, _ in rows) / n, sum(y for _, y in rows) / n
    slope = sum((x - mx) * (y - my) for x, y in rows) / sum((x - mx) ** 2 for x, _ in rows)
    return my - slope * mx, slope


def main() -> None:
    intercept, slope = fit(load("train"))
    for split in ("val", "test"):
        rows = load(split)
        rmse = math.sqrt(sum((intercept + slope * x - y) ** 2 for x, y in rows) / len(rows))
        tracking.log_metric(f"{split}/rmse", round(rmse, 6))
        print(f"{split}/rmse {rmse:.4f}")
    model = {"intercept": intercept, "slope": slope}
    Path(tracking.output_dir(), "model.json").write_text(
        json.dumps(model, sort_keys=True) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
