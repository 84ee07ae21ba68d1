"""The only module that imports yaml: safe C loading, duplicate keys, line lookup."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from strataml.jsonio import MAX_INT_BITS, MAX_INT_DIGITS
from strataml.plainjson import NOT_PLAIN, plain_json

# What a parse depends on besides the bytes and this code: the parse cache's key names it.
PARSER = f"pyyaml-{yaml.__version__}/libyaml-{yaml._yaml.get_version_string()}"
MAX_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_DEPTH = 64
# libyaml's composer recurses in C and crashes the interpreter somewhere past 10,000 levels; each
# level costs at least one character: shorter texts are composed directly, longer ones pre-scanned.
_SAFE_COMPOSE_CHARS = 10_000

Path = tuple[str | int, ...]


class ProblemKind(enum.Enum):
    SYNTAX = "syntax"
    DUPLICATE_KEY = "duplicate-key"
    ENCODING = "encoding"
    TOO_COMPLEX = "too-complex"


@dataclass(frozen=True, slots=True)
class YamlProblem:
    kind: ProblemKind
    line: int | None
    message: str


@dataclass(frozen=True, slots=True)
class YamlDocument:
    data: Any
    problems: tuple[YamlProblem, ...] = ()
    # None until a diagnostic asks: then found once by composing `source` again.
    lines: Mapping[Path, int] | None = field(default_factory=dict)
    source: str | None = field(default=None, repr=False, compare=False)
    # Or, in place of the text, how to read it again (None when the file no longer holds it).
    reread: Callable[[], bytes | None] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        fatal = {ProblemKind.SYNTAX, ProblemKind.ENCODING, ProblemKind.TOO_COMPLEX}
        return not any(p.kind in fatal for p in self.problems)

    def line_of(self, path: Path) -> int | None:
        """Line of the deepest known node on `path` (a key's own line for mappings)."""
        lines = self.lines
        if lines is None:
            text = self.source
            if text is None and self.reread is not None:
                raw = self.reread()
                text = raw.decode("utf-8", "replace") if raw is not None else None
            # No text (the file changed since it was parsed): no line rather than a wrong one.
            lines = (_parse_nodes(text).lines or {}) if text is not None else {}
            object.__setattr__(self, "lines", lines)  # a cache: the document stays frozen
        for end in range(len(path), -1, -1):
            line = lines.get(path[:end])
            if line is not None:
                return line
        return None


class _Loader(yaml.CSafeLoader):
    # A plain scalar's tag depends on its text alone (no path resolvers): resolve each text once.
    _tags: ClassVar[dict[str, str]] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0] and len(value) <= 64:
            tag = self._tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                if len(self._tags) < 8192:
                    self._tags[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:  # a constructor's own error (`!!int 0x`) becomes YAML's, with the node's line
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            message = f"{node.tag.replace('tag:yaml.org,2002:', '!!')} {node.value!r}: {exc}"
            raise yaml.constructor.ConstructorError(None, None, message, node.start_mark) from exc


def _timestamp_as_text(loader: yaml.SafeLoader, node: Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]  # checked by `format`


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _not_json(loader: yaml.SafeLoader, node: Node) -> Any:
    # The safe loader builds bytes, sets and pairs for these; every document is JSON-shaped.
    raise yaml.constructor.ConstructorError(
        None, None, f"tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed: "
        "documents hold JSON types only", node.start_mark,
    )  # fmt: skip


def _bounded_int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    # Past 4,300 digits int() refuses; a hex or sexagesimal text builds a number too long to print.
    text = str(node.value)
    value = (
        loader.construct_yaml_int(node)
        if sum(c.isdigit() for c in text) <= MAX_INT_DIGITS
        else None
    )
    if value is None or value.bit_length() > MAX_INT_BITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of more than {MAX_INT_DIGITS} digits", node.start_mark
        )
    return int(value)


_Loader.add_constructor("tag:yaml.org,2002:int", _bounded_int)

for _tag in ("binary", "set", "omap", "pairs"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _not_json)
# YAML 1.1 reads 1e-09 (no dot), as JSON writes small floats, as a string: the records are JSON.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _fatal(kind: ProblemKind, message: str, line: int | None = None) -> YamlDocument:
    return YamlDocument(None, (YamlProblem(kind, line, message),))


