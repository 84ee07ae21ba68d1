"""Softmax regression on iris with the standard library alone: the template's worked example."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

from strataml import tracking

FEATURES = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]
LABEL = "species"


def load_split(root: Path, split: str) -> tuple[list[list[float]], list[str]]:
    with (root / split / "iris.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [[float(r[f]) for f in FEATURES] for r in rows], [r[LABEL] for r in rows]


def standardiser(rows: list[list[float]]) -> tuple[list[float], list[float]]:
    n = len(rows)
    means = [sum(col) / n for col in zip(*rows, strict=True)]
    stds = [
        math.sqrt(sum((x - m) ** 2 for x in col) / n) or 1.0
        for col, m in zip(zip(*rows, strict=True), means, strict=True)
    ]
    return means, stds


def scale(rows: list[list[float]], means: list[float], stds: list[float]) -> list[list[float]]:
    return [[(x - m) / s for x, m, s in zip(row, means, stds, strict=True)] for row in rows]


def softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def predict(weights: list[list[float]], biases: list[float], row: list[float]) -> list[float]:
    return softmax(
        [
            sum(w * x for w, x in zip(ws, row, strict=True)) + b
            for ws, b in zip(weights, biases, strict=True)
        ]
    )


def accuracy(
    weights: list[list[float]], biases: list[float], rows: list[list[float]], labels: list[int]
) -> float:
    hits = 0
    for row, label in zip(rows, labels, strict=True):
        probs = predict(weights, biases, row)
        hits += probs.index(max(probs)) == label
    return hits / len(rows)


def train(
    params: dict[str, float], rows: list[list[float]], labels: list[int], classes: int
) -> tuple[list[list[float]], list[float], list[float]]:
    rng = random.Random(int(params["seed"]))
    weights = [[rng.gauss(0.0, 0.01) for _ in FEATURES] for _ in range(classes)]
    biases = [0.0] * classes
    rate, l2, n = float(params["learning_rate"]), float(params["l2"]), len(rows)
    losses = []
    for _ in range(int(params["epochs"])):
        grad_w = [[0.0] * len(FEATURES) for _ in range(classes)]
        grad_b = [0.0] * classes
        loss = 0.0
        for row, label in zip(rows, labels, strict=True):
            probs = predict(weights, biases, row)
            loss -= math.log(max(probs[label], 1e-12))
            for k in range(classes):
                error = probs[k] - (k == label)
                grad_b[k] += error
                for j, x in enumerate(row):
                    grad_w[k][j] += error * x
        loss = loss / n + l2 / 2 * sum(w * w for ws in weights for w in ws)
        for k in range(classes):
            biases[k] -= rate * grad_b[k] / n
            for j in range(len(FEATURES)):
                weights[k][j] -= rate * (grad_w[k][j] / n + l2 * weights[k][j])
        losses.append(loss)
    return weights, biases, losses


def main() -> None:
    params = tracking.params()
    data = tracking.input_path("data")
    train_rows, train_names = load_split(data, "train")
    classes = sorted(set(train_names))
    means, stds = standardiser(train_rows)
    encode = classes.index
    rows, labels = scale(train_rows, means, stds), [encode(n) for n in train_names]
    weights, biases, losses = train(params, rows, labels, len(classes))
    for epoch, loss in enumerate(losses):
        tracking.log_metric("train/loss", loss, step=epoch)
        if epoch % 20 == 0 or epoch == len(losses) - 1:
            print(f"epoch {epoch:4d}  loss {loss:.4f}")
    results = {"train/loss": losses[-1]}
    for split in ("val", "test"):
        split_rows, split_names = load_split(data, split)
        results[f"{split}/accuracy"] = accuracy(
            weights, biases, scale(split_rows, means, stds), [encode(n) for n in split_names]
        )
    tracking.log_metrics(results)
    model = {
        "classes": classes,
        "features": FEATURES,
        "means": means,
        "stds": stds,
        "weights": weights,
        "biases": biases,
    }
    (tracking.output_dir() / "model.json").write_text(
        json.dumps(model, sort_keys=True, indent=1) + "\n", encoding="utf-8"
    )
    print("  ".join(f"{k} {v:.4f}" for k, v in sorted(results.items())))


if __name__ == "__main__":
    main()
