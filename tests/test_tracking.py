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

NAME_RULE = "name must be letters, digits and _ . / : @ - (at most 128)"
NOT_FINITE = "value is not a finite number"
BAD_STEP = "step is not a non-negative integer"
BAD_TIME = "time is not a non-negative number of seconds"


@pytest.fixture
def inside_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    metrics = tmp_path / "metrics.jsonl"
    monkeypatch.setenv("STRATA_METRICS_FILE", str(metrics))
    monkeypatch.setenv("STRATA_PARAMS", '{"layers": [2, 3], "lr": 0.1, "opt": {"name": "adam"}}')
    monkeypatch.setenv("STRATA_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("STRATA_OUTPUT_DIR", str(tmp_path / "run" / "artifacts"))
    monkeypatch.setenv("STRATA_INPUT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("STRATA_INPUT_TRAIN_SET", str(tmp_path / "train"))
    return metrics


def test_where_things_are(inside_run: Path, tmp_path: Path) -> None:
    assert tracking.params() == {"layers": [2, 3], "lr": 0.1, "opt": {"name": "adam"}}
    assert tracking.input_path("data") == tmp_path / "data"
    assert tracking.input_path("train_set") == tmp_path / "train"  # STRATA_INPUT_<NAME upper>
    assert tracking.input_path("Train_Set") == tmp_path / "train"
    assert tracking.output_dir() == tmp_path / "run" / "artifacts"
    assert tracking.run_dir() == tmp_path / "run"


@pytest.mark.parametrize("empty", [False, True])
def test_outside_a_run_every_accessor_says_so(monkeypatch: pytest.MonkeyPatch, empty: bool) -> None:
    variables = ("STRATA_PARAMS", "STRATA_OUTPUT_DIR", "STRATA_RUN_DIR", "STRATA_INPUT_DATA",
                 "STRATA_METRICS_FILE")  # fmt: skip
    for var in variables:
        if empty:  # set but empty counts as absent
            monkeypatch.setenv(var, "")
        else:
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
    inside_run.write_text('{"name": "before", "value": 2}\n')  # appended to, never truncated
    tracking.log_metric("train/loss", 0.5, step=0)
    tracking.log_metrics({"val/acc": 0.75, "val/f1": 1}, step=3)
    tracking.log_metric("test/acc", 0.9)
    tracking.log_metric("a_./:@-" + "z" * 121, -0.0, step=10**12)  # 128 chars, the longest name
    assert inside_run.read_text() == (
        '{"name": "before", "value": 2}\n'
        '{"name": "train/loss", "value": 0.5, "step": 0}\n'
        '{"name": "val/acc", "value": 0.75, "step": 3}\n'
        '{"name": "val/f1", "value": 1, "step": 3}\n'
        '{"name": "test/acc", "value": 0.9}\n'
        f'{{"name": "a_./:@-{"z" * 121}", "value": -0.0, "step": 1000000000000}}\n'
    )


@pytest.mark.parametrize(
    ("name", "value", "step", "problem"),
    [
        ("loss", float("nan"), None, NOT_FINITE),
        ("loss", float("inf"), 1, NOT_FINITE),
        ("loss", float("-inf"), None, NOT_FINITE),
        ("loss", True, None, NOT_FINITE),
        ("loss", "0.5", None, NOT_FINITE),
        ("loss", None, None, NOT_FINITE),
        ("has space", 1.0, None, NAME_RULE),
        ("", 1.0, None, NAME_RULE),
        ("-loss", 1.0, None, NAME_RULE),
        ("loss\n", 1.0, None, NAME_RULE),
        ("x" * 129, 1.0, None, NAME_RULE),
        ("loss", 1.0, -1, BAD_STEP),
        ("loss", 1.0, 1.5, BAD_STEP),
        ("loss", 1.0, True, BAD_STEP),
    ],
)
def test_log_metric_refuses_what_json_or_the_schema_cannot_hold(
    inside_run: Path, name: str, value: object, step: object, problem: str
) -> None:
    with pytest.raises(TrackingError) as caught:
        tracking.log_metric(name, value, step=step)  # type: ignore[arg-type]
    assert str(caught.value) == f"metric {name!r}: {problem}"
    assert not inside_run.exists()  # nothing half-written


def test_one_bad_value_writes_none_of_the_batch(inside_run: Path) -> None:
    with pytest.raises(TrackingError, match=r"^metric 'b': value is not a finite number$"):
        tracking.log_metrics({"a": 1.0, "b": float("nan"), "c": 2.0}, step=0)
    assert not inside_run.exists()


def test_an_integer_too_large_for_a_float_is_a_warning_not_a_crash() -> None:
    huge = b"1" + b"0" * 400  # valid JSON, under Python's 4300-digit limit
    raw = (
        b'{"name": "x", "value": '
        + huge
        + b'}\n{"name": "y", "value": 1, "step": 0, "time": '
        + huge
        + b"}"
    )
    record, warnings = read_metric_lines(raw)
    assert warnings == [f"metrics line 1: {NOT_FINITE}", f"metrics line 2: {BAD_TIME}"]
    assert metrics_document(record) == {"schema_version": 1, "final": {}, "history": {}}


def test_concurrent_writers_never_split_a_line(inside_run: Path) -> None:
    writer = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO / 'tools')!r})\n"
        "from strataml import tracking\n"
        "for i in range(500):\n"
        "    tracking.log_metrics({f'w{sys.argv[1]}/m{j}': i + j / 10 for j in range(3)}, step=i)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(n)]) for n in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    raw = inside_run.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.decode().splitlines()
    assert len(lines) == 4 * 500 * 3
    entries = [json.loads(line) for line in lines]  # every line whole
    assert all(set(e) == {"name", "value", "step"} for e in entries)
    record, warnings = read_metric_lines(raw)
    assert warnings == []
    for n in range(4):
        for j in range(3):  # each writer's own order kept, no line lost
            points = record.history[f"w{n}/m{j}"]
            assert [(p.step, p.value) for p in points] == [(i, i + j / 10) for i in range(500)]
    assert len(record.history) == 12


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
        b'{"name": "loss", "value": "0.5"}',
        b'{"name": "loss", "value": true, "step": 5}',
        b'{"name": "loss", "value": 1, "step": 1.5}',
        b'{"name": "loss", "value": 1, "step": true}',
        b'{"name": 3, "value": 1}',
        b'{"name": "loss"}',
        b'{"name": "loss", "value": -Infinity, "step": 6}',
        b'{"name": "loss", "value": 1e400}',
        b'{"name": "loss", "value": 1, "step": 7, "time": true}',
        b'{"name": "' + b"a" * 5_000_000 + b'", "value": 1}',
        b"   ",
        b'{"name": "loss", "value": 0.25, "step": 4}\r',
        b"",
    ])  # fmt: skip
    record, warnings = read_metric_lines(raw)
    assert warnings == [
        "metrics line 2: not a JSON object",
        "metrics line 3: not a JSON object",
        "metrics line 4: not a JSON object",
        "metrics line 5: value is not a finite number (NaN and Infinity are not JSON)",
        f"metrics line 7: {BAD_TIME}",
        f"metrics line 8: {NAME_RULE}",
        "metrics line 9: not a JSON object",
        f"metrics line 11: {NOT_FINITE}",
        f"metrics line 12: {NOT_FINITE}",
        f"metrics line 13: {BAD_STEP}",
        f"metrics line 14: {BAD_STEP}",
        f"metrics line 15: {NAME_RULE}",
        f"metrics line 16: {NOT_FINITE}",
        "metrics line 17: value is not a finite number (NaN and Infinity are not JSON)",
        f"metrics line 18: {NOT_FINITE}",
        f"metrics line 19: {BAD_TIME}",
        f"metrics line 20: {NAME_RULE}",
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


def test_history_keeps_report_order_and_final_is_the_last_point() -> None:
    raw = b"\n".join(
        json.dumps({"name": "loss", "value": v, "step": s}).encode()
        for s, v in [(5, 0.5), (2, 0.2), (2, 0.3), (0, 1)]
    )
    document = metrics_document(read_metric_lines(raw)[0])
    assert document["history"]["loss"] == [
        {"step": 5, "value": 0.5},
        {"step": 2, "value": 0.2},
        {"step": 2, "value": 0.3},
        {"step": 0, "value": 1},
    ]  # not sorted by step, duplicates kept
    assert document["final"] == {"loss": 1}
    assert schemas.validate("run-metrics", document) == []


def test_an_explicit_final_value_wins_over_the_last_point() -> None:
    raw = b'{"name": "loss", "value": 0.3, "step": 0}\n{"name": "loss", "value": 0.1}\n{"name": "loss", "value": 0.2, "step": 1}\n{"name": "loss", "value": 0.15}\n'
    document = metrics_document(read_metric_lines(raw)[0])
    assert document["final"] == {"loss": 0.15}  # the last explicit one
    assert [p["value"] for p in document["history"]["loss"]] == [0.3, 0.2]
    assert metrics_document(read_metric_lines(b"")[0]) == {
        "schema_version": 1, "final": {}, "history": {},
    }  # fmt: skip


def test_what_log_metric_writes_reads_back_into_a_valid_document(inside_run: Path) -> None:
    tracking.log_metrics({"val/loss": 0.5, "b@1": 2}, step=0)
    tracking.log_metric("val/loss", 0.25, step=1)
    tracking.log_metric("val/acc", 0.875)
    record, warnings = read_metric_lines(inside_run.read_bytes())
    assert warnings == []
    document = metrics_document(record)
    assert document == {
        "schema_version": 1,
        "final": {"b@1": 2, "val/acc": 0.875, "val/loss": 0.25},
        "history": {
            "b@1": [{"step": 0, "value": 2}],
            "val/loss": [{"step": 0, "value": 0.5}, {"step": 1, "value": 0.25}],
        },
    }
    assert list(document["final"]) == ["b@1", "val/acc", "val/loss"]  # sorted keys
    assert schemas.validate("run-metrics", document) == []
