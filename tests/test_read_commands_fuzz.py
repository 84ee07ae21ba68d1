"""Read commands fed documents that parse but hold values of the wrong type (TFC-0006: a
diagnostic or one error line and an exit code, never a traceback): each case writes one field of
one document of a fork of the template as another type, then runs every read command on it."""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from conftest import RunCli, commit_all, fork_template
from strataml.cli import index_main
from strataml.doctor.engine import run_doctor
from strataml.yamlio import parse_yaml
from strataml.yamltext import dump_yaml

RUN = "run-2026-11-25-sunrtb"
DOCUMENTS = {
    "dataset-metadata": "datasets/iris/v1/metadata.yaml",
    "model-metadata": "models/iris-classifier/v1/metadata.yaml",
    "model-metrics": "models/iris-classifier/v1/metrics.yaml",
    "stages": "models/iris-classifier/stages.yaml",
    "run-config": f"runs/{RUN}/config.yaml",
    "run-metrics": f"runs/{RUN}/metrics.json",
    "run-system": f"runs/{RUN}/system.json",
}
# Values of the wrong type; Python's json writes NaN and Infinity, YAML .nan and .inf.
CONFUSIONS: dict[str, Any] = {
    "mapping": {"a": "b"},
    "list": ["a", 1],
    "string": "text",
    "empty": "",
    "null": None,
    "true": True,
    "huge-int": 10**400,  # past what a float holds
    "nan": math.nan,
    "inf": math.inf,
    "lists": [[1, 2], [[3]]],
}
HISTORY_HEADER = "name,step,value,time,timestamp\n"
# metrics.csv that is not one: empty, headless, rows of other types, huge numbers, binary.
HISTORY_TEXTS = {
    "empty": "",
    "no-header": "train/loss,0,1.5,,\n",
    "junk": HISTORY_HEADER + "train/loss,zero,[1],{},true\ntrain/loss,1\n",
    "wide": HISTORY_HEADER + f"train/loss,{'9' * 900},1e999,,\ntrain/loss,1,{'7' * 900},,\n",
    "binary": HISTORY_HEADER + "\x00\xff\ufffe,\x7f\n" * 3,
}
READS = (
    ("dataset", "list"),
    ("dataset", "show", "datasets/iris@v1"),
    ("model", "list"),
    ("model", "show", "iris-classifier@v1"),
    ("model", "check", "iris-classifier@v1"),
    ("model", "history", "iris-classifier"),
    ("model", "history", "iris-classifier", "--at", "2026-12-01"),
    ("runs", "list"),
    ("runs", "show", RUN),
    ("runs", "best", "--experiment", "my_experiment", "--metric", "val/accuracy"),
    ("runs", "compare", RUN, "latest"),
    ("lineage", "models/iris-classifier@v1"),
    ("lineage", "datasets/iris@v1"),
    ("lineage", RUN),
)
# Read commands with one form only; croissant's is JSON-LD.
EXPORTS = (("export", "croissant", "datasets/iris@v1"), ("export", "hf-card", "iris-classifier@v1"))

