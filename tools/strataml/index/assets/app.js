/* StrataML dashboard: a static, offline view of index.json (TFC-0007).
   Every string from the repository reaches the page through text nodes or attribute
   values set by the DOM API, never through innerHTML (TFC-0007 R7). */
"use strict";

const INDEX = window.STRATA_INDEX;
const DOCTOR = window.STRATA_DOCTOR || null;
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#1f5fbf", "#d1495b", "#2a9d8f", "#e9a03b", "#6a4c93", "#4d908e", "#c05299", "#577590"];

function el(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return node;
}

function svg(tag, attrs, ...kids) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined) continue;
    node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return node;
}

const link = (hash, text) => el("a", { href: "#" + hash }, text);
const enc = (s) => encodeURIComponent(s);

function fmt(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : Number(value.toPrecision(6)).toString();
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function table(headers, rows, opts) {
  const head = el("tr", {}, headers.map((h) => el("th", {}, h)));
  const body = rows.map((cells) => el("tr", {}, cells.map((c) =>
    c instanceof Node ? el("td", {}, c) : el("td", { class: typeof c === "number" ? "num" : null }, fmt(c)))));
  return el("table", opts || {}, el("thead", {}, head), el("tbody", {}, body));
}

function stageBadge(stage) { return el("span", { class: "stage " + stage }, stage); }

/* ---- safe Markdown: headings, paragraphs, lists, tables, code; no raw HTML ---------------- */

function safeHref(url) {
  if (/^(https?:)?\/\//i.test(url) || /^[^:]*$/.test(url)) return url;
  return null;
}

function inline(text) {
  const out = [];
  const pattern = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*]+\*)|(\[([^\]]+)\]\(([^)\s]+)\))/g;
  let last = 0;
  let m;
  while ((m = pattern.exec(text)) !== null) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1]) out.push(el("code", {}, m[1].slice(1, -1)));
    else if (m[2]) out.push(el("strong", {}, m[2].slice(2, -2)));
    else if (m[3]) out.push(el("em", {}, m[3].slice(1, -1)));
    else {
      const href = safeHref(m[6]);
      out.push(href ? el("a", { href, rel: "noreferrer" }, m[5]) : m[5]);
    }
    last = pattern.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function markdown(text) {
  const root = el("div", { class: "markdown" });
  if (!text) return root;
  let lines = text.replace(/\r\n/g, "\n").split("\n");
  if (lines[0] === "---") {
    const end = lines.indexOf("---", 1);
    if (end > 0) lines = lines.slice(end + 1);
  }
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) { root.append(el("h" + Math.min(6, heading[1].length + 1), {}, inline(heading[2]))); i++; continue; }
    if (line.startsWith("```")) {
      const body = [];
      i++;
      while (i < lines.length && !lines[i].startsWith("```")) body.push(lines[i++]);
      i++;
      root.append(el("pre", {}, el("code", {}, body.join("\n"))));
      continue;
    }
    if (/^\s*\|/.test(line)) {
      const rows = [];
      while (i < lines.length && /^\s*\|/.test(lines[i])) rows.push(lines[i++]);
      const cells = rows.filter((r) => !/^\s*\|[\s:|-]+\|\s*$/.test(r))
        .map((r) => r.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim()));
      const [head, ...rest] = cells;
      root.append(el("table", {}, el("thead", {}, el("tr", {}, head.map((c) => el("th", {}, inline(c))))),
        el("tbody", {}, rest.map((r) => el("tr", {}, r.map((c) => el("td", {}, inline(c))))))));
      continue;
    }
    const bullet = /^\s*([-*]|\d+\.)\s+/;
    if (bullet.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const list = el(ordered ? "ol" : "ul");
      while (i < lines.length && (bullet.test(lines[i]) || (/^\s+\S/.test(lines[i]) && list.lastChild))) {
        if (bullet.test(lines[i])) list.append(el("li", {}, inline(lines[i].replace(bullet, ""))));
        else list.lastChild.append(" ", ...inline(lines[i].trim()));
        i++;
      }
      root.append(list);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !/^(#|```|\s*\||\s*([-*]|\d+\.)\s)/.test(lines[i])) para.push(lines[i++]);
    root.append(el("p", {}, inline(para.join(" "))));
  }
  return root;
}

/* ---- charts: SVG line charts with axes, ticks, labels and a legend ------------------------- */

