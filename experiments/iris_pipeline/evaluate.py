"""Pipeline stage `evaluate`: accuracy of the trained centroids on the prepared test split."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from strataml import tracking


def main() -> None:
    centroids = json.loads(Path(os.environ["STRATA_INPUT_MODEL"]).read_text(encoding="utf-8"))
    with Path(os.environ["STRATA_INPUT_TEST"]).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    right = 0
    for row in rows:
        point = [float(x) for x in row[:-1]]
        guess = min(
            centroids,
            key=lambda c: sum((a - b) ** 2 for a, b in zip(point, centroids[c], strict=True)),
        )
        right += guess == row[-1]
    accuracy = round(right / len(rows), 6)
    tracking.log_metric("accuracy", accuracy)
    out = Path(os.environ["STRATA_OUTPUT_DIR"]) / "report.json"
    out.write_text(json.dumps({"accuracy": accuracy}) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
