/* What the views share (TFC-0007 R10): colours, pickers, and a uPlot chart mounted once its box
   is on the page. Loaded before app.js: the helpers of app.js (el, INDEX, loadDetails, fmt, …)
   are used only when a view is drawn, after app.js has run. */
"use strict";

window.STRATA_VIEWS = window.STRATA_VIEWS || {};

window.STRATA_CHARTS = (() => {
  // Tableau 10: ten categories before a colour repeats
  const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
  // viridis, five stops: a colour scale readable in grey and by most colour-blind readers
  const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function scale(t) {
    const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
    const i = Math.min(STOPS.length - 2, Math.floor(x)), f = x - i;
    const c = STOPS[i].map((v, k) => Math.round(v + (STOPS[i + 1][k] - v) * f));
    return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
  }

  const color = (n) => PALETTE[n % PALETTE.length];

  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }

  /* A labelled <select>; `onpick` gets the chosen value. */
  function picker(id, label, options, value, onpick) {
    return el("label", {}, label + " ", el("select", { id, onchange: (e) => onpick(e.target.value) },
      options.map(([v, text]) => el("option", { value: v, selected: v === value }, text))));
  }

  /* A box that draws a uPlot chart once it is in the document (route() attaches the page after
     the view returns); the chart is kept on the box (`box.uplot`) and the time it took to draw
     in data-ms, for the tests and the benchmark. */
  function chart(id, title, opts, data) {
    const box = el("div", { class: "uchart", id, "data-title": title });
    const draw = () => {
      if (!box.isConnected) return;
      const started = performance.now();
      const drawn = () => { if (box.dataset.ready) return; box.dataset.ms = String(Math.round(performance.now() - started)); box.dataset.ready = "1"; };
      const hooks = { ...(opts.hooks || {}), draw: [...((opts.hooks || {}).draw || []), drawn] };
      box.uplot = new uPlot({ title, width: 900, height: 380, ...opts, hooks }, data, box);
    };
    queueMicrotask(draw);
    return box;
  }

  /* Numbers or, failing that, text: how a sweep's parameters and metrics are put on an axis. */
  function axis(name, values) {
    const present = values.filter((v) => v !== undefined && v !== null);
    const numeric = present.length > 0 && present.every((v) => typeof v === "number");
    if (numeric) {
      const lo = Math.min(...present), hi = Math.max(...present);
      const log = lo > 0 && hi / lo >= 100;
      const pos = (v) => typeof v !== "number" ? null
        : hi === lo ? 0.5 : log ? Math.log(v / lo) / Math.log(hi / lo) : (v - lo) / (hi - lo);
      return { name, numeric, log, lo, hi, pos, categories: [], text: `${fmt(lo)} – ${fmt(hi)}${log ? " (log)" : ""}` };
    }
    const categories = [...new Set(present.map((v) => typeof v === "string" ? v : JSON.stringify(v)))].sort();
    const key = (v) => typeof v === "string" ? v : JSON.stringify(v);
    const pos = (v) => v === undefined || v === null ? null
      : categories.length === 1 ? 0.5 : categories.indexOf(key(v)) / (categories.length - 1);
    return { name, numeric, log: false, lo: 0, hi: categories.length - 1, pos, categories, text: categories.join(" | ") };
  }

  /* Histories of `ids`, loaded from their detail scripts: [{id, points}] for one metric. */
  function histories(ids, metric) {
    return loadDetails(ids).then((loaded) => ids.map((id, i) => ({ id, points: (loaded[i].history || {})[metric] || [] })));
  }

  /* Series of [step, value] pairs aligned on the union of their steps, as uPlot wants them. */
  function aligned(series) {
    const steps = new Set();
    for (const s of series) for (const p of s) if (typeof p[0] === "number") steps.add(p[0]);
    const xs = Float64Array.from(steps).sort();
    const at = new Map();
    xs.forEach((x, i) => at.set(x, i));
    const ys = series.map((s) => {
      const y = new Array(xs.length).fill(null);
      for (const p of s) if (typeof p[1] === "number" && at.has(p[0])) y[at.get(p[0])] = p[1];
      return y;
    });
    return [Array.from(xs), ...ys];
  }

  function experiments() {
    return [...new Set(INDEX.runs.map((r) => r.experiment).filter((e) => typeof e === "string"))].sort();
  }

  return { scale, color, alpha, picker, chart, axis, histories, aligned, experiments };
})();
