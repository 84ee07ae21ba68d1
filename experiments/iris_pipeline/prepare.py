"""Pipeline stage `prepare`: standardise iris's train and test splits with train's statistics."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

FEATURES = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    data, out = Path(os.environ["STRATA_INPUT_DATA"]), Path(os.environ["STRATA_OUTPUT_DIR"])
    train, test = read(data / "train" / "iris.csv"), read(data / "test" / "iris.csv")
    stats = {}
    for f in FEATURES:
        values = [float(r[f]) for r in train]
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5 or 1.0
        stats[f] = (mean, std)
    for name, rows in (("train.csv", train), ("test.csv", test)):
        with (out / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow([*FEATURES, "species"])
            for r in rows:
                scaled = [round((float(r[f]) - stats[f][0]) / stats[f][1], 6) for f in FEATURES]
                writer.writerow([*scaled, r["species"]])
    (out / "stats.json").write_text(json.dumps(stats, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
