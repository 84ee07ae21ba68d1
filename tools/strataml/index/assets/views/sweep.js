/* Sweep views (TFC-0007 R11): for one experiment's succeeded runs, parallel coordinates over the
   parameters that vary and a chosen metric, and a scatter of any parameter against any metric,
   coloured by a third; drawn with uPlot. */
"use strict";

(() => {
  const C = window.STRATA_CHARTS;
  const state = { metric: "", x: "", y: "", colour: "" };
  const repaint = (key) => (value) => { state[key] = value; render(); };

  function names(runs) {
    const params = new Set(), metrics = new Set();
    for (const r of runs) {
      for (const k of Object.keys(flatParams(r))) params.add(k);
      for (const [k, v] of Object.entries(r.metrics)) if (typeof v === "number") metrics.add(k);
    }
    return { params: [...params].sort(), metrics: [...metrics].sort() };
  }

  const value = (run, key) => key.startsWith("param:") ? flatParams(run)[key.slice(6)] : run.metrics[key.slice(7)];
  const label = (key) => key.replace(/^(param|metric):/, "");

  function parallel(runs, varying, metric) {
    const keys = [...varying.map((p) => "param:" + p), "metric:" + metric];
    const dims = keys.map((k) => C.axis(label(k), runs.map((r) => value(r, k))));
    const shade = dims[dims.length - 1];
    const xs = dims.map((_, i) => i);
    const data = [xs, ...runs.map((r) => keys.map((k, i) => dims[i].pos(value(r, k))))];
    const series = [{ label: "dimension" }, ...runs.map((r) => ({
      label: r.id, stroke: C.scale(shade.pos(r.metrics[metric])), width: 1.25, points: { show: false }, spanGaps: false }))];
    const box = C.chart("sweep-parallel", `Parallel coordinates: ${varying.length} parameters and ${metric}`, {
      scales: { x: { time: false, range: [-0.25, dims.length - 0.75] }, y: { range: [-0.05, 1.05] } },
      axes: [{ splits: () => xs, values: (u, splits) => splits.map((i) => dims[i] ? `${dims[i].name}\n${dims[i].text}` : ""),
        size: 56, grid: { show: true, stroke: "#8a949e", width: 1 }, ticks: { show: false } }, { show: false }],
      series, legend: { show: false }, cursor: { points: { show: false }, drag: { x: false, y: false } },
    }, data);
    box.dataset.lines = String(runs.length);
    return [box, colourScale(shade, "sweep-parallel-scale")];
  }

  function colourScale(axis, id) {
    const bar = el("span", { class: "scale-bar" });
    bar.style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map(C.scale).join(", ")})`;  // CSSOM, as CSP allows
    return el("p", { class: "colour-scale", id }, `colour: ${axis.name} `, el("span", { class: "scale-lo" }, fmt(axis.lo)), bar,
      el("span", { class: "scale-hi" }, fmt(axis.hi)));
  }

  /* The colour of each run in the scatter: a bucket of a number's range, or one of its values. */
  function buckets(runs, key) {
    const values = runs.map((r) => value(r, key));
    const axis = C.axis(label(key), values);
    const distinct = [...new Set(values.filter((v) => v !== undefined && v !== null).map(String))];
    let of, list;
    if (axis.numeric && distinct.length > 6) {
      const edges = [0, 1, 2, 3, 4, 5].map((i) => axis.lo + (axis.hi - axis.lo) * i / 5);
      list = edges.slice(0, 5).map((lo, i) => ({ name: `${axis.name} ${fmt(lo)}–${fmt(edges[i + 1])}`, colour: C.scale((i + 0.5) / 5) }));
      of = (v) => typeof v === "number" ? Math.min(4, Math.floor((v - axis.lo) / ((axis.hi - axis.lo) / 5 || 1))) : -1;
    } else {
      const shown = axis.numeric ? distinct.map(Number).sort((a, b) => a - b).map(String) : distinct.sort().slice(0, 8);
      list = shown.map((v, i) => ({ name: `${axis.name}=${v}`, colour: axis.numeric ? C.scale(axis.pos(Number(v))) : C.color(i) }));
      of = (v) => v === undefined || v === null ? -1 : shown.includes(String(v)) ? shown.indexOf(String(v)) : -2;
      if (distinct.length > shown.length) list.push({ name: `${axis.name}: other`, colour: "#8a949e" });
    }
    list.push({ name: `${axis.name} unset`, colour: "#c4cad0" });
    const index = (v) => { const b = of(v); return b === -1 ? list.length - 1 : b === -2 ? list.length - 2 : b; };
    return { list, index };
  }

  /* The x range with a margin, so that no point sits on the frame. */
  function xRange(axis) {
    if (!axis.numeric) return [-0.5, axis.categories.length - 0.5];
    if (axis.log) return [axis.lo / 1.5, axis.hi * 1.5];
    const pad = (axis.hi - axis.lo) * 0.06 || Math.abs(axis.lo) * 0.1 || 1;
    return [axis.lo - pad, axis.hi + pad];
  }

  function scatter(runs, x, y, colour) {
    const xAxis = C.axis(label(x), runs.map((r) => value(r, x)));
    const place = (v) => xAxis.numeric ? (typeof v === "number" ? v : null) : (v === undefined || v === null ? null : xAxis.categories.indexOf(typeof v === "string" ? v : JSON.stringify(v)));
    const points = runs.map((r) => [place(value(r, x)), value(r, y), r]).filter(([a, b]) => a !== null && typeof b === "number");
    points.sort((p, q) => p[0] - q[0]);
    const { list, index } = buckets(runs, colour);
    const ys = list.map(() => new Array(points.length).fill(null));
    points.forEach(([, b, r], i) => { ys[index(value(r, colour))][i] = b; });
    const used = list.map((b, i) => [b, ys[i]]).filter(([, s]) => s.some((v) => v !== null));
    const box = C.chart("sweep-scatter", `${label(y)} against ${label(x)}, coloured by ${label(colour)}`, {
      scales: { x: { time: false, ...(xAxis.log ? { distr: 3, log: 10 } : {}), range: xRange(xAxis) } },
      axes: [{ label: label(x), ...(xAxis.numeric ? {} : { splits: () => xAxis.categories.map((_, i) => i), values: () => xAxis.categories }) },
        { label: label(y), size: 64 }],
      series: [{ label: label(x) }, ...used.map(([b]) => ({ label: b.name, stroke: b.colour, fill: b.colour, paths: () => null,
        points: { show: true, size: 8, width: 1, stroke: b.colour, fill: b.colour } }))],
      legend: { live: false }, cursor: { drag: { x: false, y: false } },
    }, [points.map((p) => p[0]), ...used.map(([, s]) => s)]);
    box.dataset.points = String(points.length);
    return box;
  }

  function sweepPage(parts) {
    const choices = C.experiments();
    const experiment = choices.includes(parts[0]) ? parts[0] : choices[0];
    const head = el("h1", {}, "Sweeps");
    if (!experiment) return [head, el("p", { class: "muted" }, "No runs yet.")];
    const runs = INDEX.runs.filter((r) => r.experiment === experiment && r.status === "succeeded");
    const { params, metrics } = names(runs);
    const varying = params.filter((p) => new Set(runs.map((r) => JSON.stringify(flatParams(r)[p]))).size > 1);
    const pick = C.picker("sweep-experiment", "Experiment", choices.map((e) => [e, e]), experiment,
      (v) => { location.hash = "#/sweep/" + enc(v); });
    if (!metrics.length || !varying.length) {
      return [head, el("div", { class: "filters" }, pick),
        el("p", { class: "muted", id: "sweep-empty" }, `${runs.length} succeeded runs; ${varying.length ? "no metric" : "no parameter varies"}.`)];
    }
    const metric = metrics.includes(state.metric) ? state.metric : metrics[0];
    const keys = [...params.map((p) => "param:" + p), ...metrics.map((m) => "metric:" + m)];
    const x = keys.includes(state.x) && state.x.startsWith("param:") ? state.x : "param:" + varying[0];
    const y = metrics.includes(label(state.y)) ? "metric:" + label(state.y) : "metric:" + metric;
    const fallback = varying.length > 1 ? "param:" + varying[1] : "metric:" + metrics[metrics.length - 1];
    const colour = keys.includes(state.colour) ? state.colour : fallback;
    const option = (k) => [k, label(k)];
    return [head,
      el("div", { class: "filters" }, pick, C.picker("sweep-metric", "Metric", metrics.map((m) => [m, m]), metric, repaint("metric")),
        el("span", { class: "muted", id: "sweep-count" }, `${runs.length} succeeded runs, ${varying.length} parameters vary`)),
      el("h2", {}, "Parallel coordinates"), ...parallel(runs, varying, metric),
      el("h2", {}, "Scatter"),
      el("div", { class: "filters" },
        C.picker("scatter-x", "x", params.map((p) => option("param:" + p)), x, repaint("x")),
        C.picker("scatter-y", "y", metrics.map((m) => option("metric:" + m)), y, repaint("y")),
        C.picker("scatter-colour", "colour", keys.map(option), colour, repaint("colour"))),
      scatter(runs, x, y, colour)];
  }

  window.STRATA_VIEWS.sweep = sweepPage;
})();
