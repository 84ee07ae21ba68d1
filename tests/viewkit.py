"""What the dashboard's view tests share: a page in headless Chromium that records console
errors, page errors, Content-Security-Policy violations and requests, and keeps screenshots;
and catalogues built in memory from the template's own (a lineage of about 200 artifacts, a
thousand runs of a thousand steps) for the site builder to write."""

from __future__ import annotations

import copy
import itertools
import math
import os
from pathlib import Path
from typing import Any

from conftest import REPO

ARTIFACTS = Path(os.environ.get("STRATA_TEST_ARTIFACTS", REPO / "build" / "test-artifacts"))

# Installed before any script of the page runs: every violation the page's CSP reports.
CSP_PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


class ViewPage:
    def __init__(self, browser: Any, site: Path) -> None:
        self.site = site
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.add_init_script(CSP_PROBE)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, route: str) -> Any:
        self.page.goto(self.site.as_uri() + "/index.html" + route)
        self.page.wait_for_selector("main h1")
        return self.page

    def violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__csp")
        return found

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def own_files(self) -> set[str]:
        return {p.as_uri() for p in self.site.rglob("*") if p.is_file()}


def with_lineage(index: dict[str, Any], groups: int) -> dict[str, Any]:
    """`index` with `groups` more pipelines' worth of lineage, 8 artifacts each: a dataset read
    by a chain of four stage runs (and by the next group's first stage), the model the last
    stage made, and a fine-tune run that made the model's v2 from it."""
    edges = list(index["lineage"])
    for g in range(groups):
        data, nxt = f"datasets/corpus{g:02d}@v1", f"datasets/corpus{(g + 1) % groups:02d}@v1"
        stages = [f"runs/run-2026-03-01-p{g:02d}s{s}" for s in range(4)]
        model, tuned = f"models/net{g:02d}@v1", f"models/net{g:02d}@v2"
        tune = f"runs/run-2026-03-02-ft{g:02d}"
        edges += [
            {"source": data, "target": stages[0], "relation": "used"},
            {"source": nxt, "target": stages[0], "relation": "used"},
            *(
                {"source": a, "target": b, "relation": "upstream"}
                for a, b in itertools.pairwise(stages)
            ),
            {"source": stages[-1], "target": model, "relation": "generated"},
            {"source": model, "target": tune, "relation": "used"},
            {"source": tune, "target": tuned, "relation": "generated"},
            {"source": model, "target": tuned, "relation": "derived_from"},
        ]
    edges.sort(key=lambda e: (e["source"], e["target"], e["relation"]))
    return {**index, "lineage": edges}


def with_runs(index: dict[str, Any], count: int, steps: int) -> dict[str, Any]:
    """`index` with `count` more runs of experiment `many`, copies of its first run, each with a
    `train/loss` history of `steps` points: ten decay rates, each with count/10 seeds, and the
    aggregates computed again (ten groups)."""
    from strataml.index.aggregates import catalogue_aggregates

    base = index["runs"][0]
    added = []
    for n in range(count):
        run = copy.deepcopy({k: v for k, v in base.items() if k != "history"})
        decay, seed = round(0.001 + 0.0004 * (n % 10), 4), n // 10
        loss = [
            [s, round(2 * math.exp(-decay * s) + 0.05 * math.sin(s / 7 + n), 5)]
            for s in range(steps)
        ]
        run.update(id=f"run-2026-04-01-m{n:05d}", experiment="many", status="succeeded",
                   path=f"runs/run-2026-04-01-m{n:05d}", params={"decay": decay, "seed": seed},
                   metrics={"train/loss": loss[-1][1]}, history={"train/loss": loss})  # fmt: skip
        added.append(run)
    runs = sorted([*index["runs"], *added], key=lambda r: r["id"])
    return {**index, "runs": runs, "aggregates": catalogue_aggregates(runs)}