function niceTicks(lo, hi, count) {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / count;
  const step = Math.pow(10, Math.floor(Math.log10(raw)));
  const err = raw / step;
  const nice = step * (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1);
  const ticks = [];
  for (let t = Math.ceil(lo / nice) * nice; t <= hi + nice * 1e-9; t += nice) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function downsample(points, buckets) {
  if (points.length <= buckets * 2) return points;
  const size = points.length / buckets;
  const out = [];
  for (let b = 0; b < buckets; b++) {
    const slice = points.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    let lo = slice[0], hi = slice[0];
    for (const p of slice) { if (p[1] < lo[1]) lo = p; if (p[1] > hi[1]) hi = p; }
    out.push(...(lo[0] <= hi[0] ? [lo, hi] : [hi, lo]));
  }
  return out;
}

function lineChart(title, series, xLabel) {
  const W = 640, H = 300, M = { l: 64, r: 16, t: 28, b: 44 };
  const all = series.flatMap((s) => s.points).filter((p) => p[0] !== null && p[1] !== null);
  const box = svg("svg", { class: "chart", width: W, height: H + 22 * Math.ceil(series.length / 3), role: "img", "aria-label": title });
  box.append(svg("text", { x: M.l, y: 18, class: "title" }, title));
  if (!all.length) { box.append(svg("text", { x: M.l, y: H / 2 }, "no points")); return box; }
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const X = (v) => M.l + ((v - x0) / (x1 - x0)) * (W - M.l - M.r);
  const Y = (v) => H - M.b - ((v - y0) / (y1 - y0)) * (H - M.t - M.b);
  for (const t of niceTicks(y0, y1, 5)) {
    if (t < y0 || t > y1) continue;
    box.append(svg("line", { class: "grid", x1: M.l, x2: W - M.r, y1: Y(t), y2: Y(t) }));
    box.append(svg("text", { x: M.l - 6, y: Y(t) + 4, "text-anchor": "end" }, fmt(t)));
  }
  for (const t of niceTicks(x0, x1, 6)) {
    if (t < x0 || t > x1) continue;
    box.append(svg("line", { class: "axis", x1: X(t), x2: X(t), y1: H - M.b, y2: H - M.b + 4 }));
    box.append(svg("text", { x: X(t), y: H - M.b + 16, "text-anchor": "middle" }, fmt(t)));
  }
  box.append(svg("line", { class: "axis", x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }));
  box.append(svg("line", { class: "axis", x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }));
  box.append(svg("text", { x: (M.l + W - M.r) / 2, y: H - 8, "text-anchor": "middle" }, xLabel || "step"));
  box.append(svg("text", { x: 14, y: (M.t + H - M.b) / 2, transform: `rotate(-90 14 ${(M.t + H - M.b) / 2})`, "text-anchor": "middle" }, "value"));
  series.forEach((s, n) => {
    const color = COLORS[n % COLORS.length];
    const pts = downsample(s.points.filter((p) => p[0] !== null && p[1] !== null), 600);
    const d = pts.map((p, k) => (k ? "L" : "M") + X(p[0]).toFixed(1) + " " + Y(p[1]).toFixed(1)).join(" ");
    box.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 1.5, "data-series": s.name }));
    const lx = M.l + (n % 3) * 180, ly = H + 8 + 22 * Math.floor(n / 3);
    box.append(svg("rect", { x: lx, y: ly, width: 12, height: 12, fill: color }));
    box.append(svg("text", { x: lx + 16, y: ly + 10, class: "legend" }, s.name.length > 26 ? s.name.slice(0, 25) + "…" : s.name));
  });
  return box;
}

/* ---- pages -------------------------------------------------------------------------------- */

const runsById = new Map(INDEX.runs.map((r) => [r.id, r]));
const allModelVersions = INDEX.models.flatMap((m) => m.versions.map((v) => ({ ...v, name: m.name })));

function overview() {
  const production = allModelVersions.filter((v) => v.stage === "production");
  const counts = [["Datasets", INDEX.datasets.length, "/datasets"], ["Models", INDEX.models.length, "/models"],
    ["Runs", INDEX.runs.length, "/runs"], ["Pipelines", (INDEX.pipelines || []).length, "/pipelines"], ["Lineage edges", INDEX.lineage.length, "/lineage"]];
  if (DOCTOR) counts.push(["Doctor findings", DOCTOR.diagnostics.length, "/doctor"]);
  return [
    el("h1", {}, "Overview"),
    el("div", { class: "cards" }, counts.map(([label, n, hash]) =>
      el("div", { class: "card" }, el("div", { class: "big" }, n), link(hash, label)))),
    federated ? [el("h2", {}, "Repositories"), table(["Repository", "URL", "Commit", "Errors", "Warnings", "Info"], REPOSITORIES.map((x) => [
      x.name, x.url, x.commit ? x.commit.slice(0, 12) : "not reachable" + (x.problem ? ": " + x.problem : ""),
      ...(x.doctor ? [x.doctor.errors, x.doctor.warnings, x.doctor.info] : ["", "", ""])]), { id: "repositories" })] : [],
    el("h2", {}, "In production"),
    production.length ? table(["Model", "Stage", "Metrics"], production.map((v) => [
      link("/model/" + enc(v.name) + "/" + enc(v.version), v.ref), stageBadge(v.stage),
      v.metrics.map((m) => `${m.split}/${m.name}=${fmt(m.value)}`).join("  ")])) : el("p", { class: "muted" }, "Nothing in production."),
    el("h2", {}, "Latest runs"),
    runsTable(INDEX.runs.slice().sort((a, b) => String(b.created).localeCompare(String(a.created))).slice(0, 10), false),
    INDEX.problems.length ? [el("h2", {}, "Unreadable records"), table(["Path", "Problem"], INDEX.problems.map((p) => [p.path, p.message]))] : [],
  ];
}

