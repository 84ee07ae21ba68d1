/* Other sites beside this one (TFC-0007 R14): each listed site's index.json is fetched when this
   page opens, never before and nothing else (the page's Content-Security-Policy lists exactly
   these addresses), and shown with its state: loaded, unreachable or invalid. A foreign index is
   data: every value reaches the page as text, as this site's own do (R7). */
"use strict";

window.STRATA_VIEWS = window.STRATA_VIEWS || {};

(() => {
  const SOURCES = window.STRATA_SOURCES || [];
  const TIMEOUT_MS = 10000;
  const pending = new Map();  // name -> promise of { state, detail, index }

  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const text = (v) => (typeof v === "string" || typeof v === "number" ? v : null);

  function invalidBecause(doc) {
    if (!isObject(doc)) return "not a JSON object";
    if (doc.schema_version !== 1) return "schema_version is not 1";
    for (const key of ["datasets", "models", "runs"]) if (!Array.isArray(doc[key])) return `no ${key} list`;
    return null;
  }

  async function fetchOne(source) {
    const control = new AbortController();
    const timer = setTimeout(() => control.abort(), TIMEOUT_MS);
    let response;
    try {
      response = await fetch(source.url, { signal: control.signal, credentials: "omit", redirect: "error", cache: "no-store" });
    } catch (error) {
      return { state: "unreachable", detail: control.signal.aborted ? `no answer in ${TIMEOUT_MS / 1000} s` : "no connection, or the server does not allow this page to read it" };
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) return { state: "unreachable", detail: `HTTP ${response.status}` };
    let doc;
    try {
      doc = JSON.parse(await response.text());
    } catch (error) {
      return { state: "invalid", detail: "not JSON" };
    }
    const why = invalidBecause(doc);
    if (why) return { state: "invalid", detail: `not a StrataML index.json: ${why}` };
    return { state: "loaded", detail: "", index: doc };
  }

  function load(source) {
    if (!pending.has(source.name)) pending.set(source.name, fetchOne(source));
    return pending.get(source.name);
  }

  const counts = (index) => [index.datasets.length, index.models.length, index.runs.length];

  function siteOf(source) {  // the site's own page, beside its index.json
    return source.url.replace(/index\.json$/, "index.html");
  }

  /* Every model version, dataset version and run of the loaded sites, this one first. */
  function across(loaded) {
    const models = [], datasets = [], runs = [];
    for (const [name, index] of loaded) {
      for (const m of index.models) {
        if (!isObject(m) || !Array.isArray(m.versions)) continue;
        for (const v of m.versions) if (isObject(v)) models.push([name, text(m.name), text(v.version), text(v.stage)]);
      }
      for (const d of index.datasets) if (isObject(d)) datasets.push([name, text(d.name), text(d.version)]);
      for (const r of index.runs) {
        if (isObject(r)) runs.push([name, text(r.id), text(r.experiment), text(r.status), text(r.created)]);
      }
    }
    runs.sort((a, b) => String(b[4]).localeCompare(String(a[4])));
    return { models, datasets, runs: runs.slice(0, 20) };
  }

  function sourcesPage() {
    const rows = new Map();
    const own = ["this site", "–", "loaded", ...counts(INDEX), ""];
    const body = el("tbody", {}, el("tr", { "data-source": "", "data-state": "loaded" }, own.map((c) => el("td", {}, fmt(c)))));
    for (const source of SOURCES) {
      const row = el("tr", { "data-source": source.name, "data-state": "loading" },
        el("td", {}, source.name), el("td", {}, el("a", { href: siteOf(source) }, source.url)),
        el("td", { class: "state" }, "loading…"), el("td", { class: "num" }), el("td", { class: "num" }),
        el("td", { class: "num" }), el("td", {}));
      rows.set(source.name, row);
      body.append(row);
    }
    const head = el("thead", {}, el("tr", {}, ["Source", "Address", "State", "Datasets", "Models", "Runs", "Why"].map((h) => el("th", {}, h))));
    const combined = el("div", { id: "across" });
    Promise.all(SOURCES.map((source) => load(source).then((got) => {
      const row = rows.get(source.name);
      row.setAttribute("data-state", got.state);
      const cells = row.children;
      cells[2].textContent = got.state;
      if (got.index) counts(got.index).forEach((n, i) => { cells[3 + i].textContent = fmt(n); });
      cells[6].textContent = got.detail;
      return [source.name, got.index];
    }))).then((results) => {
      const loaded = [["this site", INDEX], ...results.filter(([, index]) => index)];
      const all = across(loaded);
      combined.replaceChildren(
        el("h2", {}, "Models"), table(["Source", "Model", "Version", "Stage"], all.models),
        el("h2", {}, "Datasets"), table(["Source", "Dataset", "Version"], all.datasets),
        el("h2", {}, "Latest runs"), table(["Source", "Run", "Experiment", "Status", "Created"], all.runs));
      combined.setAttribute("data-ready", "");
    });
    return [
      el("h1", {}, "Sources"),
      el("p", { class: "muted" }, "This site's catalogue beside the sites it lists, each read when this page opens."),
      el("table", { id: "sources" }, head, body),
      combined,
    ];
  }

  window.STRATA_VIEWS.sources = sourcesPage;
})();
