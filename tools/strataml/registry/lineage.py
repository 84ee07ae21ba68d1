"""The lineage graph: dataset -> run -> model -> derived models, and its exports (TFC-0005 R5)."""

from __future__ import annotations

import heapq
import json
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml.errors import StrataError
from strataml.jsonio import as_list
from strataml.refs import ArtifactRef, ForeignRef, is_foreign, is_run_id
from strataml.registry.runrecord import upstream_runs
from strataml.registry.runs import load_runs
from strataml.registry.store import RegistryError, load_mapping, names, versions

FORMATS = ("text", "dot", "mermaid", "prov-json", "json")


@dataclass(frozen=True, order=True)
class Edge:
    source: str  # "datasets/iris@v1", "runs/<id>", "models/m@v1"
    target: str
    relation: str  # used, trained, generated, derived_from, fine-tune, distill, …


@dataclass
class Graph:
    nodes: set[str] = field(default_factory=set)
    edges: set[Edge] = field(default_factory=set)
    _sources: dict[str, set[str]] = field(default_factory=dict, repr=False, compare=False)

    def add(self, source: str, target: str, relation: str) -> None:
        self.nodes |= {source, target}
        self.edges.add(Edge(source, target, relation))
        self._sources.setdefault(target, set()).add(source)

    def sources(self, target: str) -> set[str]:
        """The nodes with an edge into `target`."""
        return self._sources.get(target, set())


def _unpinned(text: object) -> str | None:
    """A lineage node: `kind/name@version`, or `REPO:kind/name@version` in another repository
    of the federation (TFC-0001 R15)."""
    if not isinstance(text, str):
        return None
    try:
        if is_foreign(text):
            return ForeignRef.parse(text).node
        ref = ArtifactRef.parse(text)
    except ValueError:
        return None
    return f"{ref.kind}/{ref.name}@{ref.version}"


def _metadata(root: Path, path: str) -> dict[str, Any]:
    try:
        return load_mapping(root / path / "metadata.yaml")
    except StrataError:
        return {}


def build_graph(
    root: Path, runs: Iterable[tuple[str, Iterable[str], Iterable[str]]] | None = None
) -> Graph:
    """Every lineage edge the repository's records state (`runs`: every run's path, input
    references and upstream stage runs, where the caller read them already)."""
    graph = Graph()
    for name in names(root, "datasets"):
        for version in versions(root, "datasets", name):
            node = f"datasets/{name}@{version}"
            graph.nodes.add(node)
            provenance = _metadata(root, f"datasets/{name}/{version}").get("provenance")
            provenance = provenance if isinstance(provenance, dict) else {}
            for parent in as_list(provenance.get("derived_from")):
                if (ref := _unpinned(parent)) is not None:
                    graph.add(ref, node, "derived_from")
            run = provenance.get("generated_by")
            if isinstance(run, str) and is_run_id(run):
                graph.add(f"runs/{run}", node, "generated")
    if runs is None:
        runs = [(r.path, r.inputs.values(), r.upstream) for r in load_runs(root)]
    for node, inputs, upstream in runs:
        graph.nodes.add(node)
        for text in inputs:
            if (ref := _unpinned(text)) is not None:
                graph.add(ref, node, "used")
        for run_id in upstream:  # a pipeline stage's run consumed that run's outputs
            graph.add(f"runs/{run_id}", node, "upstream")
    for name in names(root, "models"):
        for version in versions(root, "models", name):
            node = f"models/{name}@{version}"
            graph.nodes.add(node)
            data = _metadata(root, f"models/{name}/{version}")
            training = data.get("training") if isinstance(data.get("training"), dict) else {}
            run = training.get("run") if isinstance(training, dict) else None
            if isinstance(run, str) and is_run_id(run):
                graph.add(f"runs/{run}", node, "generated")
            used_by_run = graph.sources(f"runs/{run}")
            for text in as_list((training or {}).get("datasets")):
                ref = _unpinned(text)
                if ref is not None and ref not in used_by_run:
                    graph.add(ref, node, "trained_on")
            lineage = data.get("lineage") if isinstance(data.get("lineage"), dict) else {}
            for parent in as_list((lineage or {}).get("parents")):
                if isinstance(parent, dict) and (ref := _unpinned(parent.get("ref"))) is not None:
                    graph.add(ref, node, str(parent.get("relation", "derived_from")))
    return graph