function modelsPage() {
  return [el("h1", {}, "Models"), ...INDEX.models.map((m) => [
    el("h2", {}, m.name),
    table(["Version", "Stage", "Aliases", "Metrics", "Signatures", "Training run"], m.versions.map((v) => [
      link("/model/" + enc(m.name) + "/" + enc(v.version), v.version), stageBadge(v.stage), v.aliases.join(", "),
      v.metrics.map((x) => `${x.split}/${x.name}=${fmt(x.value)}`).join("  "),
      v.signatures ? `${v.signatures} signed` : "unsigned",
      runLink((v.metadata.training || {}).run)])),
    el("h3", {}, "Stage history"),
    (m.stages.history || []).length ? table(["When", "Version", "From", "To", "By", "Why"],
      m.stages.history.map((h) => [h.at, h.version, h.from, h.to, h.by, h.reason])) : el("p", { class: "muted" }, "No stage changes yet."),
  ])];
}

function runLink(id) { return id && runsById.has(id) ? link("/run/" + enc(id), id) : fmt(id); }

function modelPage(name, version) {
  const v = allModelVersions.find((x) => x.name === name && x.version === version);
  if (!v) return notFound();
  return [
    el("h1", {}, v.ref, " ", stageBadge(v.stage)),
    el("p", {}, v.metadata.description || ""),
    table(["Field", "Value"], [["framework", v.metadata.framework], ["task", v.metadata.task], ["licence", v.metadata.license],
      ["training run", runLink((v.metadata.training || {}).run)], ["training data", ((v.metadata.training || {}).datasets || []).join(", ")],
      ["content hash", v.metadata.content_hash], ["signatures", v.signatures], ["aliases", v.aliases.join(", ")]]),
    link("/lineage/" + enc(v.ref), "Lineage"),
    el("h2", {}, "Card"), markdown(v.card),
  ];
}

function datasetsPage() {
  return [el("h1", {}, "Datasets"), table([...(federated ? ["Repository"] : []), "Version", "Licence", "Splits", "Signatures", "Description"],
    INDEX.datasets.map((d) => [...(federated ? [d.repository] : []), link("/dataset/" + enc(d.name) + "/" + enc(d.version), d.ref), d.metadata.license,
      Object.entries(d.metadata.splits || {}).map(([k, s]) => `${k}: ${s.files} files${s.rows !== undefined ? ", " + s.rows + " rows" : ""}`).join("; "),
      d.signatures, d.metadata.description || ""]))];
}

function datasetPage(name, version) {
  const d = INDEX.datasets.find((x) => x.name === name && x.version === version);
  if (!d) return notFound();
  const prov = d.metadata.provenance || {};
  return [
    el("h1", {}, d.ref), el("p", {}, d.metadata.description || ""),
    table(["Split", "Path", "Files", "Bytes", "Rows"], Object.entries(d.metadata.splits || {}).map(([k, s]) => [k, s.path, s.files, s.bytes, s.rows])),
    el("h2", {}, "Provenance"),
    table(["Kind", "Value"], [...(prov.sources || []).map((s) => ["source", s.name + (s.url ? " (" + s.url + ")" : "")]),
      ...(prov.derived_from || []).map((r) => ["derived from", r]), ...(prov.generated_by ? [["generated by", runLink(prov.generated_by)]] : [])]),
    link("/lineage/" + enc(d.ref), "Lineage"),
    el("h2", {}, "Datasheet"), d.datasheet ? markdown(d.datasheet) : el("p", { class: "muted" }, "No datasheet."),
  ];
}

/* runs table: sort and filter by experiment, status, params and metrics */

const runState = { sort: "created", desc: true, experiment: "", status: "", repository: "", query: "", selected: new Set(), shown: 0 };
/* several repositories (TFC-0007 R15): a repository column and filter where entries come from more than one */
const REPOSITORIES = INDEX.repositories || [];
const federated = REPOSITORIES.length > 1;
const collate = new Intl.Collator().compare;  // localeCompare's order, without a collator per call
const PAGE_ROWS = 200;  // rows drawn at a time: sorting and filtering see every run, the table a page

