"""index.json and the static dashboard, driven in real headless Chromium (TFC-0007)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import (
    PIPELINE_RUNS,
    REPO,
    doctor_script,
    example_run,
    shipped_runs,
    snapshot,
)
from runkit import run_py, runs, write_experiment

NONE = "\u2013"  # what a table cell shows for a value the run does not have (an en dash)
ARTIFACTS = Path(os.environ.get("STRATA_TEST_ARTIFACTS", REPO / "build" / "test-artifacts"))


def index_py(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "index.py"), *args], cwd=repo, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


class Page:
    """A page that records console errors and every request it makes."""

    def __init__(self, browser: Any, site: Path) -> None:
        self.site = site
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, route: str = "") -> Any:
        self.page.goto(self.site.as_uri() + "/index.html" + route)
        self.page.wait_for_selector("main h1")
        return self.page

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def site(template: Path, tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """The template with a second run (another learning rate), and its built site."""
    assert (
        run_py(
            template, "--experiment", "experiments/my_experiment.yaml", "--set", "learning_rate=0.1"
        ).returncode
        == 0
    )
    out = tmp_path / "site"
    built = index_py(template, "--site", str(out))
    assert built.returncode == 0, built.stderr
    return template, out, sorted([*runs(template), *shipped_runs()])


def test_index_json_validates_and_is_deterministic(
    site: tuple[Path, Path, list[str]], tmp_path: Path
) -> None:
    repo, out, run_ids = site
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    before = snapshot(repo)
    assert index_py(repo, "--output", str(first)).returncode == 0
    assert snapshot(repo) == before  # read-only
    assert index_py(repo, "--output", str(second)).returncode == 0
    assert first.read_bytes() == second.read_bytes() == (out / "index.json").read_bytes()
    document = json.loads(first.read_text())
    jsonschema.validate(document, json.loads((REPO / "schemas/index.schema.json").read_text()))
    assert [r["id"] for r in document["runs"]] == run_ids
    assert [v["ref"] for m in document["models"] for v in m["versions"]] == [
        "models/iris-classifier@v1"
    ]
    assert document["models"][0]["versions"][0]["signatures"] == 1
    assert {
        "source": "datasets/iris@v1",
        "target": f"runs/{run_ids[0]}",
        "relation": "used",
    } in document["lineage"]
    assert str(repo) not in first.read_text()  # no absolute paths
    assert index_py(repo).stdout == first.read_text()  # stdout by default
    # The template ships pipelines/iris.yaml with a sealed run of each stage, all up to date.
    prepare, train, evaluate = PIPELINE_RUNS
    assert document["pipelines"] == [{
        "name": "iris",
        "path": "pipelines/iris.yaml",
        "stages": [
            {"name": "prepare", "state": "up to date", "run": prepare, "reasons": [], "layer": 0,
             "inputs": [{"name": "data", "kind": "reference", "source": "datasets/iris@v1"}],
             "outputs": ["train.csv", "test.csv", "stats.json"]},
            {"name": "train", "state": "up to date", "run": train, "reasons": [], "layer": 1,
             "inputs": [{"name": "train", "kind": "stage", "source": "prepare:train.csv"}],
             "outputs": ["model.json"]},
            {"name": "evaluate", "state": "up to date", "run": evaluate, "reasons": [],
             "layer": 2,
             "inputs": [{"name": "model", "kind": "stage", "source": "train:model.json"},
                        {"name": "test", "kind": "stage", "source": "prepare:test.csv"}],
             "outputs": ["report.json"]},
        ],
        "edges": [
            {"source": "prepare", "target": "evaluate", "input": "test", "output": "test.csv"},
            {"source": "prepare", "target": "train", "input": "train", "output": "train.csv"},
            {"source": "train", "target": "evaluate", "input": "model", "output": "model.json"},
        ],
    }]  # fmt: skip


def test_every_page_is_reachable_with_no_errors_and_no_network(
    chromium: Any, site: tuple[Path, Path, list[str]]
) -> None:
    _, out, _ = site
    page = Page(chromium, out)
    seen: dict[str, str] = {}
    queue = [""]
    while queue and len(seen) < 60:
        route = queue.pop(0)
        if route in seen:
            continue
        view = page.open(route)
        seen[route] = view.inner_text("main h1")
        for href in view.eval_on_selector_all(
            "a[href^='#']", "els => els.map(e => e.getAttribute('href'))"
        ):
            if href not in seen and href not in queue:
                queue.append(href)
    page.shot("overview-crawl-last")
    assert page.errors == []
    assert {u.split("#")[0] for u in page.requests} <= {
        (out / name).as_uri() for name in ("index.html", "app.js", "app.css", "data.js")
    } | {p.as_uri() for d in ("runs", "views", "vendor") for p in (out / d).iterdir()}
    kinds = {route.split("/")[1] if route else "" for route in seen}
    assert {
        "",
        "models",
        "model",
        "datasets",
        "dataset",
        "runs",
        "run",
        "lineage",
        "pipelines",
        "doctor",
    } <= kinds
    assert seen["#/models"] == "Models" and seen["#/runs"] == "Runs"


def test_runs_table_sorts_and_filters(chromium: Any, site: tuple[Path, Path, list[str]]) -> None:
    _, out, _ = site
    page = Page(chromium, out)
    view = page.open("#/runs")
    column = "th[data-column='param:learning_rate']"

    def learning_rates() -> list[str]:
        index = view.eval_on_selector_all(
            "#runs-table thead th",
            "ths => ths.findIndex(t => t.dataset.column === 'param:learning_rate')",
        )
        return view.eval_on_selector_all(
            "#runs-table tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent)"
        )

    view.click(column)  # the stage runs have no learning_rate: last either way
    assert learning_rates() == ["0.1", "0.5", *[NONE] * 3]
    assert view.get_attribute(column, "aria-sort") == "ascending"
    view.click(column)
    assert learning_rates() == ["0.5", "0.1", *[NONE] * 3]
    view.fill("#run-filter", "learning_rate=0.1")
    view.press("#run-filter", "Enter")
    assert learning_rates() == ["0.1"]
    assert view.inner_text("#run-count") == "1 of 5 runs"
    view.fill("#run-filter", "test/accuracy>0.9")
    view.press("#run-filter", "Enter")
    assert learning_rates() == ["0.5"]
    view.select_option("#filter-status", "succeeded")
    view.select_option("#filter-experiment", "my_experiment")
    assert view.inner_text("#run-count") == "1 of 5 runs"
    view.fill("#run-filter", "nope-no-such-run")
    view.press("#run-filter", "Enter")
    assert view.inner_text("#run-count") == "0 of 5 runs"
    page.shot("runs-filtered")
    assert page.errors == []


def test_run_detail_draws_metric_curves(chromium: Any, site: tuple[Path, Path, list[str]]) -> None:
    _, out, run_ids = site
    page = Page(chromium, out)
    view = page.open(f"#/run/{run_ids[0]}")
    path = view.get_attribute("#curves svg.chart path[data-series='train/loss']", "d")
    assert path is not None and path.count("L") == 99  # 100 epochs, one segment between each
    labels = view.eval_on_selector_all("#curves svg.chart text", "ts => ts.map(t => t.textContent)")
    assert {"train/loss", "step", "value"} <= set(labels)
    # a locator, not wait_for_function: a string predicate is eval'd, which the page's CSP refuses
    view.locator("#log", has_text="[strata]").wait_for()
    page.shot("run-detail")
    assert page.errors == []


def test_comparison_shows_only_the_differing_param(
    chromium: Any, site: tuple[Path, Path, list[str]]
) -> None:
    _, out, run_ids = site
    page = Page(chromium, out)
    view = page.open("#/runs")
    for run_id in run_ids:
        if run_id not in PIPELINE_RUNS:  # the example experiment's two runs, not the stages'
            view.check(f"input[aria-label='select {run_id}']")
    view.click("#compare")
    view.wait_for_selector("table[data-section='Parameters']")
    rows = view.eval_on_selector_all(
        "table[data-section='Parameters'] tbody tr",
        "rs => rs.map(r => [...r.cells].map(c => c.textContent))",
    )
    assert (
        len(rows) == 1 and rows[0][0] == "learning_rate" and sorted(rows[0][1:]) == ["0.1", "0.5"]
    )
    page.shot("compare")
    assert page.errors == []


def test_lineage_graph_shows_the_example_models_dataset(
    chromium: Any, site: tuple[Path, Path, list[str]]
) -> None:
    _, out, _ = site
    page = Page(chromium, out)
    view = page.open("#/lineage/" + "models%2Firis-classifier%40v1")
    nodes = view.eval_on_selector_all(
        "svg.lineage a[data-node]", "as => as.map(a => a.dataset.node)"
    )
    assert "datasets/iris@v1" in nodes and "models/iris-classifier@v1" in nodes
    page.shot("lineage")
    assert page.errors == []


CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'none'; form-action 'none'; base-uri 'none'"
)


def test_pipelines_are_drawn_as_layered_graphs_of_their_stages(
    chromium: Any, template: Path, tmp_path: Path
) -> None:
    assert run_py(template, "--pipeline", "pipelines/iris.yaml").returncode == 0
    assert runs(template) == []  # every stage reuses the run the template ships
    prepare, train, evaluate = PIPELINE_RUNS
    spec = template / "pipelines/iris.yaml"
    spec.write_text(spec.read_text().replace("lr: 0.1", "lr: 0.2"))
    out = tmp_path / "site"
    built = index_py(template, "--site", str(out))
    assert built.returncode == 0, built.stderr
    index = json.loads((out / "index.json").read_text())
    jsonschema.validate(index, json.loads((REPO / "schemas/index.schema.json").read_text()))

    page = Page(chromium, out)
    view = page.open("#/pipelines")
    assert view.inner_text("main h1") == "Pipelines"
    assert view.inner_text("section[data-pipeline='iris'] h2") == "iris pipelines/iris.yaml"
    assert view.inner_text(".pipeline-summary") == "1 up to date, 2 stale"
    boxes = view.eval_on_selector_all(
        "svg.pipeline g.stage-box",
        "gs => gs.map(g => [g.dataset.stage, g.getAttribute('class'), g.getAttribute('aria-label'),"
        " [...g.querySelectorAll('text')].map(t => t.textContent)])",
    )
    assert boxes == [
        ["prepare", "stage-box current", f"stage prepare: up to date, run {prepare}",
         ["prepare", "✓ up to date", prepare]],
        ["train", "stage-box stale", f"stage train: stale, run {train}",
         ["train", "! stale", train]],
        ["evaluate", "stage-box stale", f"stage evaluate: stale, run {evaluate}",
         ["evaluate", "! stale", evaluate]],
    ]  # fmt: skip
    # left to right by layer: prepare, then train, then evaluate
    xs = view.eval_on_selector_all(
        "svg.pipeline g.stage-box rect", "rs => rs.map(r => Number(r.getAttribute('x')))"
    )
    assert xs[0] < xs[1] < xs[2]
    edges = view.eval_on_selector_all(
        "svg.pipeline path.edge",
        "ps => ps.map(p => [p.dataset.edge, p.getAttribute('marker-end'), p.textContent])",
    )
    assert edges == [
        ["prepare->evaluate:test", "url(#pipeline-arrow-0)", "prepare output test.csv is evaluate input test"],
        ["prepare->train:train", "url(#pipeline-arrow-0)", "prepare output train.csv is train input train"],
        ["train->evaluate:model", "url(#pipeline-arrow-0)", "train output model.json is evaluate input model"],
    ]  # fmt: skip
    rows = view.eval_on_selector_all(
        "table.pipeline-stages tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert rows == [
        ["prepare", "✓ up to date", prepare, "data ← datasets/iris@v1", ""],
        ["train", "! stale", train, "train ← prepare:train.csv", "param lr: 0.1 -> 0.2"],
        ["evaluate", "! stale", evaluate,
         "model ← train:model.json; test ← prepare:test.csv", "upstream train is stale"],
    ]  # fmt: skip
    page.shot("pipelines")
    view.click(f"svg.pipeline a[data-run='{train}']")
    view.locator("main h1", has_text=train).wait_for()  # not wait_for_function: CSP refuses eval
    assert view.inner_text("main h1").split()[0] == train
    assert (
        view.eval_on_selector("meta[http-equiv='Content-Security-Policy']", "m => m.content") == CSP
    )
    assert page.errors == []
    assert {u.split("#")[0] for u in page.requests} <= {
        (out / name).as_uri() for name in ("index.html", "app.js", "app.css", "data.js")
    } | {p.as_uri() for d in ("runs", "views", "vendor") for p in (out / d).iterdir()}


def test_hostile_metadata_stays_text(chromium: Any, template: Path, tmp_path: Path) -> None:
    evil = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
    spec = template / "experiments" / "my_experiment.yaml"
    assert (
        run_py(template, "--experiment", str(spec.relative_to(template)), "--name", evil).returncode
        == 0
    )
    out = tmp_path / "site"
    assert index_py(template, "--site", str(out)).returncode == 0
    page = Page(chromium, out)
    view = page.open("#/runs")
    [run_id] = runs(template)
    view = page.open(f"#/run/{run_id}")
    assert evil in view.inner_text("main")
    assert view.eval_on_selector_all("main img, main script", "els => els.length") == 0
    assert "pwned" not in view.title()
    assert page.errors == []


def test_five_hundred_runs_of_a_thousand_steps_stay_usable(
    chromium: Any, template: Path, tmp_path: Path
) -> None:
    from synthetic import generate_runs

    ids = generate_runs(template, 500, 1000)
    out = tmp_path / "site"
    built = index_py(template, "--site", str(out))
    assert built.returncode == 0, built.stderr
    page = Page(chromium, out)
    view = page.open("#/runs")
    assert view.inner_text("#run-count") == "504 of 504 runs"
    rows = "#runs-table tbody tr"
    assert view.eval_on_selector_all(rows, "rs => rs.length") == 200  # a page of rows is drawn
    assert view.inner_text("#more-runs") == "Show 304 more of 304"
    view.click("#more-runs")
    assert view.eval_on_selector_all(rows, "rs => rs.length") == 504
    assert view.query_selector("#more-runs") is None
    view.click("th[data-column='metric:val/accuracy']")
    view.click("th[data-column='metric:val/accuracy']")  # descending: best first
    best = view.eval_on_selector("#runs-table tbody tr", "r => r.dataset.run")
    document = json.loads((out / "index.json").read_text())
    accuracy = {r["id"]: r["metrics"].get("val/accuracy") for r in document["runs"]}
    assert best == max((r for r in ids), key=lambda r: accuracy[r])
    view.select_option("#filter-experiment", "deep")
    view.fill("#run-filter", "learning_rate<0.01")
    view.press("#run-filter", "Enter")
    expected = sum(
        1
        for r in document["runs"]
        if r["experiment"] == "deep" and r["params"]["learning_rate"] < 0.01
    )
    assert view.inner_text("#run-count") == f"{expected} of 504 runs"
    view = page.open(f"#/run/{best}")
    assert (
        view.get_attribute("#curves svg.chart path[data-series='train/loss']", "d").count("L")
        < 1300
    )  # downsampled
    page.shot("runs-500")
    assert page.errors == []


def test_doctor_page_prints_the_doctor_summary_line(
    chromium: Any, template: Path, tmp_path: Path
) -> None:
    spec = write_experiment(template, "fails", "command: [sh, -c, 'exit 3']\n")
    assert run_py(template, "--experiment", spec).returncode == 3
    text = doctor_script(template, "--no-cache")  # a finding or two: the run is uncommitted
    report = tmp_path / "report.json"
    as_json = doctor_script(template, "--no-cache", "--format", "json")
    report.write_text(as_json.stdout)
    out = tmp_path / "site"
    built = index_py(template, "--site", str(out), "--doctor-report", str(report))
    assert built.returncode == 0, built.stderr
    page = Page(chromium, out)
    view = page.open("#/doctor")
    summary = text.stdout.splitlines()[
        -1
    ]  # e.g. FAILED: 1 error, 0 warnings, 0 info; 3 artifacts …
    assert summary.startswith(("OK", "FAILED")) and "object" not in summary
    assert view.inner_text("#doctor-summary") == summary
    assert page.errors == []


def test_a_failed_run_shows_its_reason_and_a_reproduction_its_verdict(
    chromium: Any, template: Path, tmp_path: Path
) -> None:
    spec = write_experiment(template, "fails", "command: [sh, -c, 'exit 3']\n")
    assert run_py(template, "--experiment", spec).returncode == 3
    [failed] = runs(template)
    shipped = example_run()
    reproduced = run_py(template, "--reproduce", shipped)
    assert reproduced.returncode in (0, 1), reproduced.stderr
    [again] = sorted(set(runs(template)) - {failed})
    verdict = json.loads((template / "runs" / again / "reproduction.json").read_text())
    out = tmp_path / "site"
    built = index_py(template, "--site", str(out))
    assert built.returncode == 0, built.stderr
    index = json.loads((out / "index.json").read_text())
    jsonschema.validate(index, json.loads((REPO / "schemas/index.schema.json").read_text()))
    by_id = {r["id"]: r for r in index["runs"]}
    assert (by_id[failed]["reason"], by_id[failed]["verdict"]) == (
        "command exited with status 3",
        None,
    )
    assert (by_id[again]["reproduces"], by_id[again]["verdict"]) == (shipped, verdict["verdict"])

    page = Page(chromium, out)
    view = page.open(f"#/run/{failed}")
    assert view.inner_text("#run-reason") == "Failed: command exited with status 3"
    assert view.eval_on_selector_all("#reproduction", "els => els.length") == 0
    view = page.open(f"#/run/{again}")
    rows = view.eval_on_selector_all(
        "#reproduction tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert rows == [
        ["reproduces", shipped],
        ["verdict", verdict["verdict"]],
        *(["reason", reason] for reason in verdict["reasons"]),
    ]
    assert view.eval_on_selector_all("#run-reason", "els => els.length") == 0
    view = page.open("#/runs")
    status = view.eval_on_selector(
        f"#runs-table tr[data-run='{again}'] td.status", "td => td.textContent"
    )
    assert status == f"succeeded {verdict['verdict']}"
    failed_cell = f"#runs-table tr[data-run='{failed}'] td.status"
    assert view.get_attribute(failed_cell, "title") == "command exited with status 3"
    page.shot("run-reason-and-verdict")
    assert page.errors == []


def test_serve_offers_the_built_site_on_loopback(site: tuple[Path, Path, list[str]]) -> None:
    import urllib.request

    repo, out, _ = site
    server = subprocess.Popen(
        [sys.executable, "-m", "strataml", "serve", "--dir", str(out), "--port", "0"], cwd=repo,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        assert line.startswith(f"serving {out}/ on http://127.0.0.1:") and line.endswith(
            " (Ctrl-C stops)\n"
        )
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        with urllib.request.urlopen(url + "index.json", timeout=10) as response:
            assert response.read() == (out / "index.json").read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stderr.close()
    missing = subprocess.run(
        [sys.executable, "-m", "strataml", "serve", "--dir", str(repo / "nowhere")],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert (missing.returncode, missing.stderr) == (
        2,
        f"strata: error: {repo / 'nowhere'}/index.html not found; build it with `python tools/index.py --site {repo / 'nowhere'}`\n",
    )


def test_the_catalogue_is_encoded_once_and_byte_for_byte(template: Path) -> None:
    from strataml.index.catalogue import build_index, dumps
    from strataml.index.encoding import encode, value_text

    index = build_index(template)
    [run] = [r for r in index["runs"] if r["id"] == example_run()]
    tricky = {  # strings that spell what the encoder looks for, and text beyond ASCII
        "a": 'x"history":NaN', "b": '"packages":NaN', "c": "é ✓ 𝄞", "history": "NaN",
    }  # fmt: skip
    second = {**run, "id": "run-2026-11-25-zzzzzz", "params": tricky,
              "environment": {k: v for k, v in run["environment"].items() if k != "packages"}}  # fmt: skip
    for listed in ([], [run], [run, second]):
        document = {**index, "runs": listed}
        encoded = encode(document)
        assert encoded.text == dumps(document)
        assert encoded.histories == tuple(value_text(r["history"]) for r in listed)
        assert encoded.packages == tuple(
            value_text(r["environment"].get("packages")) for r in listed
        )
    # a NaN the catalogue should never hold: the document is encoded whole, and still the same
    odd = {**index, "runs": [{**run, "params": {"history": float("nan")}}]}
    assert encode(odd).text == dumps(odd) and '"history":NaN' in dumps(odd)


def test_a_pipeline_that_does_not_load_is_a_problem_not_a_crash(template: Path) -> None:
    from strataml.index.catalogue import build_index

    (template / "pipelines/broken.yaml").write_text("schema_version: 1\nname: [\n")
    index = build_index(template)
    assert [p["name"] for p in index["pipelines"]] == ["iris"]
    assert [p for p in index["problems"] if p["path"] == "pipelines/broken.yaml"] == [{
        "path": "pipelines/broken.yaml",
        "message": "pipelines/broken.yaml:3: SCH001 while parsing a flow node did not find "
        "expected node content\n  hint: fix the YAML syntax; quote strings holding ': ' or '#'",
    }]  # fmt: skip
    jsonschema.validate(index, json.loads((REPO / "schemas/index.schema.json").read_text()))
