"""JSON records read as JSON (plainjson.py): on every text the JSON reader takes, the YAML reader
builds the same data, type for type, and finds no problem; anything else is left to it."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strataml.plainjson import NOT_PLAIN, plain_json
from strataml.yamlio import (
    MAX_DEPTH,
    MAX_NODES,
    YamlDocument,
    _parse_nodes,
    _parse_tree,
    parse_yaml,
)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def typed(value: Any) -> Any:
    """The value with every type spelled out: 1, 1.0 and True differ, so do 0.0 and -0.0."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else repr(value))
    return (type(value).__name__, value)


def plain(text: str) -> Any:
    return plain_json(text, MAX_DEPTH, MAX_NODES)


def yaml_reader(text: str) -> YamlDocument:
    """What parse_yaml read before JSON was read as JSON: the tree reader, else the node reader."""
    if "*" not in text and "<<" not in text:
        built = _parse_tree(text)
        if built is not None:
            return built
    return _parse_nodes(text)


def assert_agrees(text: str) -> bool:
    """Where the JSON reader takes the text, the YAML reader builds the same; whether it took it."""
    fast = plain(text)
    if fast is NOT_PLAIN:
        return False
    slow = yaml_reader(text)
    assert slow.problems == ()
    assert typed(slow.data) == typed(fast)
    whole = parse_yaml(text.encode("utf-8"))
    assert (whole.problems, typed(whole.data)) == ((), typed(fast))
    return True


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1e-9, 1e300, 5e-324, 0.1, 100.0])
    | st.text(max_size=12)
    | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)
layouts = st.sampled_from([
    {}, {"indent": 2}, {"indent": 2, "sort_keys": True}, {"separators": (",", ":")},
    {"separators": (" , ", " : ")}, {"indent": 0}, {"ensure_ascii": False}, {"indent": "\t"},
])  # fmt: skip


@PROPERTY
@given(
    value=st.dictionaries(st.text(max_size=8), values, max_size=6) | st.lists(values), how=layouts
)
def test_json_as_writers_write_it(value: Any, how: dict[str, Any]) -> None:
    assert_agrees(json.dumps(value, **how))


EDITS = ['"', "\\", "\n", "\t", ":", ",", "{", "}", "[", "]", "#", "*", "&", "!", "|", ">", "'",
         "-", "?", " ", "1e5", "NaN", "Infinity", "00", "\u00e9", "\x85", "\ufeff", "~", "%",
         "\x7f", "\r", '"a": 1, ', ': ', '" :']  # fmt: skip


@PROPERTY
@given(
    value=st.dictionaries(st.text(max_size=6), values, min_size=1, max_size=5),
    how=layouts,
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(EDITS), st.booleans()),
                   min_size=1, max_size=4),
)  # fmt: skip
def test_json_edited_anywhere(value: Any, how: dict[str, Any], edits: list[Any]) -> None:
    """A hostile record: characters added or taken away anywhere. Whatever the JSON reader still
    takes, YAML reads alike."""
    text = json.dumps(value, **how)
    for at, piece, insert in edits:
        at %= len(text) + 1
        text = text[:at] + piece + text[at:] if insert else text[:at] + text[at + 1 :]
    assert_agrees(text)


RECORD = {
    "final": {"train/loss": 0.1783234540568729, "val/accuracy": 0.9090909090909091},
    "history": {"train/loss": [{"step": n, "value": 1.0 / (n + 1)} for n in range(100)]},
    "schema_version": 1,
    "small": 1e-09,
    "big": 12345678901234567,
    "none": None,
    "flags": [True, False],
    "text": "a: b # c * & ! | > - ? {} [] , ' %",
}


