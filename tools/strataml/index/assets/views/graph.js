/* The lineage graph (TFC-0007 R13): every lineage edge, or those around one artifact, laid out
   left to right by dagre (datasets, the runs that read them, the models and datasets they
   made; pipeline stage chains and fine-tune chains follow the same direction) and drawn as SVG
   elements created through the DOM. */
"use strict";

(() => {
  const KINDS = { datasets: "dataset", runs: "run", models: "model" };
  const kindOf = (node) => KINDS[node.split("/")[0]] || "other";
  const NODE_H = 38, CHAR_W = 6.6, MAX_CHARS = 34;

  function around(focus) {
    const keep = new Set([focus]);
    for (const up of [true, false]) {
      const queue = [focus];
      while (queue.length) {
        const node = queue.shift();
        for (const e of INDEX.lineage) {
          const next = up ? (e.target === node ? e.source : null) : (e.source === node ? e.target : null);
          if (next && !keep.has(next)) { keep.add(next); queue.push(next); }
        }
      }
    }
    return keep;
  }

  function captions() {
    const stages = new Map();
    for (const p of INDEX.pipelines || []) for (const s of p.stages) if (s.run) stages.set("runs/" + s.run, `stage ${p.name}.${s.name}`);
    return (node) => {
      if (stages.has(node)) return stages.get(node);
      if (kindOf(node) === "run") return (runsById.get(node.slice(5)) || {}).experiment || "run";
      return kindOf(node);
    };
  }

  const clip = (text) => text.length > MAX_CHARS ? text.slice(0, MAX_CHARS - 1) + "…" : text;

  function draw(nodes, edges, focus, className) {
    const g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 64, edgesep: 8, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(() => ({}));
    const caption = captions();
    for (const n of nodes) {
      const name = clip(n.replace(/^(datasets|runs|models)\//, "")), sub = clip(caption(n));
      g.setNode(n, { name, sub, width: Math.max(110, 18 + CHAR_W * Math.max(name.length, sub.length)), height: NODE_H });
    }
    for (const e of edges) g.setEdge(e.source, e.target, { relation: e.relation }, e.relation);
    dagre.layout(g);
    const { width, height } = g.graph();
    const box = svg("svg", { class: className || "dag", width: Math.ceil(width), height: Math.ceil(height), role: "img",
      "aria-label": `lineage graph: ${nodes.length} artifacts, ${edges.length} edges`, "data-nodes": nodes.length, "data-edges": edges.length },
    svg("defs", {}, svg("marker", { id: "dag-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" },
      svg("path", { d: "M0 0 L10 5 L0 10 z", class: "arrow-head" }))));
    for (const e of g.edges()) {
      const { points, relation } = g.edge(e);
      const d = points.map((p, k) => `${k ? "L" : "M"}${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(" ");
      box.append(svg("path", { class: "edge " + relation, d, "marker-end": "url(#dag-arrow)", "data-edge": `${e.v}->${e.w}:${relation}` },
        svg("title", {}, `${e.v} ${relation} ${e.w}`)));
    }
    for (const n of g.nodes()) {
      const at = g.node(n), x = at.x - at.width / 2, y = at.y - at.height / 2;
      const href = kindOf(n) === "run" ? "#/run/" + enc(n.slice(5)) : `#/${className ? "lineage" : "graph"}/` + enc(n);
      const a = svg("a", { href, "data-node": n, class: "node " + kindOf(n) + (n === focus ? " focus" : "") });
      a.append(svg("title", {}, n), svg("rect", { x, y, width: at.width, height: at.height, rx: 4 }),
        svg("text", { x: x + 8, y: y + 15, class: "name" }, at.name), svg("text", { x: x + 8, y: y + 30, class: "sub" }, at.sub));
      box.append(a);
    }
    return box;
  }

  function graphPage(parts) {
    const all = new Set(INDEX.lineage.flatMap((e) => [e.source, e.target]));
    const focus = parts.length && all.has(parts.join("/")) ? parts.join("/") : "";
    const keep = focus ? around(focus) : all;
    const edges = INDEX.lineage.filter((e) => keep.has(e.source) && keep.has(e.target));
    const head = el("h1", {}, "Lineage graph");
    if (!keep.size) return [head, el("p", { class: "muted" }, "No lineage recorded yet.")];
    const pick = el("label", {}, "Around ", el("select", { id: "graph-focus", onchange: (e) => { location.hash = "#/graph/" + enc(e.target.value); } },
      el("option", { value: "" }, "everything"), [...all].sort().map((n) => el("option", { value: n, selected: n === focus }, n))));
    const legend = el("p", { class: "dag-legend" }, ["dataset", "run", "model"].map((k) => el("span", { class: "key " + k }, k)),
      el("span", { class: "muted", id: "graph-count" }, `${keep.size} artifacts, ${edges.length} edges`));
    return [head, el("div", { class: "filters" }, pick), legend, el("div", { class: "graph", id: "dag" }, draw([...keep].sort(), edges, focus))];
  }

  window.STRATA_VIEWS.graph = graphPage;
  window.STRATA_GRAPH = { around, draw };  // the lineage page of app.js draws with them too
})();