function columns(runs) {
  const params = new Set(), metrics = new Set();
  for (const r of runs) {
    for (const k of Object.keys(flatParams(r))) params.add(k);
    for (const k of Object.keys(r.metrics)) metrics.add(k);
  }
  return { params: [...params].sort(), metrics: [...metrics].sort() };
}

const flatCache = new WeakMap();  // run -> its flattened params, computed once
function flatParams(run) {
  let flat = flatCache.get(run);
  if (!flat) { flat = flatten(run.params); flatCache.set(run, flat); }
  return flat;
}

function flatten(obj, prefix) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? prefix + "." + k : k;
    if (v && typeof v === "object" && !Array.isArray(v)) Object.assign(out, flatten(v, key));
    else out[key] = v;
  }
  return out;
}

function valueOf(run, column) {
  if (column.startsWith("param:")) return flatParams(run)[column.slice(6)];
  if (column.startsWith("metric:")) return run.metrics[column.slice(7)];
  return run[column];
}

/* a filter's terms, read once for every run it is matched against */
function queryTerms(query) {
  return query.split(/[\s,]+/).filter(Boolean).map((term) => ({ term, m: /^([^=<>!]+)(>=|<=|!=|=|>|<)(.+)$/.exec(term) }));
}

function matches(run, terms) {
  for (const { term, m } of terms) {
    if (!m) {
      const hay = [run.id, run.experiment, run.name, run.repository, ...(run.tags || [])].join(" ").toLowerCase();
      if (!hay.includes(term.toLowerCase())) return false;
      continue;
    }
    const [, key, op, want] = m;
    const params = flatParams(run);
    const have = key in run.metrics ? run.metrics[key] : params[key];
    if (have === undefined) return false;
    const a = typeof have === "number" ? have : String(have);
    const b = typeof have === "number" ? Number(want) : want;
    if (!({ "=": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b })[op]) return false;
  }
  return true;
}

function runsTable(runs, interactive, limit, shownColumns) {
  const { params, metrics } = shownColumns || columns(runs);
  const cols = [["id", "Run"], ...(federated ? [["repository", "Repository"]] : []), ["experiment", "Experiment"], ["status", "Status"], ["created", "Created"], ["duration_s", "Duration (s)"],
    ...params.map((p) => ["param:" + p, p]), ...metrics.map((m) => ["metric:" + m, m])];
  const head = el("tr", {}, interactive ? el("th", {}, "") : null, cols.map(([key, label]) => el("th", {
    class: interactive ? "sortable" : null, "data-column": key,
    "aria-sort": interactive && runState.sort === key ? (runState.desc ? "descending" : "ascending") : null,
    onclick: interactive ? () => { runState.desc = runState.sort === key ? !runState.desc : false; runState.sort = key; render(); } : null,
  }, label)));
  const body = (limit === undefined ? runs : runs.slice(0, limit)).map((r) => el("tr", { "data-run": r.id }, interactive ? el("td", {}, el("input", {
    type: "checkbox", "aria-label": "select " + r.id, checked: runState.selected.has(r.id),
    onchange: (e) => { if (e.target.checked) runState.selected.add(r.id); else runState.selected.delete(r.id); updateCompare(); },
  })) : null, cols.map(([key]) => {
    const v = valueOf(r, key);
    if (key === "id") return el("td", {}, link("/run/" + enc(r.id), r.id));
    if (key === "status") return el("td", { class: "status " + r.status, title: r.reason }, r.status,
      r.verdict ? el("span", { class: "verdict " + r.verdict }, " " + r.verdict) : null);
    return el("td", { class: typeof v === "number" ? "num" : null }, fmt(v));
  })));
  return el("table", { id: interactive ? "runs-table" : null }, el("thead", {}, head), el("tbody", {}, body));
}

function updateCompare() {
  const button = document.getElementById("compare");
  if (button) { button.disabled = runState.selected.size < 2; button.textContent = `Compare ${runState.selected.size} selected`; }
}

/* Worked out once per page load, or once per filter: a sort reorders, it does not filter again. */
const runsMemo = { choices: null, filter: null, runs: null, columns: null };

