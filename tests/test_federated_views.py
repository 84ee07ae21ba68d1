"""A site that lists other sites shows them beside its own, read at view time (TFC-0007 R14):
three built sites served on loopback by `strata serve`, driven in headless Chromium."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, fork_template
from runkit import run_py
from viewkit import ViewPage

REFUSED = "Failed to load resource: net::ERR_CONNECTION_REFUSED"


def _index(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "index.py"), *args], cwd=repo, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


@contextlib.contextmanager
def _served(site: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`strata serve` on a free loopback port; its address, and the process to stop early."""
    server = subprocess.Popen(
        [sys.executable, "-m", "strataml", "serve", "--dir", str(site), "--port", "0"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        said = server.stderr.readline()
        found = re.search(r"on (http://127\.0\.0\.1:[0-9]+)/", said)
        assert found is not None, said
        yield found[1], server
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()


def _rows(page: Any) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#sources tbody tr",
        "rows => rows.map(r => [r.dataset.source, r.dataset.state, "
        "...[...r.children].map(c => c.textContent)])",
    )


def _sources_of(page: Any) -> set[str]:
    return set(page.eval_on_selector_all(
        "#across table:first-of-type tbody tr td:first-child", "cells => cells.map(c => c.textContent)"
    ))  # fmt: skip


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three forks built into sites: `b` with one run more than the template, `c` as it is."""
    built = {}
    for name in ("a", "b", "c"):
        repo = fork_template(tmp_path_factory.mktemp(name) / "repo")
        if name == "b":
            done = run_py(repo, "--experiment", "experiments/my_experiment.yaml")
            assert done.returncode == 0, done.stderr
        built[name] = repo
    return built


def test_a_site_shows_the_sites_it_lists_and_marks_one_that_stopped(
    chromium: Any, sites: dict[str, Path], tmp_path: Path
) -> None:
    out = {n: tmp_path / f"site-{n}" for n in ("a", "b", "c")}
    for name in ("b", "c"):
        assert _index(sites[name], "--site", str(out[name])).returncode == 0
    counts = {
        name: [str(len(json.loads((out[name] / "index.json").read_text())[k]))
               for k in ("datasets", "models", "runs")]
        for name in ("b", "c")
    }  # fmt: skip
    assert counts["b"][2] == str(int(counts["c"][2]) + 1)
    (out["b"] / "bogus").mkdir()
    (out["b"] / "bogus" / "index.json").write_text("[1, 2]\n")  # JSON, not a catalogue
    with _served(out["b"]) as (b_at, _), _served(out["c"]) as (c_at, c_server):
        for path, allowed in (("/index.json", "*"), ("/app.js", None), ("/data.js", None)):
            with urllib.request.urlopen(f"{b_at}{path}", timeout=30) as answer:
                assert answer.headers.get("Access-Control-Allow-Origin") == allowed, path
        listed = {
            "b": f"{b_at}/index.json", "c": f"{c_at}/index.json",
            "d": f"{b_at}/bogus/index.json", "e": f"{b_at}/nosuch/index.json",
        }  # fmt: skip
        built = _index(
            sites["a"], "--site", str(out["a"]), *(f"--federate={n}={u}" for n, u in listed.items())
        )
        assert built.returncode == 0, built.stderr
        policy = re.search(r"connect-src ([^;]*);", (out["a"] / "index.html").read_text())
        assert policy is not None and policy[1] == " ".join(sorted(listed.values()))
        with _served(out["a"]) as (a_at, _):
            page = ViewPage(chromium, out["a"])
            view = page.page
            view.goto(f"{a_at}/index.html#/sources")
            view.wait_for_selector("#across[data-ready]")
            own = json.loads((out["a"] / "index.json").read_text())
            mine = [str(len(own[k])) for k in ("datasets", "models", "runs")]
            assert _rows(view) == [
                ["", "loaded", "this site", "\u2013", "loaded", *mine, ""],
                ["b", "loaded", "b", listed["b"], "loaded", *counts["b"], ""],
                ["c", "loaded", "c", listed["c"], "loaded", *counts["c"], ""],
                ["d", "invalid", "d", listed["d"], "invalid", "", "", "",
                 "not a StrataML index.json: not a JSON object"],
                ["e", "unreachable", "e", listed["e"], "unreachable", "", "", "", "HTTP 404"],
            ]  # fmt: skip
            assert _sources_of(view) == {"this site", "b", "c"}
            assert view.eval_on_selector_all("nav a", "as => as.map(a => a.textContent)") == [
                "Overview", "Models", "Datasets", "Runs", "Sweeps", "Curves", "Pipelines",
                "Lineage", "Graph", "Doctor", "Sources",
            ]  # fmt: skip
            page.shot("federated-sources")
            own_files = {
                f"{a_at}/{p.relative_to(out['a']).as_posix()}" for p in out["a"].rglob("*")
            }
            assert {u.split("#")[0] for u in page.requests} - own_files - {f"{a_at}/"} == set(
                listed.values()
            )
            assert page.errors == [  # the browser's own line for `e`; the views say nothing
                "Failed to load resource: the server responded with a status of 404 (File not found)"
            ]
            assert page.violations() == []

            c_server.terminate()
            c_server.wait(timeout=30)
            page.errors.clear()
            view.reload()
            view.wait_for_selector("#across[data-ready]")
            states = {row[0]: row[1:5] + row[-1:] for row in _rows(view)}
            assert states["c"] == ["unreachable", "c", listed["c"], "unreachable",
                                   "no connection, or the server does not allow this page to read it"]  # fmt: skip
            assert states["b"][0] == "loaded"
            assert _sources_of(view) == {"this site", "b"}
            assert REFUSED in page.errors
            view.goto(f"{a_at}/index.html#/models")  # the rest of the site works as before
            assert view.inner_text("main h1") == "Models"
            page.shot("federated-one-stopped")


def test_opened_from_disk_with_no_network_it_works_on_its_own_data(
    chromium: Any, sites: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "site"
    built = _index(sites["a"], "--site", str(out), "--federate", "b=http://127.0.0.1:9/index.json")
    assert built.returncode == 0, built.stderr
    page = ViewPage(chromium, out)
    view = page.open("#/sources")
    view.wait_for_selector("#across[data-ready]")
    assert [row[:2] for row in _rows(view)] == [["", "loaded"], ["b", "unreachable"]]
    assert _sources_of(view) == {"this site"}
    assert page.open("#/runs").inner_text("main h1") == "Runs"
    assert {u.split("#")[0] for u in page.requests} - page.own_files() == {
        "http://127.0.0.1:9/index.json"
    }
    assert page.violations() == []


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (
            "b=http://127.0.0.1:9/index.json; script-src *",
            "[federate-url] --federate b='http://127.0.0.1:9/index.json; script-src *': not an http(s) "
            "address or a plain relative path (no spaces, quotes, commas, semicolons or query)",
        ),
        (
            "B=http://127.0.0.1:9/index.json",
            "[federate-name] --federate 'B=http://127.0.0.1:9/index.json': NAME must be 1-32 of "
            "a-z 0-9 . _ - starting with a letter or digit",
        ),
        (
            "b=javascript:alert(1)",
            "[federate-url] --federate b='javascript:alert(1)': not an http(s) address or a plain "
            "relative path (no spaces, quotes, commas, semicolons or query)",
        ),
        (
            "b=http://127.0.0.1:99999/index.json",
            "[federate-url] --federate b='http://127.0.0.1:99999/index.json': port out of range",
        ),
        (
            "b=http://x/'none'",
            "[federate-url] --federate b=\"http://x/'none'\": not an http(s) "
            "address or a plain relative path (no spaces, quotes, commas, semicolons or query)",
        ),
    ],
    ids=["csp-injection", "name", "scheme", "port", "quote"],
)
def test_a_listed_site_that_could_bend_the_policy_is_refused_before_anything_is_built(
    sites: dict[str, Path], tmp_path: Path, value: str, said: str
) -> None:
    out = tmp_path / "site"
    done = _index(sites["c"], "--site", str(out), "--federate", value)
    hint = "(hint: --federate NAME=URL, e.g. --federate team-b=https://ml.example.org/b/index.json)"
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"index: error: {said} {hint}\n")
    assert not out.exists()
