"""The dashboard's sweep, curve and lineage-graph views, drawn in headless Chromium with the
vendored uPlot and dagre (TFC-0007 R10-R13): what each draws is read back from the page (the
chart's series, axes, ticks, legend and pixels; the graph's boxes and edges), every page is
screenshotted, and no console error, page error, CSP violation or foreign request is allowed."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, fork_template
from synthetic import generate_sweep
from viewkit import ViewPage, with_lineage, with_runs

ASSETS = REPO / "tools" / "strataml" / "index" / "assets"
GRID: dict[str, list[object]] = {"learning_rate": [0.001, 0.01, 0.1], "batch_size": [16, 32]}
SEEDS, STEPS = 3, 200

# For the chart in `box`: each series' non-null points, and how many of them the canvas shows
# in the series' colour at the point's pixel (uPlot's own value-to-pixel mapping).
POINTS_DRAWN = """box => {
  const u = box.uplot, ctx = u.ctx, rgb = (c) => c.match(/[0-9]+/g).slice(0, 3).map(Number);
  const hex = (c) => c.startsWith('#') ? [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) : rgb(c);
  return u.series.slice(1).map((s, k) => {
    const want = hex(s._stroke || s.stroke());
    let points = 0, shown = 0;
    u.data[k + 1].forEach((y, i) => {
      if (y === null) return;
      points++;
      const px = Math.round(u.valToPos(u.data[0][i], 'x', true)), py = Math.round(u.valToPos(y, 'y', true));
      const [r, g, b] = ctx.getImageData(px, py, 1, 1).data;
      if (Math.abs(r - want[0]) + Math.abs(g - want[1]) + Math.abs(b - want[2]) < 60) shown++;
    });
    return [s.label, points, shown];
  });
}"""
TICKS = "box => box.uplot.axes.map(a => [a.label ?? null, (a._values || []).map(String)])"
LEGEND = "box => [...box.querySelectorAll('.u-legend .u-series .u-label')].map(l => l.textContent)"
PAINTED = """box => { const c = box.querySelector('canvas'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """A fork of the template with an 18-run sweep (3 learning rates x 2 batch sizes x 3
    seeds), and its site as `tools/index.py --site` builds it."""
    repo = fork_template(tmp_path_factory.mktemp("sweep") / "repo")
    ids = generate_sweep(repo, GRID, SEEDS, STEPS)
    out = repo.parent / "site"
    built = subprocess.run(
        [sys.executable, str(REPO / "tools" / "index.py"), "--site", str(out)], cwd=repo,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    return repo, out, ids


def site_of(index: dict[str, Any], root: Path, out: Path) -> Path:
    from strataml.index.encoding import encode
    from strataml.index.site import build_site

    build_site(root, index, encode(index), out, None)
    return out


def clean(page: ViewPage) -> None:
    """Nothing went wrong on the page: what every test ends with."""
    assert page.errors == []
    assert page.violations() == []
    assert {u.split("#")[0] for u in page.requests} <= page.own_files()


def test_vendored_libraries_are_the_recorded_bytes_and_ship_with_the_site(
    sweep: tuple[Path, Path, list[str]],
) -> None:
    from strataml.index.site import VENDORED, VIEWS

    record = (ASSETS / "vendor" / "VENDORED.md").read_text(encoding="utf-8")
    files = dict(re.findall(r"^\| (\S+) \| [^|]+ \| ([0-9a-f]{64}) \|$", record, re.MULTILINE))
    assert sorted(files) == sorted(
        p.name for p in (ASSETS / "vendor").iterdir() if p.name != "VENDORED.md"
    )
    for name, digest in files.items():
        assert hashlib.sha256((ASSETS / "vendor" / name).read_bytes()).hexdigest() == digest, name
    libraries = re.findall(r"^\| (uPlot|@dagrejs/dagre) \| ([0-9.]+) \| (MIT) \|", record, re.M)
    assert libraries == [("uPlot", "1.6.32", "MIT"), ("@dagrejs/dagre", "3.1.4", "MIT")]
    assert "uPlot (v1.6.32)" in (ASSETS / "vendor" / "uPlot.iife.min.js").read_text()
    assert sorted(VENDORED) == sorted(f"vendor/{p.name}" for p in (ASSETS / "vendor").iterdir())
    assert sorted(VIEWS) == sorted(f"views/{p.name}" for p in (ASSETS / "views").iterdir())
    _, out, _ = sweep
    for name in (*VENDORED, *VIEWS):  # in the built site, byte for byte
        assert (out / name).read_bytes() == (ASSETS / name).read_bytes(), name
    html = (out / "index.html").read_text()
    loaded = re.findall(r'(?:src|href)="(?!data:)([^"#]+)"', html)  # the icon is inline
    assert all((out / name).is_file() for name in loaded) and "vendor/uPlot.iife.min.js" in loaded


def test_sweep_draws_parallel_coordinates_and_a_coloured_scatter(
    chromium: Any, sweep: tuple[Path, Path, list[str]]
) -> None:
    repo, out, ids = sweep
    losses = {
        i: json.loads((repo / "runs" / i / "metrics.json").read_text())["final"]["train/loss"]
        for i in ids
    }
    page = ViewPage(chromium, out)
    view = page.open("#/sweep/sweep")
    view.wait_for_selector("#sweep-parallel[data-ready] canvas")
    view.wait_for_selector("#sweep-scatter[data-ready] canvas")
    assert view.inner_text("#sweep-count") == "18 succeeded runs, 3 parameters vary"
    parallel = view.query_selector("#sweep-parallel")
    # one line per run across four axes: the three parameters that vary, then the metric
    lines = parallel.evaluate("b => b.uplot.series.slice(1).map(s => [s.label, s.stroke()])")
    assert sorted(label for label, _ in lines) == sorted(ids)
    [(_, dims)] = [t for t in parallel.evaluate(TICKS) if t[1]][:1]
    assert [d.split("\n")[0] for d in dims] == ["batch_size", "learning_rate", "seed", "train/loss"]
    dash = "\u2013"  # an en dash between the two ends of a range
    assert dims[1].split("\n")[1] == f"0.001 {dash} 0.1 (log)"
    assert dims[0].split("\n")[1] == f"16 {dash} 32"
    # coloured by the metric on the viridis scale: the lowest loss darkest, the highest yellow
    stroke = dict(lines)
    assert stroke[min(losses, key=losses.__getitem__)] == "rgb(68, 1, 84)"
    assert stroke[max(losses, key=losses.__getitem__)] == "rgb(253, 231, 37)"
    assert view.inner_text("#sweep-parallel-scale").startswith("colour: train/loss")
    assert parallel.evaluate(PAINTED) > 5000
    page.shot("views-sweep-parallel")

    scatter = view.query_selector("#sweep-scatter")
    assert scatter.evaluate(LEGEND) == [
        "learning_rate=0.001", "learning_rate=0.01", "learning_rate=0.1",
    ]  # fmt: skip
    drawn = scatter.evaluate(POINTS_DRAWN)
    assert [(label, points) for label, points, _ in drawn] == [
        ("learning_rate=0.001", 6), ("learning_rate=0.01", 6), ("learning_rate=0.1", 6),
    ]  # fmt: skip
    # every series shows in its colour where uPlot places its points (a point may hide another)
    assert all(shown >= 2 for _, _, shown in drawn) and sum(s for _, _, s in drawn) >= 9
    # any parameter against any metric, coloured by a third: learning rate (a log axis)
    view.select_option("#scatter-x", "param:learning_rate")
    view.select_option("#scatter-y", "metric:val/accuracy")
    view.select_option("#scatter-colour", "param:batch_size")
    view.wait_for_selector("#sweep-scatter[data-ready] canvas")
    scatter = view.query_selector("#sweep-scatter")
    assert scatter.evaluate("b => b.uplot.scales.x.distr") == 3
    axes = scatter.evaluate(TICKS)
    assert axes[0][0] == "learning_rate" and {"0.001", "0.01", "0.1"} <= set(axes[0][1])
    assert axes[1][0] == "val/accuracy" and len(axes[1][1]) >= 3
    assert scatter.evaluate(LEGEND) == ["batch_size=16", "batch_size=32"]
    drawn = scatter.evaluate(POINTS_DRAWN)
    assert [(label, points) for label, points, _ in drawn] == [
        ("batch_size=16", 9),
        ("batch_size=32", 9),
    ]
    assert sum(shown for _, _, shown in drawn) >= 12  # seeds of one point may overlap
    page.shot("views-sweep-scatter")
    view.hover("#sweep-scatter .u-over", position={"x": 300, "y": 120})  # the cursor, by uPlot
    view.hover("#sweep-parallel .u-over", position={"x": 200, "y": 100})
    clean(page)


def test_curves_draw_every_run_and_each_groups_mean_and_band(
    chromium: Any, sweep: tuple[Path, Path, list[str]]
) -> None:
    repo, out, _ = sweep
    page = ViewPage(chromium, out)
    view = page.open("#/curves/sweep")
    view.wait_for_selector("#curves-runs[data-ready] canvas")
    view.wait_for_selector("#curves-groups[data-ready] canvas")
    runs = view.query_selector("#curves-runs")
    assert (runs.get_attribute("data-series"), runs.get_attribute("data-points")) == (
        "18",
        str(18 * STEPS),
    )
    assert runs.evaluate("b => b.uplot.data[0].length") == STEPS
    assert runs.evaluate(TICKS)[0][0] == "step" and runs.evaluate(TICKS)[1][0] == "train/loss"
    assert runs.evaluate(PAINTED) > 5000
    groups = view.query_selector("#curves-groups")
    assert groups.get_attribute("data-groups") == "6"  # 3 learning rates x 2 batch sizes
    legend = groups.evaluate(LEGEND)
    means = [name for name in legend if name.endswith("(3 runs)")]
    assert means == [
        f"batch_size={b} learning_rate={lr} (3 runs)" for b in (16, 32) for lr in GRID["learning_rate"]
    ]  # fmt: skip
    assert groups.evaluate("b => b.uplot.bands.length") == 6
    # the first group's mean and band, step by step, from its three runs' histories
    index = json.loads((out / "index.json").read_text())
    [aggregate] = [a for a in index["aggregates"] if a["experiment"] == "sweep"]
    first = aggregate["groups"][0]
    assert first["over"] == {"seed": [0, 1, 2]} and len(first["runs"]) == SEEDS
    histories = [
        json.loads((repo / "runs" / i / "metrics.json").read_text())["history"]["train/loss"]
        for i in first["runs"]
    ]
    mean, low, high = groups.evaluate("b => b.uplot.data.slice(1, 4)")
    for step in (0, STEPS // 2, STEPS - 1):
        values = [h[step]["value"] for h in histories]
        assert mean[step] == pytest.approx(sum(values) / 3)
        assert (low[step], high[step]) == (min(values), max(values))
    page.shot("views-curves-groups")
    clean(page)


def test_lineage_graph_of_two_hundred_artifacts_is_laid_out_without_overlaps(
    chromium: Any, template: Path, tmp_path: Path
) -> None:
    from strataml.index.catalogue import build_index

    index = with_lineage(build_index(template), 25)
    nodes = {n for e in index["lineage"] for n in (e["source"], e["target"])}
    assert len(nodes) >= 200
    page = ViewPage(chromium, site_of(index, template, tmp_path / "site"))
    view = page.open("#/graph")
    view.wait_for_selector("svg.dag")
    boxes = view.eval_on_selector_all(
        "svg.dag a.node",
        "as => as.map(a => { const r = a.querySelector('rect').getBoundingClientRect();"
        " const t = [...a.querySelectorAll('text')].map(x => x.getBoundingClientRect());"
        " return [a.dataset.node, [r.left, r.top, r.right, r.bottom], t.map(b => [b.left, b.top, b.right, b.bottom]),"
        " getComputedStyle(a.querySelector('text')).fontSize]; })",
    )
    assert sorted(b[0] for b in boxes) == sorted(nodes)
    at = {name: rect for name, rect, _, _ in boxes}
    ordered = sorted(at.values())
    for i, a in enumerate(ordered):  # no two boxes overlap
        for b in ordered[i + 1 :]:
            if b[0] >= a[2]:
                break
            assert b[1] >= a[3] or b[3] <= a[1], (a, b)
    for _, rect, texts, size in boxes:  # each label inside its box, at a readable size
        assert float(size.rstrip("px")) >= 11
        for t in texts:
            assert rect[0] <= t[0] and t[2] <= rect[2] + 0.5 and rect[1] <= t[1] and t[3] <= rect[3]
    edges = view.eval_on_selector_all("svg.dag path.edge", "ps => ps.map(p => p.dataset.edge)")
    assert sorted(edges) == sorted(
        f"{e['source']}->{e['target']}:{e['relation']}" for e in index["lineage"]
    )
    for e in index["lineage"]:  # left to right: datasets, runs, models; chains in order
        assert at[e["source"]][2] < at[e["target"]][0], e
    assert view.inner_text("#graph-count") == f"{len(nodes)} artifacts, {len(edges)} edges"
    page.shot("views-graph-200")
    # around one model: its fine-tune chain and pipeline, and what fed them
    view = page.open("#/graph/" + "models%2Fnet03%40v2")
    shown = view.eval_on_selector_all("svg.dag a.node", "as => as.map(a => a.dataset.node)")
    assert "runs/run-2026-03-01-p03s0" in shown and "models/net04@v1" not in shown
    assert view.eval_on_selector("svg.dag a.node.focus", "a => a.dataset.node") == "models/net03@v2"
    page.shot("views-graph-focus")
    clean(page)
    # the checks above can fail: a style attribute is a violation the probe sees
    view.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    deadline = time.monotonic() + 10  # polled from here: wait_for_function's eval is refused by CSP
    while not page.violations() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(v.startswith("style-src") for v in page.violations())


def test_a_thousand_runs_of_a_thousand_steps_draw_as_one_chart(
    chromium: Any, template: Path, tmp_path: Path
) -> None:
    from strataml.index.catalogue import build_index

    index = with_runs(build_index(template), 1000, 1000)
    page = ViewPage(chromium, site_of(index, template, tmp_path / "site"))
    view = page.open("#/curves/many")
    view.wait_for_selector("#curves-runs[data-ready] canvas", timeout=60_000)
    runs = view.query_selector("#curves-runs")
    assert (runs.get_attribute("data-series"), runs.get_attribute("data-points")) == (
        "1000",
        "1000000",
    )
    assert runs.evaluate("b => b.uplot.series.length") == 1001
    assert runs.evaluate("b => b.querySelectorAll('.u-legend .u-series').length") == 0
    drawn_ms = int(runs.get_attribute("data-ms") or "0")
    print(f"1,000 runs x 1,000 steps: chart drawn in {drawn_ms} ms")
    assert drawn_ms < 5000  # the benchmark holds it to 1 s; this machine may be busy
    assert runs.evaluate(PAINTED) > 20000
    # ten groups of a hundred seeds each: a mean and a band each, over the thousand steps
    view.wait_for_selector("#curves-groups[data-ready] canvas")
    groups = view.query_selector("#curves-groups")
    assert groups.get_attribute("data-groups") == "10"
    assert groups.evaluate("b => [b.uplot.bands.length, b.uplot.data[0].length]") == [10, 1000]
    page.shot("views-curves-1000")
    clean(page)