function runsPage() {
  runsMemo.choices ||= {
    experiments: [...new Set(INDEX.runs.map((r) => r.experiment).filter(Boolean))].sort(),
    statuses: [...new Set(INDEX.runs.map((r) => r.status))].sort(),
  };
  const { experiments, statuses } = runsMemo.choices;
  const filter = JSON.stringify([runState.repository, runState.experiment, runState.status, runState.query]);
  if (runsMemo.filter !== filter) {
    const terms = queryTerms(runState.query);
    runsMemo.runs = INDEX.runs.filter((r) => (!runState.repository || r.repository === runState.repository)
      && (!runState.experiment || r.experiment === runState.experiment)
      && (!runState.status || r.status === runState.status) && matches(r, terms));
    runsMemo.columns = columns(runsMemo.runs);
    runsMemo.filter = filter;
  }
  let runs = runsMemo.runs;
  const key = runState.sort;
  const keyed = runs.map((r) => [valueOf(r, key), r]);  // each run's sort value, looked up once
  keyed.sort(([x, a], [y, b]) => {
    if (x === y) return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    if (x === undefined || x === null) return 1;
    if (y === undefined || y === null) return -1;
    const c = typeof x === "number" && typeof y === "number" ? x - y : collate(String(x), String(y));
    return runState.desc ? -c : c;
  });
  runs = keyed.map(([, r]) => r);
  const shown = Math.max(PAGE_ROWS, runState.shown);
  const more = runs.length > shown ? el("button", { id: "more-runs",
    onclick: () => { runState.shown = shown + PAGE_ROWS * 5; render(); } }, `Show ${Math.min(PAGE_ROWS * 5, runs.length - shown)} more of ${runs.length - shown}`) : null;
  const select = (id, label, options, value, set) => el("label", {}, label + " ", el("select", { id, onchange: (e) => { set(e.target.value); render(); } },
    el("option", { value: "" }, "all"), options.map((o) => el("option", { value: o, selected: o === value }, o))));
  const search = el("input", { type: "search", id: "run-filter", value: runState.query, placeholder: "filter: text, lr=0.1, test/accuracy>0.9",
    onchange: (e) => { runState.query = e.target.value; render(); } });
  return [
    el("h1", {}, "Runs"),
    el("div", { class: "filters" },
      federated ? select("filter-repository", "Repository", REPOSITORIES.map((x) => x.name), runState.repository, (v) => { runState.repository = v; }) : null,
      select("filter-experiment", "Experiment", experiments, runState.experiment, (v) => { runState.experiment = v; }),
      select("filter-status", "Status", statuses, runState.status, (v) => { runState.status = v; }),
      search,
      el("button", { id: "compare", disabled: runState.selected.size < 2,
        onclick: () => { location.hash = "#/compare/" + [...runState.selected].map(enc).join(","); } }, `Compare ${runState.selected.size} selected`),
      el("span", { id: "run-count", class: "muted" }, `${runs.length} of ${INDEX.runs.length} runs`)),
    runsTable(runs, true, shown, runsMemo.columns),
    more,
  ];
}

function runPage(id) {
  const r = runsById.get(id);
  if (!r) return notFound();
  const env = r.environment || {};
  const curves = el("div", { class: "cards", id: "curves" }, el("p", { class: "muted" }, "loading…"));
  const packageCount = el("span", { id: "package-count" }, "…");
  const log = el("pre", { class: "log", id: "log" }, "loading…");
  loadDetails([r.id]).then(([d]) => {  // filled in place, or into a page already left: no harm
    curves.replaceChildren(...Object.entries(d.history).map(([name, pts]) => lineChart(name, [{ name, points: pts }])));
    packageCount.textContent = String(Object.keys(d.packages || {}).length);
    log.textContent = d.log ?? "no log";
  });
  return [
    el("h1", {}, r.id, " ", el("span", { class: "status " + r.status }, r.status)),
    table(["Field", "Value"], [["experiment", r.experiment], ["name", r.name], ["exit code", r.exit_code], ["created", r.created],
      ["duration (s)", r.duration_s], ["fingerprint", r.fingerprint], ["code", r.code ? `${r.code.commit || "no commit"}${r.code.dirty ? " (dirty)" : ""}` : null],
      ["tags", (r.tags || []).join(", ")], ["sealed", r.sealed ? "yes" : "no"]]),
    r.reason ? el("p", { id: "run-reason", class: "problem" }, "Failed: " + r.reason) : null,
    r.reproduces ? [el("h2", {}, "Reproduction"), table(["Field", "Value"], [["reproduces", runLink(r.reproduces)],
      ["verdict", r.verdict ? el("span", { class: "verdict " + r.verdict }, r.verdict) : "no verdict"],
      ...(r.verdict_reasons || []).map((reason) => ["reason", reason])], { id: "reproduction" })] : null,
    el("h2", {}, "Parameters"), table(["Name", "Value"], Object.entries(flatten(r.params)).map(([k, v]) => [k, v])),
    el("h2", {}, "Metrics"), table(["Name", "Final"], Object.entries(r.metrics).map(([k, v]) => [k, v])),
    el("h2", {}, "Curves"), curves,
    el("h2", {}, "Inputs"), table(["Name", "Reference"], Object.entries(r.inputs).map(([k, v]) => [k, link("/lineage/" + enc(v.split("#")[0]), v)])),
    el("h2", {}, "Environment"),
    table(["Field", "Value"], [["host", env.host && env.host.hostname], ["os", env.host && env.host.os], ["cpu", env.host && env.host.cpu && env.host.cpu.model],
      ["python", env.python && env.python.version], ["git", env.git && `${env.git.branch || "detached"} ${env.git.commit || ""}`],
      ["peak memory (bytes)", env.peak_memory_bytes], ["strataml", env.strataml_version], ["packages", packageCount]]),
    el("h2", {}, "Log"), log,
  ];
}