Field = tuple[str | int, ...]
# (document, field, confusion): the whole document, then the fields the commands read, each as
# the types it is least like. A fixed list, so that every run tries the same cases.
CASES: list[tuple[str, Field, str]] = [
    *((document, (), confusion) for document in DOCUMENTS for confusion in ("list", "string")),
    # datasets/iris/v1/metadata.yaml
    ("dataset-metadata", ("name",), "mapping"),
    ("dataset-metadata", ("version",), "lists"),
    ("dataset-metadata", ("description",), "list"),
    ("dataset-metadata", ("created",), "huge-int"),
    ("dataset-metadata", ("tags",), "mapping"),
    ("dataset-metadata", ("tags", 0), "lists"),
    ("dataset-metadata", ("creators",), "string"),
    ("dataset-metadata", ("license",), "true"),
    ("dataset-metadata", ("splits",), "list"),
    ("dataset-metadata", ("splits", "train"), "string"),
    ("dataset-metadata", ("splits", "train", "rows"), "nan"),
    ("dataset-metadata", ("splits", "train", "bytes"), "inf"),
    ("dataset-metadata", ("splits", "train", "files"), "huge-int"),
    ("dataset-metadata", ("columns",), "mapping"),
    ("dataset-metadata", ("columns", 0), "string"),
    ("dataset-metadata", ("provenance",), "list"),
    ("dataset-metadata", ("provenance", "sources"), "mapping"),
    ("dataset-metadata", ("provenance", "sources", 0), "null"),
    ("dataset-metadata", ("content_hash",), "mapping"),
    # models/iris-classifier/v1/metadata.yaml
    ("model-metadata", ("name",), "list"),
    ("model-metadata", ("description",), "mapping"),
    ("model-metadata", ("created",), "inf"),
    ("model-metadata", ("task",), "lists"),
    ("model-metadata", ("framework",), "true"),
    ("model-metadata", ("artifacts",), "mapping"),
    ("model-metadata", ("artifacts", 0), "string"),
    ("model-metadata", ("artifacts", 0, "path"), "list"),
    ("model-metadata", ("training",), "list"),
    ("model-metadata", ("training", "run"), "mapping"),
    ("model-metadata", ("training", "datasets"), "string"),
    ("model-metadata", ("training", "datasets"), "true"),
    ("model-metadata", ("training", "datasets", 0), "lists"),
    ("model-metadata", ("content_hash",), "null"),
    # models/iris-classifier/v1/metrics.yaml
    ("model-metrics", ("source_run",), "mapping"),
    ("model-metrics", ("metrics",), "mapping"),
    ("model-metrics", ("metrics", 0), "lists"),
    ("model-metrics", ("metrics", 0, "name"), "list"),
    ("model-metrics", ("metrics", 0, "value"), "string"),
    ("model-metrics", ("metrics", 0, "value"), "nan"),
    ("model-metrics", ("metrics", 0, "value"), "huge-int"),
    ("model-metrics", ("metrics", 0, "dataset"), "mapping"),
    ("model-metrics", ("metrics", 0, "split"), "true"),
    ("model-metrics", ("metrics", 0, "higher_is_better"), "string"),
    # models/iris-classifier/stages.yaml
    ("stages", ("production",), "list"),
    ("stages", ("staging",), "mapping"),
    ("stages", ("archived",), "string"),
    ("stages", ("archived",), "lists"),
    ("stages", ("aliases",), "list"),
    ("stages", ("aliases",), "mapping"),
    ("stages", ("history",), "mapping"),
    ("stages", ("history", 0), "string"),
    ("stages", ("history", 0, "version"), "true"),
    ("stages", ("history", 0, "at"), "huge-int"),
    ("stages", ("history", 0, "from"), "list"),
    ("stages", ("history", 0, "evidence"), "string"),
    ("stages", ("history", 0, "evidence", "metrics"), "list"),
    # runs/<id>/config.yaml
    ("run-config", ("run_id",), "list"),
    ("run-config", ("experiment",), "string"),
    ("run-config", ("experiment", "name"), "mapping"),
    ("run-config", ("experiment", "spec"), "list"),
    ("run-config", ("params",), "list"),
    ("run-config", ("params", "learning_rate"), "lists"),
    ("run-config", ("inputs",), "list"),
    ("run-config", ("inputs", "data"), "string"),
    ("run-config", ("inputs", "data", "ref"), "mapping"),
    ("run-config", ("code",), "string"),
    ("run-config", ("code", "commit"), "true"),
    ("run-config", ("code", "dirty"), "string"),
    ("run-config", ("created",), "huge-int"),
    ("run-config", ("tags",), "mapping"),
    # runs/<id>/metrics.json
    ("run-metrics", ("final",), "list"),
    ("run-metrics", ("final", "val/accuracy"), "string"),
    ("run-metrics", ("final", "val/accuracy"), "nan"),
    ("run-metrics", ("final", "val/accuracy"), "inf"),
    ("run-metrics", ("final", "val/accuracy"), "huge-int"),
    ("run-metrics", ("final", "val/accuracy"), "mapping"),
    ("run-metrics", ("history",), "list"),
    ("run-metrics", ("history", "train/loss"), "mapping"),
    ("run-metrics", ("history", "train/loss", 0), "lists"),
    ("run-metrics", ("history", "train/loss", 0, "value"), "string"),
    ("run-metrics", ("history", "train/loss", 0, "value"), "huge-int"),
    ("run-metrics", ("history", "train/loss", 0, "step"), "nan"),
    # runs/<id>/system.json
    ("run-system", ("status",), "mapping"),
    ("run-system", ("exit_code",), "string"),
    ("run-system", ("duration_s",), "huge-int"),
    ("run-system", ("started",), "inf"),
    ("run-system", ("ended",), "list"),
    ("run-system", ("git",), "string"),
    ("run-system", ("host",), "list"),
    ("run-system", ("host", "cpu"), "string"),
    ("run-system", ("packages",), "lists"),
    ("run-system", ("python",), "true"),
    ("run-system", ("python", "version"), "mapping"),
    # A long history: runs/<id>/metrics.json's briefs, then metrics.csv itself
    ("run-history", (), "list"),
    ("run-history", ("series",), "list"),
    ("run-history", ("series", "train/loss"), "string"),
    ("run-history", ("series", "train/loss", "count"), "huge-int"),
    ("run-history", ("series", "train/loss", "count"), "string"),
    ("run-history", ("series", "train/loss", "last"), "nan"),
    ("run-history", ("series", "train/loss", "last_step"), "mapping"),
    *(("run-history-csv", (), text) for text in ("empty", "no-header", "junk", "wide", "binary")),
]


_COMMANDS = functools.cache(typer.main.get_command)


def _id(case: tuple[str, Field, str]) -> str:
    document, field, confusion = case
    return f"{document}:{'/'.join(map(str, field)) or '.'}={confusion}"


