/* Metric curves (TFC-0007 R12): every chosen run's history of one metric on one uPlot chart,
   and per group of an experiment's aggregates (TFC-0007 R2) the mean curve with a band from
   the lowest to the highest value its runs logged at each step. */
"use strict";

(() => {
  const C = window.STRATA_CHARTS;
  const state = { metric: "" };
  const MAX_LEGEND = 12;  // more runs than this: the legend would be a wall; the table names them

  function runsChart(found, metric) {
    const withPoints = found.filter((s) => s.points.length);
    const data = C.aligned(withPoints.map((s) => s.points));
    const many = withPoints.length > MAX_LEGEND;
    const series = [{ label: "step" }, ...withPoints.map((s, i) => ({
      label: s.id, stroke: C.color(i), width: many ? 1 : 1.5, points: { show: false }, spanGaps: true }))];
    const box = C.chart("curves-runs", `${metric}: ${withPoints.length} runs`, {
      scales: { x: { time: false } }, axes: [{ label: "step" }, { label: metric, size: 64 }],
      series, legend: { show: !many, live: false }, cursor: { points: { show: false }, drag: { x: true, y: false } },
    }, data);
    box.dataset.series = String(withPoints.length);
    box.dataset.points = String(withPoints.reduce((n, s) => n + s.points.length, 0));
    return box;
  }

  /* Per step: [mean, lowest, highest] of the values the group's runs logged there. */
  function spread(points) {
    const by = new Map();
    for (const p of points) for (const [step, v] of p) {
      if (typeof step !== "number" || typeof v !== "number") continue;
      const s = by.get(step) || by.set(step, [0, 0, Infinity, -Infinity]).get(step);
      s[0] += v; s[1] += 1; s[2] = Math.min(s[2], v); s[3] = Math.max(s[3], v);
    }
    return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([step, [sum, n, lo, hi]]) => [step, sum / n, lo, hi]);
  }

  function groupsChart(groups, byId, metric) {
    const lines = groups.map((g) => spread(g.runs.map((id) => byId.get(id) || [])));
    const data = C.aligned(lines.flatMap((l) => [l.map((p) => [p[0], p[1]]), l.map((p) => [p[0], p[2]]), l.map((p) => [p[0], p[3]])]));
    const series = [{ label: "step" }], bands = [];
    groups.forEach((g, i) => {
      const name = Object.entries(g.group).map(([k, v]) => `${k}=${fmt(v)}`).join(" ") || "(all runs)";
      const colour = C.color(i);
      series.push({ label: `${name} (${g.runs.length} runs)`, stroke: colour, width: 2, points: { show: false }, spanGaps: true },
        { label: `${name} lowest`, stroke: C.alpha(colour, 0.25), width: 0.5, points: { show: false }, spanGaps: true },
        { label: `${name} highest`, stroke: C.alpha(colour, 0.25), width: 0.5, points: { show: false }, spanGaps: true });
      bands.push({ series: [3 * i + 3, 3 * i + 2], fill: C.alpha(colour, 0.18) });
    });
    const box = C.chart("curves-groups", `${metric}: mean and range of ${groups.length} groups`, {
      scales: { x: { time: false } }, axes: [{ label: "step" }, { label: metric, size: 64 }], series, bands,
      hooks: { ready: [(u) => u.root.querySelectorAll(".u-legend .u-series").forEach((row) => {  // the band's edges: not in the legend
        if (/ (lowest|highest)$/.test(row.textContent)) row.classList.add("band-edge"); })] },
      legend: { show: groups.length <= MAX_LEGEND, live: false }, cursor: { points: { show: false }, drag: { x: true, y: false } },
    }, data);
    box.dataset.groups = String(groups.length);
    return box;
  }

  function curvesPage(parts) {
    const choices = C.experiments();
    const experiment = choices.includes(parts[0]) ? parts[0] : "";
    const runs = INDEX.runs.filter((r) => !experiment || r.experiment === experiment);
    const held = new Map();  // metric -> how many of the runs have it: the most held is shown first
    for (const r of runs) for (const k of Object.keys(r.metrics)) held.set(k, (held.get(k) || 0) + 1);
    const metrics = [...held.keys()].sort();
    const metric = metrics.includes(state.metric) ? state.metric : metrics.reduce((a, b) => (held.get(b) > held.get(a) ? b : a), metrics[0]);
    const head = [el("h1", {}, "Curves"), el("div", { class: "filters" },
      C.picker("curves-experiment", "Experiment", [["", "all"], ...choices.map((e) => [e, e])], experiment,
        (v) => { location.hash = "#/curves/" + enc(v); }),
      metric ? C.picker("curves-metric", "Metric", metrics.map((m) => [m, m]), metric, (v) => { state.metric = v; render(); }) : null,
      el("span", { class: "muted", id: "curves-count" }, `${runs.length} runs`))];
    if (!metric) return [...head, el("p", { class: "muted" }, "No metrics recorded.")];
    const body = el("div", { id: "curves-body" }, el("p", { class: "muted" }, "loading…"));
    const aggregate = (INDEX.aggregates || []).find((a) => a.experiment === experiment);
    C.histories(runs.map((r) => r.id), metric).then((found) => {
      const byId = new Map(found.map((s) => [s.id, s.points]));
      const groups = aggregate ? aggregate.groups.filter((g) => g.runs.some((id) => (byId.get(id) || []).length)) : [];
      body.replaceChildren(...[el("h2", {}, "Runs"), runsChart(found, metric),
        el("h2", {}, "Groups"), groups.length ? [el("p", { class: "muted" }, `Succeeded runs grouped by ${aggregate.group_by.join(", ") || "nothing"}`
          + `${aggregate.over.length ? ` over ${aggregate.over.join(", ")}` : ""}: mean line, band from lowest to highest.`), groupsChart(groups, byId, metric)]
          : el("p", { class: "muted", id: "curves-no-groups" }, experiment ? "No group has this metric's history." : "Choose an experiment to see its groups.")].flat());
    });
    return [...head, body];
  }

  window.STRATA_VIEWS.curves = curvesPage;
})();