def parse_yaml(raw: bytes) -> YamlDocument:
    """Parse one YAML document; bad input becomes problems, never an exception."""
    if len(raw) > MAX_BYTES:
        return _fatal(ProblemKind.TOO_COMPLEX, f"document is {len(raw)} bytes, over {MAX_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return _fatal(ProblemKind.ENCODING, f"invalid UTF-8 byte at offset {exc.start}", line)
    if (data := plain_json(text, MAX_DEPTH, MAX_NODES)) is not NOT_PLAIN:  # JSON as written
        return YamlDocument(data, (), None, text)  # lines found from the text when asked
    if "*" not in text and "<<" not in text:  # no aliases, no merge keys: a plain tree
        built = _parse_tree(text)
        if built is not None:
            return built
    return _parse_nodes(text)


def _parse_nodes(text: str) -> YamlDocument:
    """The general reader: compose the node graph, bound it, then construct."""
    try:
        if len(text) > _SAFE_COMPOSE_CHARS and _event_depth(text) > MAX_DEPTH:
            return _fatal(ProblemKind.TOO_COMPLEX, f"nested deeper than {MAX_DEPTH} levels")
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return YamlDocument(None, (), {(): 1})
            # Without '*' there is no alias, so nothing expands: the walk below bounds size and depth.
            problem = _complexity(node) if "*" in text else None
            if problem:
                return _fatal(ProblemKind.TOO_COMPLEX, problem)
            walked = _walk(node)
            if isinstance(walked, str):
                return _fatal(ProblemKind.TOO_COMPLEX, walked)
            lines, duplicates = walked
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in (exc.problem or ""):  # libyaml's own limit (PyYAML >= 6.0.4)
            return _fatal(ProblemKind.TOO_COMPLEX, f"nested deeper than {MAX_DEPTH} levels")
        return _fatal(ProblemKind.SYNTAX, _describe(exc), _mark_line(exc))
    except yaml.YAMLError as exc:
        return _fatal(ProblemKind.SYNTAX, " ".join(str(exc).split()))
    return YamlDocument(data, tuple(duplicates), lines)


_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{t}" for t in ("str", "map", "seq"))
# Short non-string scalars built once ((tag, text) -> an immutable int, float, bool, None, text).
_SCALARS: dict[tuple[str, str], Any] = {}


class _HandOnError(Exception):
    """Raised inside the event reader: this document is for the node reader."""


def _parse_tree(text: str) -> YamlDocument | None:
    """Build the data straight from parser events, with no node graph and no lines (found
    from the text when a diagnostic first asks): the common case of a metadata file, a tree
    of untagged or core-tagged collections and scalars under unique string keys. None hands
    anything else (a duplicate, non-string or collection key, a collection tag, an anchor, a
    second document, a limit reached, an error) to `_parse_nodes`, the general reader; on
    every document this one accepts the two agree."""
    loader = _Loader(text)
    get: Callable[[], Any] = loader.get_event
    try:
        get()  # stream start
        if isinstance(get(), yaml.StreamEndEvent):
            return YamlDocument(None, (), {(): 1})
        reader = _EventReader(loader, get, anchors="&" in text)
        data = reader.node(get(), 0)
        if not isinstance(get(), yaml.DocumentEndEvent) or not isinstance(
            get(), yaml.StreamEndEvent
        ):
            return None  # another document: the composer's error
    except (_HandOnError, yaml.YAMLError):
        return None
    finally:
        loader.dispose()
    return YamlDocument(data, (), None, text)


class _EventReader:
    """One document's events to data, a collection per call: each scalar costs a few lookups."""

    def __init__(self, loader: _Loader, get: Callable[[], Any], *, anchors: bool) -> None:
        self.loader, self.get, self.anchors = loader, get, anchors  # no '&': no anchor to ask for
        self.nodes = 1  # the root counts, as the node reader counts it

    def scalar(self, event: Any) -> Any:
        if self.anchors and event.anchor is not None:
            raise _HandOnError  # the composer refuses a repeated anchor: its message, not ours
        value = event.value
        tag = event.tag
        if tag is None:
            if event.implicit[0]:  # plain: its type comes from its text
                tag = _Loader._tags.get(value) or self.loader.resolve(
                    ScalarNode, value, event.implicit
                )
                if tag != _STR:
                    return _scalar(self.loader, tag, event)
            return value
        return value if tag == _STR else _scalar(self.loader, tag, event)

    def node(self, event: Any, depth: int) -> Any:
        kind = event.__class__
        if kind is yaml.ScalarEvent:
            return self.scalar(event)
        # A collection opens at most at depth 62, so that every value in it lies within the node
        # reader's depth limit; a deeper one, even empty, goes to that reader.
        if depth >= MAX_DEPTH - 1 or kind is yaml.AliasEvent:
            raise _HandOnError
        if self.anchors and event.anchor is not None:
            raise _HandOnError
        get, scalar, scalar_event = self.get, self.scalar, yaml.ScalarEvent
        if kind is yaml.MappingStartEvent:
            if event.tag not in (None, "!", _MAP):
                raise _HandOnError
            mapping: dict[str, Any] = {}
            while (event := get()).__class__ is scalar_event:
                key = scalar(event)
                if key.__class__ is not str or key in mapping:
                    raise _HandOnError  # a duplicate: the node reader reports it, with both lines
                event = get()
                mapping[key] = scalar(event) if event.__class__ is scalar_event else (
                    self.node(event, depth + 1)
                )  # fmt: skip
            if event.__class__ is not yaml.MappingEndEvent:
                raise _HandOnError  # a collection (or an alias) as a key
            self._count(2 * len(mapping))
            return mapping
        if kind is yaml.SequenceStartEvent and event.tag in (None, "!", _SEQ):
            items: list[Any] = []
            while (event := get()).__class__ is not yaml.SequenceEndEvent:
                items.append(
                    scalar(event)
                    if event.__class__ is scalar_event
                    else self.node(event, depth + 1)
                )
            self._count(len(items))
            return items
        raise _HandOnError  # a tagged collection

    def _count(self, nodes: int) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise _HandOnError


def _scalar(loader: _Loader, tag: str, event: Any) -> Any:
    """A non-string scalar as the loader's constructor builds it, once per short text."""
    value = event.value
    cached = _SCALARS.get((tag, value), _SCALARS)
    if cached is not _SCALARS:
        return cached
    node = ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
    built = loader.construct_object(node, deep=True)
    if len(value) <= 64 and len(_SCALARS) < 8192:
        _SCALARS[(tag, value)] = built
    return built


def _mark_line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark is not None else None


def _describe(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    return " ".join(" ".join(parts).split()) or "invalid YAML"


def _event_depth(text: str) -> int:
    loader = _Loader(text)
    depth = deepest = 0
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                deepest = max(deepest, depth)
                if deepest > MAX_DEPTH:
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.StreamEndEvent):
                break
    finally:
        loader.dispose()
    return deepest


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value


def _complexity(root: Node) -> str | None:
    # Every alias counts as a full copy, memoised per node: a "billion laughs" costs O(nodes).
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if id(node) in sizes:
            continue
        children = list(_children(node))
        if expanded or not children:
            sizes[id(node)] = min(MAX_NODES + 1, 1 + sum(sizes[id(c)] for c in children))
            continue
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)
    if sizes[id(root)] > MAX_NODES:
        return f"expands to more than {MAX_NODES} nodes (anchors and aliases included)"
    return None


def _walk(root: Node) -> tuple[dict[Path, int], list[YamlProblem]] | str:
    """Line of every key and item, and duplicate keys; a string when too deep or too large."""
    lines: dict[Path, int] = {(): root.start_mark.line + 1}
    duplicates: list[YamlProblem] = []
    seen: set[int] = set()
    stack: list[tuple[Node, Path]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:  # an alias: its lines were recorded where it was defined
            continue
        seen.add(id(node))
        if len(path) >= MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if len(seen) > MAX_NODES:
            return f"expands to more than {MAX_NODES} nodes (anchors and aliases included)"
        if isinstance(node, MappingNode):
            first_line: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key.start_mark.line + 1
                if key.value in first_line:
                    found = f"duplicate key '{key.value}' (first on line {first_line[key.value]})"
                    duplicates.append(YamlProblem(ProblemKind.DUPLICATE_KEY, line, found))
                    continue
                first_line[key.value] = line
                lines[(*path, key.value)] = line
                stack.append((value, (*path, key.value)))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*path, index)] = item.start_mark.line + 1
                stack.append((item, (*path, index)))
    return lines, duplicates