def _load(rel: str, raw: bytes) -> Any:
    return json.loads(raw) if rel.endswith(".json") else parse_yaml(raw).data


def _dump(rel: str, data: Any) -> str:
    return json.dumps(data, indent=2) + "\n" if rel.endswith(".json") else dump_yaml(data)


def _with(data: Any, field: Field, value: Any) -> Any:
    if not field:
        return value
    data = copy.deepcopy(data)
    node = data
    for key in field[:-1]:
        node = node[key]
    node[field[-1]] = value
    return data


def _strict_json(text: str) -> object:
    """JSON as RFC 8259 has it: NaN and Infinity, which Python's json reads, are not JSON."""

    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # The autouse fixture pins git's identity per test; a module's fork needs its own.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for var in ("AUTHOR", "COMMITTER"):
            patch.setenv(f"GIT_{var}_NAME", "Strata Test")
            patch.setenv(f"GIT_{var}_EMAIL", "test@strataml.invalid")
        yield fork_template(tmp_path_factory.mktemp("fork") / "template")


@pytest.fixture
def repo(fork: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(fork)
    # typer builds the click command anew for each call, two thirds of a read command's time
    # here; built once, the same command runs every invocation (click keeps no state in it).
    monkeypatch.setattr(typer.main, "get_command", _COMMANDS)
    return fork


def _no_traceback(args: tuple[str, ...], code: int, out: str, err: str) -> None:
    assert code in (0, 1, 2), (args, code, err)
    assert "Traceback" not in out + err, (args, err)
    if "--format" in args or args[0] == "index" or "croissant" in args:
        if out.strip():
            _strict_json(out)
        else:  # an error instead of a document: one line that says so
            assert code != 0 and len(err.strip().splitlines()) == 1, (args, code, err)


def _long_history(metrics: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The run's metrics as a long history is written (TFC-0003 R15): briefs in metrics.json,
    the points in metrics.csv."""
    points = metrics["history"]["train/loss"]
    values = [p["value"] for p in points]
    brief = {
        "count": len(points), "last_step": points[-1]["step"], "last": values[-1],
        "min": min(values), "max": max(values),
    }  # fmt: skip
    rows = "".join(f"train/loss,{p['step']},{json.dumps(p['value'])},,\n" for p in points)
    document = {"schema_version": 2, "final": metrics["final"], "series": {"train/loss": brief}}
    return document, HISTORY_HEADER + rows


def _mutated(repo: Path, document: str, field: Field, confusion: str) -> dict[Path, str]:
    """The files a case writes, by path."""
    if document in DOCUMENTS:
        path = repo / DOCUMENTS[document]
        data = _load(path.name, path.read_bytes())
        return {path: _dump(path.name, _with(data, field, CONFUSIONS[confusion]))}
    run = repo / "runs" / RUN
    metrics, history = _long_history(_load("metrics.json", (run / "metrics.json").read_bytes()))
    if document == "run-history":
        metrics = _with(metrics, field, CONFUSIONS[confusion])
    else:  # "run-history-csv": metrics.csv as the confusion has it
        history = HISTORY_TEXTS[confusion]
    return {run / "metrics.json": _dump("metrics.json", metrics), run / "metrics.csv": history}


@pytest.mark.parametrize("case", CASES, ids=map(_id, CASES))
def test_read_commands_take_a_wrong_type(
    case: tuple[str, Field, str], repo: Path, strata: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _mutated(repo, *case)
    originals = {path: path.read_bytes() if path.exists() else None for path in files}
    try:
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
        for args in READS:
            for form in ((), ("--format", "json")):
                _no_traceback((*args, *form), *strata(*args, *form))
        for args in EXPORTS:
            _no_traceback(args, *strata(*args))
        capsys.readouterr()
        code = index_main([])
        _no_traceback(("index",), code, *capsys.readouterr())
        run_doctor(repo)
    finally:
        for path, raw in originals.items():
            if raw is None:
                path.unlink()
            else:
                path.write_bytes(raw)


# stages.yaml as an old commit holds it: no schema has passed it (`model history --at`).
COMMITTED_STAGES: list[tuple[Field, str]] = [
    ((), "list"),
    (("production",), "list"),
    (("staging",), "mapping"),
    (("archived",), "true"),
    (("archived",), "lists"),
    (("aliases",), "list"),
    (("aliases",), "string"),
    (("aliases",), "mapping"),
]


def test_model_history_at_takes_committed_stages_of_any_type(
    template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(template)
    monkeypatch.setattr(typer.main, "get_command", _COMMANDS)
    path = template / DOCUMENTS["stages"]
    original = _load(path.name, path.read_bytes())
    args = ("model", "history", "iris-classifier", "--at", "2100-01-01")
    for field, confusion in COMMITTED_STAGES:
        path.write_text(_dump(path.name, _with(original, field, CONFUSIONS[confusion])))
        commit_all(template, f"stages.yaml: {field} {confusion}")
        for form in ((), ("--format", "json")):
            _no_traceback((*args, *form), *strata(*args, *form))
