from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strataml.yamlio import MAX_BYTES, ProblemKind, YamlProblem, parse_yaml


def test_lines_and_values() -> None:
    doc = parse_yaml(
        b"name: iris\nsplits:\n  train:\n    files: 1\n  test: {files: 2}\ncreated: 2026-11-24\n"
    )
    assert doc.ok and doc.problems == ()
    assert doc.data == {
        "name": "iris",
        "splits": {"train": {"files": 1}, "test": {"files": 2}},
        "created": "2026-11-24",
    }
    assert doc.line_of(("splits", "train", "files")) == 4
    assert doc.line_of(("splits", "test", "files")) == 5
    assert doc.line_of(("splits", "missing", "deeper")) == 2
    assert doc.line_of(()) == 1


def test_yaml_1_1_surprises_stay_visible() -> None:
    # Versions must be strings; the loader does not hide that 1.10 is a float.
    assert parse_yaml(b"version: 1.10\nflag: NO\n").data == {"version": 1.1, "flag": False}


def test_duplicate_key_is_reported_with_both_lines() -> None:
    doc = parse_yaml(b"a: 1\nb:\n  c: 1\n  c: 2\n")
    assert doc.ok
    assert doc.problems == (
        YamlProblem(ProblemKind.DUPLICATE_KEY, 4, "duplicate key 'c' (first on line 3)"),
    )


def test_syntax_error_has_line() -> None:
    doc = parse_yaml(b"a: 1\nb: [1, 2\nc: 3\n")
    assert not doc.ok
    assert [(p.kind, p.line) for p in doc.problems] == [(ProblemKind.SYNTAX, 3)]


def test_object_tags_are_refused() -> None:
    doc = parse_yaml(b"x: !!python/object/apply:os.system ['true']\n")
    assert [p.kind for p in doc.problems] == [ProblemKind.SYNTAX]
    assert "could not determine a constructor" in doc.problems[0].message


def test_several_documents_are_refused() -> None:
    doc = parse_yaml(b"a: 1\n---\nb: 2\n")
    assert [(p.kind, p.line) for p in doc.problems] == [(ProblemKind.SYNTAX, 2)]


def test_not_utf8_names_the_line() -> None:
    doc = parse_yaml(b"a: 1\nb: \xff\n")
    assert doc.problems == (YamlProblem(ProblemKind.ENCODING, 2, "invalid UTF-8 byte at offset 8"),)


def test_billion_laughs_is_bounded() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    doc = parse_yaml("\n".join(lines).encode())
    assert [p.kind for p in doc.problems] == [ProblemKind.TOO_COMPLEX]


def test_deep_nesting_is_bounded_without_crashing() -> None:
    for text in (
        "[" * 200_000 + "]" * 200_000,
        "- " * 200_000 + "x",
        "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 80)),
    ):
        doc = parse_yaml(text.encode())
        assert [p.message for p in doc.problems] == ["nested deeper than 64 levels"], text[:20]


def test_size_limit() -> None:
    doc = parse_yaml(b"#" * (MAX_BYTES + 1))
    assert [p.kind for p in doc.problems] == [ProblemKind.TOO_COMPLEX]


def test_empty_document() -> None:
    doc = parse_yaml(b"# only a comment\n")
    assert doc.ok and doc.data is None


def test_the_tree_fast_path_builds_what_the_loader_builds() -> None:
    # Plain trees skip the loader's constructor (yamlio._parse_tree)
    # and plain scalars' tags are cached (yamlio._Loader.resolve): every YAML file of the template
    # and of the golden cases must come out identical to what PyYAML itself builds.
    import yaml

    from conftest import EXAMPLES, REPO
    from strataml.yamlio import _Loader

    class _Uncached(_Loader):
        resolve = yaml.resolver.Resolver.resolve

    roots = [REPO / tree for tree in ("datasets", "models", "runs", "experiments")] + [EXAMPLES]
    paths = sorted(p for root in roots for p in root.rglob("*.yaml"))
    extra = [
        b"a: 1\nb: [1.5, 1e-09, 0x1f, 0o17, 1:20, ~, yes, No, 2026-11-25, '007', !!str 5]\n",
        b"{? [1, 2]: x}\n",  # an unhashable key: the loader's own error
        b"!!set {a, b}\n",
        b"a: &x 1\nb: 2\n",  # an anchor without an alias is still a tree
    ]
    compared = 0
    for raw in [p.read_bytes() for p in paths] + extra:
        ours = parse_yaml(raw)
        try:
            theirs = yaml.load(raw, Loader=_Uncached)  # doctor's loader, without its tag cache
        except yaml.YAMLError:
            assert not ours.ok
            continue
        if ours.ok:
            assert ours.data == theirs
            assert [type(v) for v in _leaves(ours.data)] == [type(v) for v in _leaves(theirs)]
            compared += 1
    assert compared >= len(paths) // 2


