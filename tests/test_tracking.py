"""strataml.tracking: what a command sees inside a run, and how its metric lines are read (TFC-0002 R5, R6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from strataml import schemas, tracking
from strataml.tracking import TrackingError, metrics_document, read_metric_lines


@pytest.fixture
def inside_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    metrics = tmp_path / "metrics.jsonl"
    monkeypatch.setenv("STRATA_METRICS_FILE", str(metrics))
    monkeypatch.setenv("STRATA_PARAMS", '{"lr": 0.1, "layers": [2, 3]}')
    monkeypatch.setenv("STRATA_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("STRATA_OUTPUT_DIR", str(tmp_path / "run" / "artifacts"))
    monkeypatch.setenv("STRATA_INPUT_DATA", str(tmp_path / "data"))
    return metrics


def test_where_things_are(inside_run: Path, tmp_path: Path) -> None:
    assert tracking.params() == {"lr": 0.1, "layers": [2, 3]}
    assert tracking.input_path("data") == tmp_path / "data"
    assert tracking.output_dir() == tmp_path / "run" / "artifacts"
    assert tracking.run_dir() == tmp_path / "run"


def test_outside_a_run_every_accessor_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("STRATA_PARAMS", "STRATA_OUTPUT_DIR", "STRATA_RUN_DIR", "STRATA_INPUT_DATA",
                "STRATA_METRICS_FILE"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    for call, var in (
        (tracking.params, "STRATA_PARAMS"),
        (tracking.output_dir, "STRATA_OUTPUT_DIR"),
        (tracking.run_dir, "STRATA_RUN_DIR"),
        (lambda: tracking.input_path("data"), "STRATA_INPUT_DATA"),
        (lambda: tracking.log_metric("loss", 1.0), "STRATA_METRICS_FILE"),
    ):
        with pytest.raises(TrackingError) as caught:
            call()
        assert str(caught.value) == f"{var} is not set: this code runs outside `tools/run.py`"


def test_params_must_be_an_object(inside_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATA_PARAMS", "[1, 2]")
    with pytest.raises(TrackingError, match=r"^STRATA_PARAMS is not a JSON object$"):
        tracking.params()


def test_log_metric_appends_exact_lines(inside_run: Path) -> None:
    tracking.log_metric("train/loss", 0.5, step=0)
    tracking.log_metrics({"val/acc": 0.75, "val/f1": 1}, step=3)
    tracking.log_metric("test/acc", 0.9)
    assert inside_run.read_text() == (
        '{"name": "train/loss", "value": 0.5, "step": 0}\n'
        '{"name": "val/acc", "value": 0.75, "step": 3}\n'
        '{"name": "val/f1", "value": 1, "step": 3}\n'
        '{"name": "test/acc", "value": 0.9}\n'
    )


@pytest.mark.parametrize(
    ("name", "value", "step", "problem"),
    [
        ("loss", float("nan"), None, "value is not a finite number"),
        ("loss", float("inf"), 1, "value is not a finite number"),
        ("loss", True, None, "value is not a finite number"),
        ("loss", "0.5", None, "value is not a finite number"),
        ("has space", 1.0, None, "name must be letters, digits and _ . / : @ - (at most 128)"),
        ("x" * 129, 1.0, None, "name must be letters, digits and _ . / : @ - (at most 128)"),
        ("loss", 1.0, -1, "step is not a non-negative integer"),
        ("loss", 1.0, 1.5, "step is not a non-negative integer"),
    ],
)
def test_log_metric_refuses_what_json_or_the_schema_cannot_hold(
    inside_run: Path, name: str, value: object, step: object, problem: str
) -> None:
    with pytest.raises(TrackingError) as caught:
        tracking.log_metric(name, value, step=step)  # type: ignore[arg-type]
    assert str(caught.value) == f"metric {name!r}: {problem}"
    assert not inside_run.exists()  # nothing half-written


def test_concurrent_writers_never_split_a_line(inside_run: Path) -> None:
    writer = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO / 'tools')!r})\n"
        "from strataml import tracking\n"
        "for i in range(400):\n"
        "    tracking.log_metrics({f'w{sys.argv[1]}/m{j}': i + j / 10 for j in range(5)}, step=i)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(n)]) for n in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    lines = inside_run.read_text().splitlines()
    assert len(lines) == 4 * 400 * 5
    entries = [json.loads(line) for line in lines]  # every line whole
    record, warnings = read_metric_lines(inside_run.read_bytes())
    assert warnings == []
    for n in range(4):
        steps = [p.step for p in record.history[f"w{n}/m0"]]
        assert steps == list(range(400))  # each writer's own order kept
    assert {e["name"] for e in entries} == {f"w{n}/m{j}" for n in range(4) for j in range(5)}


def test_reading_skips_bad_lines_with_exact_warnings() -> None:
    raw = b"\n".join([
        b'{"name": "loss", "value": 1.0, "step": 0}',
        b"not json",
        b"\xff\xfe\x00binary",
        b'["a", "list"]',
        b'{"name": "loss", "value": NaN, "step": 1}',
        b'{"name": "loss", "value": 0.5, "step": 2, "time": 1.25}',
        b'{"name": "loss", "value": 0.4, "step": 3, "time": -1}',
        b'{"name": "bad name", "value": 1}',
        b"[" * 100_000,
        b'{"name": "acc", "value": 0.9}',
        b'{"name": "loss", "value": 0.25, "step": 4}',
        b"",
    ])  # fmt: skip
    record, warnings = read_metric_lines(raw)
    assert warnings == [
        "metrics line 2: not a JSON object",
        "metrics line 3: not a JSON object",
        "metrics line 4: not a JSON object",
        "metrics line 5: value is not a finite number (NaN and Infinity are not JSON)",
        "metrics line 7: time is not a non-negative number of seconds",
        "metrics line 8: name must be letters, digits and _ . / : @ - (at most 128)",
        "metrics line 9: not a JSON object",
    ]
    document = metrics_document(record)
    assert document == {
        "schema_version": 1,
        "final": {"acc": 0.9, "loss": 0.25},
        "history": {
            "loss": [
                {"step": 0, "value": 1.0},
                {"step": 2, "value": 0.5, "time": 1.25},
                {"step": 4, "value": 0.25},
            ]
        },
    }
    assert schemas.validate("run-metrics", document) == []


def test_an_explicit_final_value_wins_over_the_last_point() -> None:
    raw = b'{"name": "loss", "value": 0.3, "step": 0}\n{"name": "loss", "value": 0.1}\n{"name": "loss", "value": 0.2, "step": 1}\n'
    document = metrics_document(read_metric_lines(raw)[0])
    assert document["final"] == {"loss": 0.1}
    assert [p["value"] for p in document["history"]["loss"]] == [0.3, 0.2]
    assert metrics_document(read_metric_lines(b"")[0]) == {
        "schema_version": 1, "final": {}, "history": {},
    }  # fmt: skip