/* A run's histories, packages and log tail: in the script its `details` names (runs/N.js, a
   hundred runs each), loaded on first use (a script, as file:// allows no request), so data.js
   stays small whatever the number of runs and steps. */
const shards = new Map();

function loadDetails(ids) {
  window.STRATA_DETAILS = window.STRATA_DETAILS || {};
  const missing = { history: {}, packages: null, log: null };
  return Promise.all(ids.map((id) => {
    const src = (runsById.get(id) || {}).details;
    if (typeof src !== "string" || !/^runs\/[0-9]+\.js$/.test(src)) return Promise.resolve(missing);
    if (!shards.has(src)) {
      shards.set(src, new Promise((resolve) => {
        const tag = document.createElement("script");
        tag.src = src;
        tag.onload = () => resolve(true);
        tag.onerror = () => resolve(false);
        document.body.append(tag);
      }));
    }
    return shards.get(src).then(() => (Object.hasOwn(window.STRATA_DETAILS, id) ? window.STRATA_DETAILS[id] : missing));
  }));
}

function comparePage(ids) {
  const runs = ids.map((id) => runsById.get(id)).filter(Boolean);
  if (runs.length < 2) return [el("h1", {}, "Compare"), el("p", {}, "Select two or more runs on the runs page.")];
  const body = el("div", { id: "comparison" }, el("p", { class: "muted" }, "loading…"));
  loadDetails(runs.map((r) => r.id)).then((loaded) => {  // filled in place, as a run's page
    const packages = new Map(runs.map((r, i) => [r.id, loaded[i].packages]));
    const history = new Map(runs.map((r, i) => [r.id, loaded[i].history]));
    const sections = [["Parameters", (r) => flatten(r.params)], ["Metrics", (r) => r.metrics], ["Inputs", (r) => r.inputs],
      ["Code", (r) => flatten(r.code || {})], ["Environment", (r) => flatten({ python: (r.environment || {}).python, packages: packages.get(r.id) })]];
    const out = [el("p", { class: "muted" }, "Only what differs is shown.")];
    let hidden = 0;
    for (const [title, get] of sections) {
      const values = runs.map(get);
      const keys = [...new Set(values.flatMap((v) => Object.keys(v)))].sort();
      const rows = keys.filter((k) => new Set(values.map((v) => JSON.stringify(v[k]))).size > 1);
      hidden += keys.length - rows.length;
      if (rows.length) out.push(el("h2", {}, title), table(["", ...runs.map((r) => link("/run/" + enc(r.id), r.id))], rows.map((k) => [k, ...values.map((v) => v[k])]), { class: "compare", "data-section": title }));
    }
    out.push(el("p", { class: "muted" }, `${hidden} identical fields hidden.`));
    const names = [...new Set(runs.flatMap((r) => Object.keys(history.get(r.id))))].sort();
    out.push(el("h2", {}, "Curves"), el("div", { class: "cards" }, names.map((n) => lineChart(n, runs.filter((r) => history.get(r.id)[n]).map((r) => ({ name: r.id, points: history.get(r.id)[n] }))))));
    body.replaceChildren(...out.flat(Infinity).filter(Boolean));
  });
  return [el("h1", {}, `Compare ${runs.length} runs`), body];
}

/* lineage: the chosen artifact with everything upstream and downstream, in columns by kind */

