"""Doctor never raises, whatever the metadata, listings and trees hold (TFC-0006)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, copy_tree
from strataml.doctor.engine import run_doctor
from strataml.doctor.report import REPORTERS
from strataml.doctor.rules import RULES

VERSION = "datasets/toy/v1"
BASE_METADATA = (EXAMPLES / "base" / VERSION / "metadata.yaml").read_bytes()
BASE_CHECKSUMS = (EXAMPLES / "base" / VERSION / "CHECKSUMS.txt").read_bytes()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def mangled(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if action == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        elif action == "insert":
            data[at:at] = draw(
                st.sampled_from(
                    [
                        b":",
                        b"- ",
                        b"\n",
                        b"  ",
                        b"&a ",
                        b"*a",
                        b"{",
                        b"[",
                        b"\x00",
                        b"\xff",
                        b"'",
                        b"..",
                        b"/",
                    ]
                )
            )
        else:
            del data[at:]
    return bytes(data)


def documents(original: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: yaml.safe_dump(v).encode()),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "version",
                    "splits",
                    "content_hash",
                    "license",
                    "provenance",
                    "schema_version",
                ]
            ),
            json_values,
            max_size=7,
        ).map(lambda v: yaml.safe_dump(v).encode()),
        mangled(original),
    )


NAMES = [
    "a.csv",
    "train/b.csv",
    "train/sub/c",
    "CHECKSUMS.txt",
    "metadata.yaml",
    "x\\y",
    "é.csv",
    "..",
    "deep/" * 5 + "f",
]
tree_ops = st.lists(
    st.tuples(
        st.sampled_from(["write", "delete", "mkdir", "symlink", "fifo"]),
        st.sampled_from(NAMES),
        st.sampled_from(["/", "..", "../../..", "data.csv", "loop", "train"]),
    ),
    max_size=6,
)


def _apply(version: Path, ops: list[tuple[str, str, str]]) -> None:
    for op, name, target in ops:
        path = version / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if (
                op == "write"
            ):  # O_NONBLOCK: writing to a FIFO made by an earlier op must not hang the test
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK)
                os.write(fd, b"x")
                os.close(fd)
            elif op == "delete":
                path.unlink()
            elif op == "mkdir":
                path.mkdir()
            elif op == "symlink":
                path.symlink_to(target)
            else:
                os.mkfifo(path)
        except OSError:
            pass  # the operation does not fit the tree it meets; fine


def _doctor_everything(root: Path) -> None:
    report = run_doctor(root, strict=True)
    assert all(d.code in RULES for d in report.diagnostics)
    text = REPORTERS["text"](report)
    assert text.rstrip().split("\n")[-1].startswith(("OK", "FAILED"))
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", text), text
    annotations = REPORTERS["github"](report).split("\n")[:-1]
    assert len(annotations) == len(report.diagnostics)
    assert all(line.startswith("::") for line in annotations)
    assert len(json.loads(REPORTERS["json"](report))["diagnostics"]) == len(report.diagnostics)
    assert json.loads(REPORTERS["sarif"](report))["version"] == "2.1.0"


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(metadata=documents(BASE_METADATA), checksums=documents(BASE_CHECKSUMS), ops=tree_ops)
def test_doctor_never_raises(
    metadata: bytes, checksums: bytes, ops: list[tuple[str, str, str]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_tree(EXAMPLES / "base", Path(tmp) / "repo")
        version = root / VERSION
        (version / "metadata.yaml").write_bytes(metadata)
        (version / "CHECKSUMS.txt").write_bytes(checksums)
        _apply(version, ops)
        _doctor_everything(root)


@FUZZ
@given(pyproject=documents(b'[tool.strataml]\n[tool.strataml.doctor]\nignore = ["DAT005"]\n'))
def test_doctor_never_raises_on_config(pyproject: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_tree(EXAMPLES / "base", Path(tmp) / "repo")
        (root / "pyproject.toml").write_bytes(b"[tool.strataml]\n" + pyproject)
        _doctor_everything(root)


RUN = next((EXAMPLES / "base" / "runs").glob("run-*")).relative_to(EXAMPLES / "base")
RUN_FILES = ("config.yaml", "system.json", "metrics.json")


def run_documents(name: str) -> st.SearchStrategy[bytes]:
    original = (EXAMPLES / "base" / RUN / name).read_bytes()
    if name.endswith(".json"):  # JSON-shaped junk too: what a buggy writer would leave
        return documents(original) | json_values.map(lambda v: json.dumps(v).encode())
    return documents(original)


@FUZZ
@given(
    files=st.fixed_dictionaries({name: st.none() | run_documents(name) for name in RUN_FILES}),
    ops=tree_ops,
)
def test_doctor_never_raises_on_runs(
    files: dict[str, bytes | None], ops: list[tuple[str, str, str]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_tree(EXAMPLES / "base", Path(tmp) / "repo")
        for name, data in files.items():
            if data is not None:
                (root / RUN / name).write_bytes(data)
        _apply(root / RUN, ops)
        _doctor_everything(root)
        from strataml import schemas
        from strataml.index.catalogue import build_index
        from strataml.registry.runs import load_runs
        from strataml.registry.runviews import (
            compare_runs,
            format_compare,
            format_show,
            list_runs,
        )

        assert schemas.validate("index", build_index(root)) == []  # the index too
        records = load_runs(root)  # `strata runs` reads the same damage without raising
        list_runs(root, experiment=None, status=None).text()
        format_show(records[0])
        format_compare(compare_runs([records[0], records[0]], show_all=True))


STAGES = EXAMPLES / "base" / "models" / "toy-model" / "stages.yaml"


@FUZZ
@given(
    stages=documents(STAGES.read_bytes())
    | st.fixed_dictionaries(
        dict.fromkeys(
            ("schema_version", "production", "staging", "archived", "aliases", "history"),
            json_values,
        )
    ).map(lambda v: yaml.safe_dump(v).encode()),
    card=documents((EXAMPLES / "base/models/toy-model/v1/card.md").read_bytes()),
)
def test_doctor_never_raises_on_stages_and_cards(stages: bytes, card: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_tree(EXAMPLES / "base", Path(tmp) / "repo")
        (root / "models/toy-model/stages.yaml").write_bytes(stages)
        (root / "models/toy-model/v1/card.md").write_bytes(card)
        _doctor_everything(root)
