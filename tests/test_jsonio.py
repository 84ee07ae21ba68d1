"""jsonio.load_json: the same answer whether or not it calls back for each integer."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strataml.jsonio import MAX_INT_DIGITS, _int, load_json

LONG = "1" * (MAX_INT_DIGITS + 1)


def slow(raw: str | bytes) -> object:
    """What load_json promises: every integer through _int."""
    try:
        return json.loads(raw, parse_int=_int)
    except RecursionError:
        raise ValueError("nested too deeply") from None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32", "utf-16-le"])
@pytest.mark.parametrize(
    "text",
    [
        f'{{"a": {LONG}}}',
        f'{{"a": -{LONG}}}',
        f"[1, 2, {'9' * MAX_INT_DIGITS}0]",
    ],
    ids=["long", "negative", "in-a-list"],
)
def test_an_integer_too_long_is_refused_in_every_encoding(text: str, encoding: str) -> None:
    with pytest.raises(ValueError, match=f"^an integer of more than {MAX_INT_DIGITS} digits$"):
        load_json(text.encode(encoding))
    with pytest.raises(ValueError, match=f"^an integer of more than {MAX_INT_DIGITS} digits$"):
        load_json(text)


def test_long_digits_elsewhere_are_kept() -> None:
    assert load_json(f'{{"s": "{LONG}", "f": {LONG}.5}}'.encode()) == {
        "s": LONG,
        "f": float(f"{LONG}.5"),
    }
    assert load_json(f'{{"n": {"9" * MAX_INT_DIGITS}}}') == {"n": int("9" * MAX_INT_DIGITS)}


def test_nesting_too_deep() -> None:
    with pytest.raises(ValueError, match=r"^nested too deeply$"):
        load_json("[" * 200_000 + "]" * 200_000)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values, st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_same_as_with_the_callback(value: object, encoding: str) -> None:
    raw = json.dumps(value).encode(encoding)
    assert load_json(raw) == slow(raw) == value


@given(st.binary(max_size=64))
def test_junk_fails_the_same_way(raw: bytes) -> None:
    try:
        expected: object = slow(raw)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        with pytest.raises(type(exc)):
            load_json(raw)
        return
    assert load_json(raw) == expected