def normalise(text: str) -> str:
    """A node id from what a user typed: datasets/x@v1, models/x@v1, a run id or runs/<id>."""
    bare = text.strip().rstrip("/")
    if is_run_id(bare.removeprefix("runs/")):
        return f"runs/{bare.removeprefix('runs/')}"
    repository, _, rest = bare.partition(":") if is_foreign(bare) else ("", "", bare)
    ref = _unpinned(rest)
    if ref is None:
        raise RegistryError(
            f"not a lineage reference: {text!r} (datasets/NAME@vN, models/NAME@vN, "
            "REPO:datasets/NAME@vN or a run id)"
        )
    return f"{repository}:{ref}" if repository else ref


def subgraph(graph: Graph, start: str, *, up: bool, down: bool) -> Graph:
    """`start` and what it rests on (`up`) or what rests on it (`down`): one pass over the
    edges to index them, then a breadth-first walk, linear in the graph."""
    if start not in graph.nodes:
        raise RegistryError(f"{start} does not exist")
    sources: dict[str, list[str]] = defaultdict(list)
    targets: dict[str, list[str]] = defaultdict(list)
    for edge in graph.edges:
        sources[edge.target].append(edge.source)
        targets[edge.source].append(edge.target)
    keep = {start}
    for neighbours, wanted in ((sources, up), (targets, down)):
        if not wanted:
            continue
        queue = deque([start])
        seen = {start}
        while queue:
            for nxt in neighbours[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        keep |= seen
    return Graph(keep, {e for e in graph.edges if e.source in keep and e.target in keep})


def _order(graph: Graph) -> list[Edge]:
    """Edges in dependency order (sources before targets), ties by name; cycles last."""
    indegree = dict.fromkeys(graph.nodes, 0)
    leaving: dict[str, list[Edge]] = defaultdict(list)
    for edge in sorted(graph.edges):
        indegree[edge.target] += 1
        leaving[edge.source].append(edge)
    ready = [n for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    rank: dict[str, int] = {}
    while ready:
        node = heapq.heappop(ready)
        rank[node] = len(rank)
        for edge in leaving[node]:
            indegree[edge.target] -= 1
            if indegree[edge.target] == 0:
                heapq.heappush(ready, edge.target)
    last = len(rank)
    return sorted(
        graph.edges, key=lambda e: (rank.get(e.source, last), rank.get(e.target, last), e)
    )


def format_text(graph: Graph, start: str) -> str:
    edges = _order(graph)
    if not edges:
        return f"{start}: no lineage recorded\n"
    return "".join(f"{e.source} -> {e.target}  [{e.relation}]\n" for e in edges)


def _kind(node: str) -> str:
    """datasets, models or runs: of another repository's node too (`REPO:datasets/…`)."""
    return (node.split(":", 1)[1] if is_foreign(node) else node).split("/", 1)[0]


def format_dot(graph: Graph) -> str:
    shapes = {"datasets": "cylinder", "runs": "box", "models": "component"}
    lines = ["digraph lineage {", "  rankdir=LR;"]
    for node in sorted(graph.nodes):
        lines.append(f"  {json.dumps(node)} [shape={shapes.get(_kind(node), 'ellipse')}];")
    for edge in _order(graph):
        lines.append(
            f"  {json.dumps(edge.source)} -> {json.dumps(edge.target)} [label={json.dumps(edge.relation)}];"
        )
    return "\n".join([*lines, "}"]) + "\n"


def format_mermaid(graph: Graph) -> str:
    ids = {node: f"n{i}" for i, node in enumerate(sorted(graph.nodes))}
    brackets = {"datasets": ("[(", ")]"), "runs": ("[", "]"), "models": ("[[", "]]")}
    lines = ["flowchart LR"]
    for node, ident in ids.items():
        left, right = brackets.get(_kind(node), ("(", ")"))
        lines.append(f'  {ident}{left}"{node}"{right}')
    for edge in _order(graph):
        lines.append(f"  {ids[edge.source]} -->|{edge.relation}| {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def format_prov(graph: Graph) -> str:
    """W3C PROV-JSON: datasets and models are entities, runs are activities."""

    def qname(node: str) -> str:
        return "strata:" + node.replace("@", "/")

    document: dict[str, Any] = {
        "prefix": {"strata": "https://strataml.dev/id/"},
        "entity": {},
        "activity": {},
    }
    for node in sorted(graph.nodes):
        section = "activity" if _kind(node) == "runs" else "entity"
        document[section][qname(node)] = {"prov:label": node, "strata:kind": _kind(node)[:-1]}
    relations: dict[str, dict[str, dict[str, str]]] = {}
    for index, edge in enumerate(_order(graph), start=1):
        source, target = qname(edge.source), qname(edge.target)
        if _kind(edge.source) == _kind(edge.target) == "runs":  # a stage's upstream run
            relation, body = "wasInformedBy", {"prov:informed": target, "prov:informant": source}
        elif _kind(edge.target) == "runs":  # entity used by a run
            relation, body = "used", {"prov:activity": target, "prov:entity": source}
        elif _kind(edge.source) == "runs":
            relation, body = "wasGeneratedBy", {"prov:entity": target, "prov:activity": source}
        else:
            relation = "wasDerivedFrom"
            body = {
                "prov:generatedEntity": target,
                "prov:usedEntity": source,
                "prov:type": f"strata:{edge.relation}",
            }
        relations.setdefault(relation, {})[f"strata:_e{index}"] = body
    document.update(relations)
    if not document["activity"]:
        del document["activity"]
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def format_json(graph: Graph, start: str) -> str:
    """schemas/lineage-graph.schema.json: the nodes sorted, the edges in the text form's order."""
    document = {
        "schema_version": 1,
        "start": start,
        "nodes": [{"id": node, "kind": _kind(node)[:-1]} for node in sorted(graph.nodes)],
        "edges": [
            {"source": e.source, "target": e.target, "relation": e.relation} for e in _order(graph)
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(graph: Graph, start: str, output_format: str) -> str:
    if output_format == "text":
        return format_text(graph, start)
    if output_format == "dot":
        return format_dot(graph)
    if output_format == "mermaid":
        return format_mermaid(graph)
    if output_format == "prov-json":
        return format_prov(graph)
    if output_format == "json":
        return format_json(graph, start)
    raise RegistryError(f"unknown format {output_format!r} (choose from {', '.join(FORMATS)})")


def _sources(root: Path, node: str) -> list[str]:
    """The nodes `node`'s own record says it rests on (unpinned ids, as in the graph)."""
    texts: list[object] = []
    runs: list[object] = []
    if is_foreign(node):
        return []  # another repository's records: not read here
    if node.startswith("runs/"):
        config = _config(root, node)
        inputs = config.get("inputs")
        entries = inputs.values() if isinstance(inputs, dict) else []
        texts += [e.get("ref") for e in entries if isinstance(e, dict)]
        runs += upstream_runs(config)
    elif ArtifactRef.parse(node).kind == "datasets":
        provenance = _mapping_at(_metadata(root, ArtifactRef.parse(node).path), "provenance")
        texts += as_list(provenance.get("derived_from"))
        runs.append(provenance.get("generated_by"))
    else:
        data = _metadata(root, ArtifactRef.parse(node).path)
        training, lineage = _mapping_at(data, "training"), _mapping_at(data, "lineage")
        texts += as_list(training.get("datasets"))
        texts += [p.get("ref") for p in as_list(lineage.get("parents")) if isinstance(p, dict)]
        runs.append(training.get("run"))
    nodes = [found for text in texts if (found := _unpinned(text)) is not None]
    return nodes + [f"runs/{run}" for run in runs if isinstance(run, str) and is_run_id(run)]


def _mapping_at(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _config(root: Path, node: str) -> dict[str, Any]:
    try:
        return load_mapping(root / node / "config.yaml")
    except StrataError:
        return {}


def upstream_directories(root: Path, node: str) -> list[str]:
    """`node`'s directory and every directory its lineage rests on (training run, datasets,
    parents, their runs' inputs, …), read record by record from `node` up, never the whole
    repository; an explicit stack, so a long chain is as cheap as a short one."""
    seen: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(_sources(root, current))
    local = (n for n in seen if not is_foreign(n))  # another repository's are not directories here
    return sorted(n if n.startswith("runs/") else ArtifactRef.parse(n).path for n in local)
