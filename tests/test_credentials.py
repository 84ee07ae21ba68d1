"""credentials.may_hold_secrets: the raw-text screen that spares a document the search of each of
its strings. It may say yes too often, never no where a parsed string holds a credential."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strataml.credentials import iter_secrets, may_hold_secrets
from strataml.doctor.parsed import parse_and_pack, unpack
from strataml.yamlio import parse_yaml

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    "https://user:" + "p" * 20 + "@example.org/x",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "ghp_" + "a1" * 18,
    "AKIA" + "Z" * 16,
    "hf_" + "b" * 30,
    "xoxb-" + "1234567890",
]


def found(raw: bytes) -> list[object]:
    document = parse_yaml(raw)
    return list(iter_secrets(document.data)) if document.ok else []


@pytest.mark.parametrize(
    "raw",
    [
        # An escape builds the token: no match in the text, one in the string.
        b'{"k": "\\u0041KIA' + b"Z" * 16 + b'"}',
        b'k: "\\x41KIA' + b"Z" * 16 + b'"',
        b'k: "AKIA\\\n  ' + b"Z" * 16 + b'"',  # an escaped line break joins the lines
        # YAML reads a doubled single quote as one: the password shrinks under its bound.
        b"k: 'https://u:" + b"p" * 255 + b"''@h'",
        # YAML folds NEL, like a line feed, into a space: a key block's words meet again.
        "k: -----BEGIN OPENSSH\x85  PRIVATE KEY-----\n".encode(),
    ],
    ids=["json-escape", "yaml-escape", "joined-lines", "doubled-quote", "folded-nel"],
)
def test_text_that_builds_a_credential_is_searched(raw: bytes) -> None:
    assert found(raw), raw  # the string holds one
    assert may_hold_secrets(raw)
    assert unpack(parse_and_pack(raw)) is not None
    packed = unpack(parse_and_pack(raw))
    assert packed is not None and packed[1] == found(raw)


def test_folded_and_plain_text_needs_no_search() -> None:
    raw = b"a: 1\nb: [x, 'y', \"z\"]\nc: >\n  folded\n  AKIA\n  " + b"Z" * 16 + b"\n"
    assert (found(raw), may_hold_secrets(raw)) == ([], False)


_piece = st.one_of(
    st.sampled_from(TOKENS),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(
        [
            "\\",
            "'",
            "''",
            '"',
            "\n",
            " ",
            ":",
            "@",
            "/",
            "-",
            "AKIA",
            "Z" * 8,
            "\x85",
            "\u2028",
            "\r",
            "\t",
            "\n  ",
        ]
    ),
)
_value = st.lists(_piece, max_size=6).map("".join)
_documents = st.recursive(
    st.one_of(_value, st.integers(), st.booleans(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _renderings(data: object) -> list[bytes]:
    return [
        json.dumps(data).encode(),
        json.dumps(data, ensure_ascii=False).encode(),
        yaml.safe_dump(data, allow_unicode=True).encode(),
        yaml.safe_dump(data, default_style="'", allow_unicode=True).encode(),
        yaml.safe_dump(data, default_style='"').encode(),
        yaml.safe_dump(data, default_style="|", allow_unicode=True).encode(),
        yaml.safe_dump(data, default_style=">", width=20, allow_unicode=True).encode(),
    ]


@PROPERTY
@given(_documents)
def test_no_credential_in_any_rendering_escapes_the_screen(data: object) -> None:
    for raw in _renderings(data):
        if found(raw):
            assert may_hold_secrets(raw), raw


@PROPERTY
@given(st.lists(_piece, max_size=10).map("".join))
def test_no_credential_in_raw_text_escapes_the_screen(text: str) -> None:
    for raw in (text.encode(), f"k: {text}".encode(), f"- '{text}'".encode()):
        if found(raw):
            assert may_hold_secrets(raw), raw
