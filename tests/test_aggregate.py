"""strata runs aggregate / runs best --aggregate (TFC-0003 R18): a real sweep of 6 points x 3
seeds run by tools/run.py, its statistics checked against numpy and scipy's, read from the
run records by the test itself."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from conftest import (
    RunCli,
    assert_check_jsonschema,
    commit_all,
    doctor_script,
    example_run,
    fork_template,
    isolate,
)
from runkit import load_record, run_py, runs

SWEEP = """\
schema_version: 1
name: seeds
command: [python, experiments/train.py]
params:
  learning_rate: 0.5
  epochs: 12
  l2: 0.001
  seed: 0
inputs:
  data: datasets/iris@v1
outputs: [model.json]
sweep:
  grid:
    learning_rate: [0.1, 0.5, 1.0]
    l2: [0.0, 0.01]
    seed: [0, 1, 2]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One sweep for the module's tests (18 runs), made in an environment isolated as each
    test's is."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(monkeypatch, tmp_path_factory.mktemp("home"))
        repo = fork_template(tmp_path_factory.mktemp("aggregate") / "repo")
        (repo / "experiments" / "seeds.yaml").write_text(SWEEP)
        done = run_py(repo, "--experiment", "experiments/seeds.yaml", "--jobs", "2")
        assert done.returncode == 0, done.stderr
        commit_all(repo, "a sweep of 6 points x 3 seeds")
    yield repo


def expected_groups(repo: Path) -> dict[tuple[float, float], dict[str, list[float]]]:
    """(learning_rate, l2) -> final metric -> values, read from each run's files by json."""
    found: dict[tuple[float, float], dict[str, list[float]]] = {}
    for run_id in runs(repo):
        config = load_record(repo / "runs" / run_id)[0]
        if config["experiment"]["name"] != "seeds":
            continue
        params = config["params"]
        final = json.loads((repo / "runs" / run_id / "metrics.json").read_text())["final"]
        group = found.setdefault((params["learning_rate"], params["l2"]), {})
        for name, value in final.items():
            group.setdefault(name, []).append(value)
    return found