@pytest.mark.parametrize("how", [{"indent": 2, "sort_keys": True}, {}, {"separators": (",", ":")}])
def test_a_run_record_is_read_as_json(how: dict[str, Any]) -> None:
    text = json.dumps(RECORD, **how)
    assert assert_agrees(text)
    document = parse_yaml(text.encode())
    assert document.lines is None and document.source == text  # lines found when asked
    where = ("history", "train/loss", 3)
    assert document.line_of(where) == _parse_nodes(text).line_of(where)
    if "indent" in how:
        assert document.line_of(where) == text[: text.index('"step": 3')].count("\n")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"a": 1, "a": 2}', "a duplicate key: the YAML reader reports it"),
        ('{"a": 1, "a" : 2}', "a duplicate key, written with a space before its ':'"),
        ('{"a": 1, "b": {"a": 3}, "b" :\n 2}', "a duplicate key, its ':' on the next line"),
        ('{"a": ":b", "c": 1, "c": 2}', "a value opening with ':' beside a duplicate"),
        ('{"a": "x\x7fy"}', "DEL: a string's character to JSON, not printable to YAML"),
        ('{"a"\n: 1}', "a key whose ':' is on the next line: YAML refuses it"),
        ('{"' + "k" * 1100 + '": 1}', "a key past YAML's 1,024 characters"),
        ('{"a": NaN}', "NaN: a string to YAML"),
        ('{"a": -Infinity}', "Infinity: a string to YAML"),
        ('{"a": "\\u00e9"}', "an escape sequence"),
        ('{"a": "\\n"}', "an escape sequence"),
        ('{"a": "\u00e9"}', "not ASCII"),
        ('{"a":\t1}', "a tab"),
        ('{"a": 1}\r\n', "a carriage return"),
        ('{"a": 1234567890123456789}', "a long integer: the YAML reader's bounds decide"),
        ("[" * 70 + "]" * 70, "deeper than the YAML reader goes"),
        ("[" + "0," * MAX_NODES + "0]", "more nodes than the YAML reader builds"),
        ('{"a": 1} {"b": 2}', "not one JSON text"),
        ("  {}", "not opening with a collection"),
        ('"text"', "not a collection"),
        ("", "empty"),
    ],
)
def test_what_is_left_to_the_yaml_reader(text: str, why: str) -> None:
    assert plain(text) is NOT_PLAIN, why
    whole, before = parse_yaml(text.encode()), yaml_reader(text)
    assert (whole.problems, typed(whole.data)) == (before.problems, typed(before.data))


def test_a_duplicate_key_is_reported_with_both_lines() -> None:
    document = parse_yaml(b'{\n  "a": 1,\n  "a": 2\n}\n')
    assert [(p.kind.value, p.line, p.message) for p in document.problems] == [
        ("duplicate-key", 3, "duplicate key 'a' (first on line 2)")
    ]


def test_depth_and_size_just_within_the_bounds_are_read_as_json() -> None:
    deepest = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert assert_agrees(deepest)
    assert plain("[" * MAX_DEPTH + "]" * MAX_DEPTH) is NOT_PLAIN
    widest = "[" + ",".join(["0"] * (MAX_NODES - 1)) + "]"  # the root and its items
    assert assert_agrees(widest)
    assert plain("[" + ",".join(["0"] * MAX_NODES) + "]") is NOT_PLAIN


@pytest.mark.parametrize("items", [MAX_NODES - 1, MAX_NODES])
def test_every_reader_draws_the_size_bound_alike(items: int) -> None:
    """A list at the bound: the same verdict from the JSON reader, the tree reader and the node
    reader (an alias-looking string sends a document to the node reader)."""
    verdicts = set()
    for text in (
        "[" + ", ".join(["0"] * items) + "]",  # JSON
        "- 0\n" * items,  # a plain tree
        "- '*'\n" + "- 0\n" * (items - 1),  # the node reader
    ):
        document = parse_yaml(text.encode())
        verdicts.add(tuple((p.kind.value, p.message) for p in document.problems))
    assert verdicts == {() if items < MAX_NODES else (("too-complex", TOO_MANY),)}


TOO_MANY = f"expands to more than {MAX_NODES} nodes (anchors and aliases included)"


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_records(seed: int) -> None:
    """The template's own kinds of record, keys in another order and numbers of every shape."""
    rng = random.Random(seed)
    record = {
        f"k{n}": rng.choice([rng.random() * 10 ** rng.randint(-12, 12), rng.randint(-9, 9), None])
        for n in range(50)
    }
    assert assert_agrees(json.dumps(record, indent=rng.choice([None, 2])))
