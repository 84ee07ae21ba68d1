"""The hostile corpus (`python tests/hostile.py`): doctor never raises, hangs or blows memory on a
corrupted repository, and reports every tampering case as an error (TFC-0006 R12, R16)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLE_EVERY, record_evidence
from hostile import (
    CARD,
    JOBS,
    SCHEMAS,
    Case,
    Tally,
    Zygote,
    corpus,
    decode_steps,
    document_nodes,
    encode_steps,
    invalid_after,
    run_all,
    set_field,
    verdict,
)
from hostile_steps import TRAVERSALS, WRONG_VALUES, FieldEdit
from strataml.doctor.rules import RULES
from strataml.integrity.hashing import LARGE_FILE, _hash_chunk, hash_file

CASES = corpus()


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    z = Zygote()
    yield z
    z.close()


def test_the_regression_corpus() -> None:
    tally, failures, sample = Tally(), [], CASES[::SAMPLE_EVERY]
    for case, outcome in run_all(sample, JOBS):
        problem = verdict(case, outcome)
        tally.add(case, outcome, problem)
        if problem:
            failures.append(f"{problem}: {case.id[:200]}\n{outcome.detail[-1500:]}")
    sampled = f" (every {SAMPLE_EVERY}th case: STRATA_SAMPLE_EVERY)" if SAMPLE_EVERY > 1 else ""
    record_evidence(tally.summary() + sampled)
    assert len(CASES) > 2900 and sum(c.tamper for c in CASES) > 900
    assert (tally.tried, tally.tampering) == (len(sample), sum(c.tamper for c in sample))
    assert not failures, "\n".join(failures[:20])


# Property-based: any few corpus steps composed (the huge files left to the fixed corpus), and
# any value at any node of any schema'd document.
SMALL_STEPS = sorted({s for c in CASES for s in c.steps if s[2] not in ("huge-line", "over-limit")})
NODES = [(t, w) for t in [*SCHEMAS, CARD] for w in document_nodes(t) if w]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(steps=st.lists(st.sampled_from(SMALL_STEPS), min_size=2, max_size=4, unique=True))
def test_composed_damage(zygote: Zygote, steps: list[tuple[str, str, str]]) -> None:
    outcome = zygote.run(tuple(steps))
    # A later step may undo or hide an earlier one (re-stamping after a flip; a file deleted
    # together with its listing line), so composition promises robustness, not detection. The
    # harness may refuse a step that no longer fits the tree (its target renamed away).
    assert outcome.status in ("ok", "refused", "harness"), outcome.detail
    assert set(outcome.codes) <= set(RULES)


@FUZZ
@given(node=st.sampled_from(NODES), value=json_values)
def test_any_value_anywhere(
    zygote: Zygote, node: tuple[str, list[str | int]], value: object
) -> None:
    target, where = node
    case = Case(
        (set_field(target, where, value),), False, invalid_after(target, where, value, False)
    )
    outcome = zygote.run(case.steps)
    assert verdict(case, outcome) is None, (outcome.status, outcome.detail[-1500:])


# Every JSON value, NaN and infinities included, and keys of any text: a field step must carry
# them to the zygote's child exactly (an argument split on "=" once broke test_any_value_anywhere).
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)
changes = st.sampled_from(["delete", *WRONG_VALUES, *(f"../{n}" for n in TRAVERSALS)])


@given(
    where=st.lists(st.text() | st.integers(), max_size=4).map(tuple),
    edit=st.tuples(changes, st.none()) | st.tuples(st.just("value"), any_json),
    target=st.text(),
)
def test_a_field_step_reaches_the_child_as_it_was_written(
    where: tuple[str | int, ...], edit: tuple[str, object], target: str
) -> None:
    change, value = edit
    written = FieldEdit(where, change, value)
    steps = decode_steps(encode_steps((("field", target, str(written)),)))
    assert [(kind, at) for kind, at, _ in steps] == [("field", target)]
    read = FieldEdit.parse(steps[0][2])
    # repr tells True from 1, 1.0 from 1, -0.0 from 0.0, and sees NaN equal to itself
    assert repr(read) == repr(written)
    assert "\n" not in encode_steps((("field", target, str(written)),))  # one line on the pipe


def test_a_field_step_names_one_change() -> None:
    assert (
        str(FieldEdit(("a=b", 0), "value", {"=": "x=y"})) == '[["a=b", 0], "value", {"=": "x=y"}]'
    )
    assert FieldEdit.parse('[["name"], "delete"]') == FieldEdit(("name",), "delete")
    with pytest.raises(ValueError, match="only a 'value' edit carries a value"):
        FieldEdit.parse('[["name"], "delete", 1]')
    with pytest.raises(KeyError):
        FieldEdit(("name",), "no-such-value").new_value()


@pytest.mark.parametrize(
    ("what", "status"),
    [
        ("hang", "hang"),
        ("memory", "memory"),
        ("rss", "memory"),
        ("die", "crash"),
        ("crash", "crash"),
    ],
)
def test_the_bounds_catch_what_they_should(
    what: str, status: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATA_HOSTILE_SECONDS", "3")
    z = Zygote()
    try:
        outcome = z.run((("selftest", "", what),))
    finally:
        z.close()
    assert outcome.status == status, outcome


def test_a_forked_hash_worker_never_waits_on_the_parents_thread_pool(tmp_path: Path) -> None:
    # Found by the corpus harness: a child forked after blake3 started its threads hangs on them.
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * (LARGE_FILE // 256 + 1))
    expected = hash_file(big)  # multithreaded: the pool now exists in this process
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_hash_chunk, ([str(big)],)).get(timeout=60) == [expected]


def test_a_path_past_path_max_is_named_for_its_length_not_its_permissions(tmp_path: Path) -> None:
    import os
    import shutil

    from hostile import BASE
    from strataml.doctor.engine import run_doctor

    repo = tmp_path / "repo"
    shutil.copytree(BASE, repo, symlinks=True)
    folder = os.open(repo / "datasets/toy/v1/train", os.O_RDONLY)
    for _ in range(20):  # 20 x 250-byte names: 5,000 bytes, made one level at a time
        os.mkdir(b"d" * 250, dir_fd=folder)
        inner = os.open(b"d" * 250, os.O_RDONLY, dir_fd=folder)
        os.close(folder)
        folder = inner
    os.close(folder)
    found = [d for d in run_doctor(repo).diagnostics if d.code == "LAY012"]
    assert len(found) == 1
    size = len(os.fsencode(repo / found[0].path))
    assert size >= os.pathconf("/", "PC_PATH_MAX")
    assert found[0].message == (
        f"cannot be read: its path is {size} bytes, past the system's limit of "
        f"{os.pathconf('/', 'PC_PATH_MAX')}"
    )
    assert found[0].hint == "shorten the directory names on the way to it"