function lineagePage(start) {
  const nodes = new Set(INDEX.lineage.flatMap((e) => [e.source, e.target]));
  const all = [...nodes].sort();
  const focus = start && nodes.has(start) ? start : (allModelVersions.find((v) => v.stage === "production") || {}).ref || all[0];
  const picker = el("select", { id: "lineage-node", onchange: (e) => { location.hash = "#/lineage/" + enc(e.target.value); } },
    all.map((n) => el("option", { value: n, selected: n === focus }, n)));
  if (!focus) return [el("h1", {}, "Lineage"), el("p", { class: "muted" }, "No lineage recorded yet.")];
  const keep = window.STRATA_GRAPH.around(focus);  // laid out by views/graph.js (TFC-0007 R13)
  const edges = INDEX.lineage.filter((e) => keep.has(e.source) && keep.has(e.target));
  const box = window.STRATA_GRAPH.draw([...keep].sort(), edges, focus, "dag lineage");
  return [el("h1", {}, "Lineage"), el("p", {}, "Artifact ", picker, " ", link("/graph/" + enc(focus), "in the whole graph")), el("div", { class: "graph" }, box),
    table(["From", "Relation", "To"], edges.map((e) => [e.source, e.relation, e.target]), { id: "lineage-edges" })];
}

/* pipelines: each a left-to-right layered graph of its stages, coloured and worded by state */

const STATE_CLASS = { "up to date": "current", "stale": "stale", "never run": "never" };
const STATE_MARK = { "up to date": "✓", "stale": "!", "never run": "○" };