def test_aggregates_agree_with_numpy_and_scipy(
    swept: Path, strata: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(swept)
    code, out, err = strata(
        "runs", "aggregate", "--experiment", "seeds", "--group-by", "learning_rate,l2",
        "--over", "seed", "--format", "json"
    )  # fmt: skip
    assert (code, err) == (0, "")
    (tmp_path / "aggregate.json").write_text(out)
    assert_check_jsonschema(tmp_path / "aggregate.json", "runs-aggregate")
    document = json.loads(out)
    assert (document["experiment"], document["group_by"], document["over"]) == (
        "seeds", ["learning_rate", "l2"], ["seed"],
    )  # fmt: skip
    expected = expected_groups(swept)
    assert len(expected) == 6 and len(document["groups"]) == 6
    for group in document["groups"]:
        key = (group["group"]["learning_rate"], group["group"]["l2"])
        assert group["over"] == {"seed": [0, 1, 2]} and group["mixed"] == []
        assert len(group["runs"]) == 3
        assert sorted(group["metrics"]) == sorted(expected[key])
        for name, values in expected[key].items():
            got, sample = group["metrics"][name], np.array(values)
            assert got["count"] == 3
            assert got["mean"] == pytest.approx(sample.mean(), rel=1e-12, abs=1e-15)
            assert got["std"] == pytest.approx(sample.std(ddof=1), rel=1e-9, abs=1e-15)
            assert (got["min"], got["max"]) == (sample.min(), sample.max())
            if sample.std() > 0:
                interval = stats.t.interval(0.95, 2, loc=sample.mean(), scale=stats.sem(sample))
                assert got["ci95"] == pytest.approx(list(interval), rel=1e-9)
            else:
                assert got["ci95"] == [got["mean"], got["mean"]]
        # histories: per step, the mean of the three seeds' values at that step
        loss = group["histories"]["train/loss"]
        per_run = [
            {p["step"]: p["value"] for p in json.loads(
                (swept / "runs" / r / "metrics.json").read_text())["history"]["train/loss"]}
            for r in group["runs"]
        ]  # fmt: skip
        assert [p["step"] for p in loss] == sorted(per_run[0])
        for point in loss:
            at = np.array([run[point["step"]] for run in per_run])
            assert point["count"] == 3
            assert point["mean"] == pytest.approx(at.mean(), rel=1e-12)
            assert point["std"] == pytest.approx(at.std(ddof=1), rel=1e-9, abs=1e-15)


def test_text_form_and_best_group(
    swept: Path, strata: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(swept)
    code, out, err = strata("runs", "aggregate", "--experiment", "seeds", "--over", "seed",)  # fmt: skip
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert (
        lines[0] == "seeds: 18 succeeded runs in 6 groups by epochs, l2, learning_rate (over seed)"
    )
    assert lines[1].split() == ["GROUP", "N", "METRIC", "MEAN", "STD", "MIN", "MAX", "95%", "CI"]
    assert (
        lines[-1] == "histories: train/loss (12 steps); per-step mean and band with --format json"
    )
    assert len(lines) == 2 + 6 * 3 + 1  # a row per group and final metric

    expected = expected_groups(swept)
    means = {key: float(np.mean(v["val/accuracy"])) for key, v in expected.items()}
    best = max(means.values())
    winners = sorted(k for k, m in means.items() if m == best)
    code, out, err = strata(
        "runs", "best", "--experiment", "seeds", "--metric", "val/accuracy", "--aggregate",
        "mean", "--group-by", "learning_rate,l2", "--over", "seed", "--format", "json"
    )  # fmt: skip
    assert (code, err) == (0, "")
    (tmp_path / "best.json").write_text(out)
    assert_check_jsonschema(tmp_path / "best.json", "runs-best-group")
    document = json.loads(out)
    got = (document["best"]["group"]["learning_rate"], document["best"]["group"]["l2"])
    tied = [(g["learning_rate"], g["l2"]) for g in document["tied_with"]]
    assert sorted([got, *tied]) == winners
    assert document["value"] == pytest.approx(best, rel=1e-12)
    assert (document["aggregate"], document["goal"], document["groups_considered"]) == (
        "mean", "maximize", 6,
    )  # fmt: skip


def test_bad_names_say_what_exists(
    swept: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(swept)
    cases = [
        (("runs", "aggregate", "--experiment", "seedz", "--over", "seed"),
         "strata: error: no run of experiment 'seedz' (did you mean seeds?)\n"),
        (("runs", "aggregate", "--experiment", "seeds", "--over", "sed"),
         "strata: error: --over sed: no run of 'seeds' has that parameter (did you mean seed?)\n"),
        (("runs", "aggregate", "--experiment", "seeds", "--group-by", "seed", "--over", "seed"),
         "strata: error: seed: in both --group-by and --over\n"),
        (("runs", "best", "--experiment", "seeds", "--metric", "val/accuracy", "--over", "seed"),
         "strata: error: --group-by and --over rank groups: add --aggregate mean (or min, max, …)\n"),
        (("runs", "best", "--experiment", "seeds", "--metric", "val/acc", "--aggregate", "mean"),
         "strata: error: no group of 'seeds' reports a mean of 'val/acc' (did you mean val/accuracy?)\n"),
        (("runs", "best", "--experiment", "seeds", "--metric", "val/accuracy", "--aggregate",
          "median"), "strata: error: --aggregate median: choose from mean, min, max, low, high\n"),
    ]  # fmt: skip
    for args, message in cases:
        code, out, err = strata(*args)
        assert (code, out, err) == (2, "", message), args


def test_a_sweep_with_its_aggregates_survives_a_clone(swept: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(swept), str(clone)], check=True)
    done = doctor_script(clone, "--strict")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_catalogue_carries_each_experiments_aggregates(
    swept: Path, strata: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """index.json groups by every parameter but the seeds: what `runs aggregate --over seed`
    says, without the histories."""
    monkeypatch.chdir(swept)
    code, out, err = strata("runs", "aggregate", "--experiment", "seeds", "--over", "seed",
                            "--format", "json")  # fmt: skip
    assert (code, err) == (0, "")
    expected = json.loads(out)
    for group in expected["groups"]:
        del group["histories"]
    code, out, err = strata("index")
    assert code == 0
    (tmp_path / "index.json").write_text(out)
    assert_check_jsonschema(tmp_path / "index.json", "index")
    aggregates = {a["experiment"]: a for a in json.loads(out)["aggregates"]}
    assert sorted(aggregates) == [
        "iris.evaluate",
        "iris.prepare",
        "iris.train",
        "my_experiment",
        "seeds",
    ]

    assert aggregates["seeds"] == expected
    assert [g["runs"] for g in aggregates["my_experiment"]["groups"]] == [[example_run()]]


def test_groups_sort_by_size_and_odd_records_group_without_a_traceback() -> None:
    """Pure grouping: numbers by size (1e-05 before 0.1, 2 before 10), a hand-edited record's
    keys of mixed types still grouped, a nested value winning over a key spelled with a dot,
    and finite metrics too large for a plain sum still summarised."""
    from strataml.registry.groups import Member, group_members, grouping

    members = [
        Member.of("run-2026-01-01-aaa", {"lr": lr, "seed": seed, "opt": {"b": 2}, "opt.b": 9},
                  {"acc": value}, {})
        for lr, seed, value in ((10, 0, 1e308), (2, 0, 1e308), (1e-05, 1, 0.5), (0.1, 0, 0.25),
                                (10, 1, 1e308))
    ] + [Member.of("run-2026-01-01-bbb", {"lr": [{1: "a", "b": "c"}], "seed": 0}, {}, {})]  # fmt: skip
    by, over = grouping(members, (), ())
    assert (by, over) == (("lr", "opt.b"), ("seed",))
    groups = group_members(members, by, over)
    assert [g.values for g in groups] == [
        {"lr": 1e-05, "opt.b": 2}, {"lr": 0.1, "opt.b": 2}, {"lr": 2, "opt.b": 2},
        {"lr": 10, "opt.b": 2}, {"lr": [{1: "a", "b": "c"}], "opt.b": None},
    ]  # fmt: skip
    big = groups[3].metrics["acc"]
    assert (big.count, big.mean, big.std, big.low, big.high) == (2, 1e308, 0.0, 1e308, 1e308)
    assert groups[3].over == {"seed": (0, 1)}
