"""Checkout attributes read in one `git check-attr` (gitindex.checkout_attributes_later): the same
answer as reading Git's output triple by triple, one shared mapping per distinct set of values,
and the same answer again when the output is not in the usual shape."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from conftest import git
from strataml.gitindex import CHECKOUT_ATTRIBUTES, checkout_attributes_later, parse_attributes

ATTRIBUTES = """\
*.bin filter=lfs diff=lfs merge=lfs -text
*.txt text eol=crlf
*.csv binary
*.enc working-tree-encoding=UTF-16
ident/* ident
odd* ident
"""
NAMES = [
    "a.bin", "b.bin", "c.txt", "d.csv", "e.enc", "ident/f.py", "plain.md", "deep/er/g.txt",
    "odd\nname.bin", "odd tab\tname", "caf\u00e9.bin", "not-there.txt",
]  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    (repo / ".gitattributes").write_text(ATTRIBUTES)
    return repo


def checkout_attributes(repo: Path, names: list[str]) -> dict[str, Mapping[str, str]]:
    """The attributes asked and waited for at once; Git answering is part of every test here."""
    found = checkout_attributes_later(repo, names)()
    assert found is not None
    return found


def check_attr(repo: Path, names: list[str]) -> bytes:
    """Git's own answer, asked directly."""
    return subprocess.run(
        ["git", "check-attr", "-z", "--stdin", *CHECKOUT_ATTRIBUTES],
        cwd=repo,
        input=b"".join(n.encode() + b"\0" for n in names),
        capture_output=True,
        check=True,
    ).stdout


def triple_by_triple(repo: Path, names: list[str]) -> dict[str, dict[str, str]]:
    """Git's answer read the plain way: each path, attribute, value triple in turn."""
    fields = check_attr(repo, names).decode("utf-8", "surrogateescape").split("\0")[:-1]
    found: dict[str, dict[str, str]] = {}
    for at in range(0, len(fields), 3):
        path, name, value = fields[at : at + 3]
        found.setdefault(path, {})[name] = value
    return found


def test_the_same_answer_as_git_read_triple_by_triple(repo: Path) -> None:
    found = checkout_attributes(repo, NAMES)
    assert {path: dict(mapping) for path, mapping in found.items()} == triple_by_triple(repo, NAMES)
    assert dict(found["a.bin"]) == {
        "filter": "lfs", "text": "unset", "eol": "unspecified", "crlf": "unspecified",
        "working-tree-encoding": "unspecified", "ident": "unspecified",
    }  # fmt: skip
    assert found["c.txt"]["eol"] == "crlf"
    assert found["d.csv"]["text"] == "unset"  # the binary macro
    assert found["e.enc"]["working-tree-encoding"] == "UTF-16"
    assert found["odd\nname.bin"]["filter"] == "lfs"
    assert found["plain.md"] == dict.fromkeys(CHECKOUT_ATTRIBUTES, "unspecified")


def test_files_with_the_same_attributes_share_one_mapping(repo: Path) -> None:
    found = checkout_attributes(repo, NAMES)
    assert found["a.bin"] is found["b.bin"] is found["caf\u00e9.bin"]
    assert found["c.txt"] is found["deep/er/g.txt"] is found["not-there.txt"]
    assert found["ident/f.py"] is found["odd tab\tname"]
    assert found["a.bin"] is not found["odd\nname.bin"]  # ident on top of the LFS attributes
    assert found["odd\nname.bin"]["ident"] == "set"
    distinct = {id(mapping) for mapping in found.values()}
    assert len(distinct) == len({tuple(m.items()) for m in found.values()}) == 7


@pytest.mark.parametrize("seed", range(20))
def test_output_in_another_shape_gives_the_same_answer(repo: Path, seed: int) -> None:
    """Triples shuffled, a path's attributes split or missing, a path twice, a cut triple:
    what is there is read triple by triple, never misassigned."""
    fields = check_attr(repo, NAMES).split(b"\0")[:-1]
    triples = [fields[at : at + 3] for at in range(0, len(fields), 3)]
    rng = random.Random(seed)
    shape = seed % 4
    if shape == 0:
        rng.shuffle(triples)
    elif shape == 1:
        del triples[rng.randrange(len(triples))]
    elif shape == 2:
        triples.append([*triples[rng.randrange(len(triples))][:2], b"set"])
    cut = b"".join(b"\0".join(t) + b"\0" for t in triples)
    if shape == 3:
        cut += b"extra\0filter\0"  # a triple cut short is left out
    expected: dict[str, dict[str, str]] = {}
    for path, name, value in triples:
        expected.setdefault(path.decode(), {})[name.decode()] = value.decode()
    found = parse_attributes(cut)
    assert {path: dict(mapping) for path, mapping in found.items()} == expected


def test_nothing_asked_nothing_read(repo: Path) -> None:
    assert checkout_attributes_later(repo, [])() == {}
    assert parse_attributes(b"") == {}


def test_asked_in_the_background_the_same_answer(repo: Path) -> None:
    """Git answers while the caller works; the answer, once waited for, is the one asked
    directly, and is kept."""
    wait = checkout_attributes_later(repo, NAMES)
    first = wait()
    assert wait() is first
    assert {path: dict(mapping) for path, mapping in first.items()} == triple_by_triple(repo, NAMES)


def test_a_failing_git_says_the_attributes_are_unknown(repo: Path) -> None:
    """Git failing (here, a repository it cannot read): None, unknown (doctor then takes no
    file on its blob, tests/test_cache.py), never "no attributes"."""
    (repo / ".git" / "HEAD").write_text("not a ref\n")
    assert checkout_attributes_later(repo, NAMES)() is None