function pipelineGraph(p, n) {
  const BW = 210, BH = 66, GX = 80, GY = 22;
  const columns = new Map();
  for (const s of p.stages) { if (!columns.has(s.layer)) columns.set(s.layer, []); columns.get(s.layer).push(s); }
  const pos = new Map();
  for (const [layer, list] of columns) list.forEach((s, k) => pos.set(s.name, { x: 10 + layer * (BW + GX), y: 10 + k * (BH + GY) }));
  const layerOf = new Map(p.stages.map((s) => [s.name, s.layer]));
  const skips = p.edges.filter((e) => layerOf.get(e.target) - layerOf.get(e.source) > 1);
  const width = 20 + (Math.max(0, ...columns.keys()) + 1) * (BW + GX) - GX;
  const rowsBottom = 10 + Math.max(1, ...[...columns.values()].map((l) => l.length)) * (BH + GY) - GY;
  const height = rowsBottom + 14 + skips.length * 26;
  const arrow = "pipeline-arrow-" + n;
  const box = svg("svg", { class: "pipeline", width, height, role: "group", "aria-label": "stages of pipeline " + p.name, "data-pipeline": p.name },
    svg("defs", {}, svg("marker", { id: arrow, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
      svg("path", { d: "M0 0 L10 5 L0 10 z", fill: "#5b6670" }))));
  p.edges.forEach((e, k) => {
    const a = pos.get(e.source), b = pos.get(e.target);
    if (!a || !b) return;
    const y1 = a.y + BH / 2, y2 = b.y + BH / 2;
    const lane = skips.indexOf(e);
    // An edge to the next column curves across the gap; one that skips columns runs in a lane
    // below every box, down and up through the gaps, so that no box hides it.
    const low = rowsBottom + 12 + lane * 26, out = a.x + BW + GX / 2, into = b.x - GX / 2;
    const d = lane < 0 ? `M${a.x + BW} ${y1} C${a.x + BW + 40} ${y1} ${b.x - 40} ${y2} ${b.x} ${y2}`
      : `M${a.x + BW} ${y1} H${out} V${low} H${into} V${y2} H${b.x}`;
    box.append(svg("path", { class: "edge", "marker-end": `url(#${arrow})`, "data-edge": `${e.source}->${e.target}:${e.input}`, d },
      svg("title", {}, `${e.source} output ${e.output} is ${e.target} input ${e.input}`)));
    const [lx, ly] = lane < 0 ? [(a.x + BW + b.x) / 2, (y1 + y2) / 2 - 4 - (k % 2) * 11] : [(out + into) / 2, low + 13];
    box.append(svg("text", { class: "edge-label", x: lx, y: ly, "text-anchor": "middle" }, e.output));
  });
  for (const s of p.stages) {
    const at = pos.get(s.name);
    const g = svg("g", { class: "stage-box " + (STATE_CLASS[s.state] || "never"), "data-stage": s.name, role: "group",
      "aria-label": `stage ${s.name}: ${s.state}${s.run ? ", run " + s.run : ""}` });
    g.append(svg("rect", { x: at.x, y: at.y, width: BW, height: BH, rx: 5 }),
      svg("text", { x: at.x + 10, y: at.y + 19, class: "name" }, s.name),
      svg("text", { x: at.x + 10, y: at.y + 37, class: "state" }, `${STATE_MARK[s.state] || "?"} ${s.state}`));
    const label = s.run || "no run";
    if (s.run && runsById.has(s.run)) {
      const a = svg("a", { href: "#/run/" + enc(s.run), "data-run": s.run });
      a.append(svg("text", { x: at.x + 10, y: at.y + 56, class: "run" }, label));
      g.append(a);
    } else g.append(svg("text", { x: at.x + 10, y: at.y + 56, class: "run muted" }, label));
    box.append(g);
  }
  return box;
}

function pipelinesPage() {
  const list = INDEX.pipelines || [];
  if (!list.length) return [el("h1", {}, "Pipelines"), el("p", { class: "muted" }, "No pipelines under pipelines/.")];
  return [el("h1", {}, "Pipelines"), ...list.map((p, n) => {
    const counts = ["up to date", "stale", "never run"].map((st) => [st, p.stages.filter((s) => s.state === st).length]).filter(([, c]) => c);
    return el("section", { class: "pipeline", "data-pipeline": p.name },
      el("h2", {}, p.name, " ", el("span", { class: "muted" }, p.path)),
      el("p", { class: "pipeline-summary" }, counts.map(([st, c]) => `${c} ${st}`).join(", ")),
      el("div", { class: "graph" }, pipelineGraph(p, n)),
      table(["Stage", "State", "Run", "Inputs", "Why"], p.stages.map((s) => [
        s.name, el("span", { class: "state " + (STATE_CLASS[s.state] || "never") }, `${STATE_MARK[s.state] || "?"} ${s.state}`),
        s.run ? runLink(s.run) : "no run",
        s.inputs.map((i) => `${i.name} ← ${i.source}`).join("; "),
        s.reasons.map((r) => r.text).join("; ")]), { class: "pipeline-stages", "data-pipeline": p.name }));
  })];
}

function doctorPage() {
  if (!DOCTOR) return [el("h1", {}, "Doctor"), el("p", { class: "muted" }, "Build with --doctor-report report.json to show findings.")];
  return [el("h1", {}, "Doctor findings"), el("p", { id: "doctor-summary" }, doctorSummary(DOCTOR)),
    table(["Severity", "Code", "Path", "Line", "Message", "Hint"], DOCTOR.diagnostics.map((d) => [d.severity, d.code, d.path, d.line, d.message, d.hint]))];
}

/* the summary line of `strata doctor`'s text report, from its JSON report's counts */
function doctorSummary(report) {
  const s = report.summary || {};
  const plural = (n, word) => `${fmt(n)} ${n === 1 || word === "info" ? word : word + "s"}`;
  const verdict = report.exit_code === 0 ? "OK" : "FAILED";
  return `${verdict}${report.strict ? " (strict)" : ""}: ${plural(s.errors, "error")}, ${plural(s.warnings, "warning")}, `
    + `${plural(s.info, "info")}; ${plural(s.artifacts, "artifact")} checked, ${plural(s.files_hashed, "file")} hashed`;
}

function notFound() { return [el("h1", {}, "Not found"), link("/", "Back to the overview")]; }

const NAV = [["/", "Overview"], ["/models", "Models"], ["/datasets", "Datasets"], ["/runs", "Runs"], ["/sweep", "Sweeps"], ["/curves", "Curves"],
  ["/pipelines", "Pipelines"], ["/lineage", "Lineage"], ["/graph", "Graph"], ["/doctor", "Doctor"],
  ...((window.STRATA_SOURCES || []).length ? [["/sources", "Sources"]] : [])];
const VIEWS = window.STRATA_VIEWS || {};  // views/*.js, loaded before this file: route -> (parts) => page

function route() {
  const parts = (location.hash.replace(/^#/, "") || "/").split("/").filter(Boolean).map(decodeURIComponent);
  const [page, a, b] = parts;
  switch (page) {
    case undefined: return overview();
    case "models": return modelsPage();
    case "model": return modelPage(a, b);
    case "datasets": return datasetsPage();
    case "dataset": return datasetPage(a, b);
    case "runs": return runsPage();
    case "run": return runPage(a);
    case "compare": return comparePage((a || "").split(",").filter(Boolean));
    case "pipelines": return pipelinesPage();
    case "lineage": return lineagePage(parts.slice(1).join("/"));
    case "doctor": return doctorPage();
    default: return Object.hasOwn(VIEWS, page) ? VIEWS[page](parts.slice(1)) : notFound();
  }
}

function render() {
  const current = "/" + ((location.hash.replace(/^#\/?/, "").split("/")[0]) || "");
  document.getElementById("nav").replaceChildren(...NAV.map(([hash, label]) =>
    el("a", { href: "#" + hash, class: hash === current || (hash !== "/" && current.startsWith(hash.slice(0, -1)) && current === hash) ? "active" : null }, label)));
  const main = document.getElementById("main");
  main.replaceChildren(...[route()].flat(Infinity).filter(Boolean));
  document.title = "StrataML — " + (main.querySelector("h1") || { textContent: "" }).textContent;
}

window.addEventListener("hashchange", render);
render();