def _leaves(data: object) -> list[object]:
    if isinstance(data, dict):
        return [leaf for key, value in data.items() for leaf in [key, *_leaves(value)]]
    if isinstance(data, list):
        return [leaf for item in data for leaf in _leaves(item)]
    return [data]


# Texts where YAML 1.1's implicit types, quoting, tags and layout meet: the event reader
# (yamlio._parse_tree) must give exactly what the node reader (yamlio._parse_nodes) gives.
_TOKENS = [
    "a", "name", "yes", "No", "on", "~", "null", "", "1", "01", "0x1f", "0o17", "1_000", "1:20",
    "1.10", "1e-09", ".nan", "-.inf", "2026-11-25", "2026-11-25T10:00:00Z", "'007'", '"x y"',
    "!!str 5", "!!int '7'", "!!float 1", "! 12", "!!binary aGk=", "!!python/name:os.system",
    "é", "'a: b'", "v1", "true", "<<", "&x 1", "*x", "? a", "- a", "[a, b]", "{a: 1}", "{}", "[]",
    "|\n  text", ">-\n  folded",
]  # fmt: skip


_KEYS = ["a", "b", "name", "x y", "'q'", '"é"', "v1", "2026", "yes", "~", "a"]


def _layouts() -> st.SearchStrategy[str]:
    token = st.sampled_from(_TOKENS)
    key = st.sampled_from(_KEYS)
    leaf = token.map(lambda t: t.replace("\n", "\n" + " " * 2))
    block = st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(st.tuples(key, inner), min_size=1, max_size=4).map(
                lambda kvs: "{" + ", ".join(f"{k}: {v}" for k, v in kvs) + "}"
            ),
            st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        ),
        max_leaves=12,
    )
    lines = st.lists(
        st.tuples(st.integers(0, 3), key, st.one_of(st.just(""), block)), min_size=1, max_size=8
    ).map(lambda rows: "".join(f"{'  ' * d}{k}: {v}\n" for d, k, v in rows))
    return st.one_of(block, lines, st.lists(block, max_size=4).map(
        lambda items: "".join(f"- {i}\n" for i in items)
    ))  # fmt: skip


def _same_reading(text: str) -> bool:
    from strataml.yamlio import _parse_nodes, _parse_tree

    fast, full = _parse_tree(text), _parse_nodes(text)
    if fast is None:
        return False
    assert fast.problems == full.problems == ()
    assert fast.data == full.data or fast.data != fast.data  # NaN is never equal to itself
    assert repr(fast.data) == repr(full.data)  # and the same types, keys in the same order
    keys = list(full.lines or {})
    assert [fast.line_of(k) for k in keys] == [full.line_of(k) for k in keys]
    assert fast.lines == full.lines
    return True


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_layouts())
def test_the_event_reader_reads_as_the_node_reader(text: str) -> None:
    _same_reading(text)


def test_the_event_reader_takes_every_shipped_document() -> None:
    from conftest import EXAMPLES, REPO

    roots = [REPO / tree for tree in ("datasets", "models", "runs", "experiments")] + [EXAMPLES]
    paths = sorted(p for root in roots for p in root.rglob("*.yaml"))
    refused = [p for p in paths if not _same_reading(p.read_text("utf-8", errors="replace"))]
    assert len(paths) > 100
    assert refused == []


def test_the_event_reader_hands_on_what_it_does_not_take() -> None:
    from strataml.yamlio import _parse_nodes, _parse_tree

    for text in (
        "a: 1\na: 2\n",  # a duplicate key: the node reader reports it with both lines
        "1: a\n01: b\n",  # keys that are not strings
        "? [a]\n: b\n",  # a collection as a key
        "!!set {a, b}\n",  # a tagged collection
        "a: 1\n---\nb: 2\n",  # a second document
        "a: [1, 2\n",  # a syntax error
        "a: !!binary aGk=\n",  # a refused tag
        "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 80)),  # too deep
    ):
        assert _parse_tree(text) is None, text
        assert parse_yaml(text.encode()) == _parse_nodes(text), text


def _mixed_documents() -> list[bytes]:
    """Shipped documents and broken ones, repeated past the size where parse_many shares out."""
    from conftest import EXAMPLES, REPO
    from strataml.yamlbulk import POOL_MIN_DOCUMENTS

    roots = [REPO / tree for tree in ("datasets", "models", "runs", "experiments")] + [EXAMPLES]
    shipped = [p.read_bytes() for root in roots for p in sorted(root.rglob("*.yaml"))]
    broken = [
        b"a: 1\na: 2\n",  # a duplicate (the node reader)
        b"a: [1, 2\n",  # a syntax error
        b"a: \xff\n",  # not UTF-8
        b"x: !!python/object/apply:os.system ['true']\n",
        b"a: &x [1]\nb: *x\n",  # an alias
        b"",  # empty
    ]
    mixed = shipped + broken
    return (mixed * (POOL_MIN_DOCUMENTS // len(mixed) + 2))[: POOL_MIN_DOCUMENTS + 37]


def _assert_same(ours: list[object], raws: list[bytes]) -> None:
    from strataml.yamlio import YamlDocument, _parse_nodes

    assert len(ours) == len(raws)
    for document, raw in zip(ours, raws, strict=True):
        assert isinstance(document, YamlDocument)
        alone = parse_yaml(raw)
        assert (repr(document.data), document.problems) == (repr(alone.data), alone.problems)
        if document.ok and alone.ok:
            keys = list(_parse_nodes(raw.decode("utf-8")).lines or {})
            assert [document.line_of(k) for k in keys] == [alone.line_of(k) for k in keys]


def test_many_documents_read_in_worker_processes_read_as_one_by_one() -> None:
    from strataml.yamlbulk import parse_many

    raws = _mixed_documents()
    _assert_same(parse_many(raws), raws)


def _die(raws: list[bytes]) -> bytes:
    """A worker's share whose process is killed mid-share (module level: the pool pickles it)."""
    import os

    os._exit(3)


def test_a_worker_that_dies_hands_its_share_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from strataml import yamlbulk

    monkeypatch.setattr(yamlbulk, "_parse_share", _die)
    raws = _mixed_documents()
    _assert_same(yamlbulk.parse_many(raws), raws)


def _die_packing(pack: object, raws: list[bytes]) -> bytes:
    return _die(raws)


def _as_parsed(raw: bytes) -> bytes:
    """What a share packs (module level: the pool pickles it): the parse, as marshal."""
    import marshal

    document = parse_yaml(raw)
    return marshal.dumps((document.data, [p.line for p in document.problems]))


@pytest.mark.parametrize("dies", [False, True], ids=["shared-out", "worker-dies"])
def test_packed_in_bulk_as_one_by_one(monkeypatch: pytest.MonkeyPatch, dies: bool) -> None:
    from strataml import yamlbulk

    if dies:
        monkeypatch.setattr(yamlbulk, "_pack_share", _die_packing)
    raws = _mixed_documents()
    assert len(raws) >= yamlbulk.POOL_MIN_DOCUMENTS
    assert yamlbulk.pack_many(raws, _as_parsed) == [_as_parsed(raw) for raw in raws]


def _die_packing_one(raw: bytes) -> bytes:
    """A read-ahead worker killed on its first document (module level, as a worker's function)."""
    import os

    os._exit(3)


def _pack_slowly(raw: bytes) -> bytes:
    import time

    time.sleep(60)
    return raw


def test_the_read_ahead_worker_packs_as_here() -> None:
    from strataml.yamlbulk import Ahead

    raws = _mixed_documents()
    ahead = Ahead()
    job = ahead.submit(raws, _as_parsed)
    assert job is not None  # a fork: Linux, two cores, no other thread
    assert ahead.take(job, raws, _as_parsed) == [_as_parsed(raw) for raw in raws]
    ahead.close()


def test_a_read_ahead_worker_that_dies_leaves_its_documents_to_be_packed_here() -> None:
    from strataml.yamlbulk import Ahead

    raws = _mixed_documents()
    ahead = Ahead()
    job = ahead.submit(raws, _die_packing_one)
    assert job is not None
    assert ahead.take(job, raws, _as_parsed) == [_as_parsed(raw) for raw in raws]


def test_no_read_ahead_worker_is_forked_while_a_thread_runs() -> None:
    import threading

    from strataml.yamlbulk import Ahead

    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        ahead = Ahead()
        assert ahead.submit([b"a: 1\n"], _as_parsed) is None
        assert ahead.take(None, [b"a: 1\n"], _as_parsed) == [_as_parsed(b"a: 1\n")]
    finally:
        release.set()
        thread.join()


def test_no_read_ahead_worker_outlives_the_run() -> None:
    import os

    from strataml.yamlbulk import Ahead

    ahead = Ahead()
    job = ahead.submit([b"a: 1\n"], _pack_slowly)
    assert job is not None
    os.kill(job, 0)  # alive
    ahead.close()
    with pytest.raises(ProcessLookupError):
        os.kill(job, 0)  # killed and reaped


def test_doctor_reads_a_registry_in_bulk_with_the_same_findings(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strataml import yamlbulk
    from strataml.doctor.engine import run_doctor

    metadata = template / "datasets/iris/v1/metadata.yaml"
    text = metadata.read_text(encoding="utf-8")
    metadata.write_text(
        text.replace("format: csv", "format: csv\nformat: tsv\nrows: many"), "utf-8"
    )
    # A credential in a run's config: the scan for it is done where the document is parsed.
    config = next(template.glob("runs/*/config.yaml"))
    config.write_text(config.read_text() + "token: ghp_" + "A1b2C3d4" * 5 + "\n")
    alone = run_doctor(template, use_cache=False)
    monkeypatch.setattr(
        yamlbulk, "POOL_MIN_DOCUMENTS", 1
    )  # the template's few documents, shared out
    calls: list[int] = []
    shared = yamlbulk.pack_many
    monkeypatch.setattr(
        yamlbulk, "pack_many", lambda raws, pack: calls.append(len(raws)) or shared(raws, pack)
    )
    pooled = run_doctor(template, use_cache=False)
    # One artifact a batch: each next batch's documents read ahead, by a forked worker.
    from strataml.doctor import engine

    monkeypatch.setattr(engine, "DOCUMENTS_HELD", 4)
    forked: list[int | None] = []
    submit = yamlbulk.Ahead.submit
    monkeypatch.setattr(
        yamlbulk.Ahead,
        "submit",
        lambda self, raws, pack: forked.append(submit(self, raws, pack)) or forked[-1],
    )
    ahead = run_doctor(template, use_cache=False)
    assert len(forked) >= 5 and None not in forked
    assert ahead.diagnostics == alone.diagnostics
    # The artifacts' 15 documents in one bulk read (2 metadata, the model metrics; each of the
    # 4 runs' config, system, metrics), then what repository checks ask for one at a time: the
    # model's stages.yaml, the two experiment specs and the pipeline spec.
    assert calls[:5] == [15, 1, 1, 1, 1]
    assert pooled.diagnostics == alone.diagnostics
    assert {d.code for d in alone.diagnostics} >= {"SCH002", "SCH003", "RUN015"}
    assert any(d.line is not None for d in alone.diagnostics if d.code == "SCH003")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!!int 0x", "!!int '0x': invalid literal for int() with base 16: ''"),
        ("!!int 1:x", "!!int '1:x': invalid literal for int() with base 10: 'x'"),
        ("!!float abc", "!!float 'abc': could not convert string to float: 'abc'"),
        ("[1, !!float .]", "!!float '.': could not convert string to float: '.'"),
    ],
)
def test_a_tagged_value_no_constructor_can_build_is_a_syntax_problem_at_its_line(
    text: str, message: str
) -> None:
    document = parse_yaml(f"name: iris\nvalue: {text}\n".encode())
    assert (document.ok, document.problems) == (
        False,
        (YamlProblem(ProblemKind.SYNTAX, 2, message),),
    )
