"""The static dashboard: index.json embedded in a script, plus the app (TFC-0007 R5-R7)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from strataml.atomic import staged_directory
from strataml.errors import UsageError
from strataml.index.catalogue import dumps
from strataml.index.encoding import Encoded, value_text
from strataml.index.sites import ListedSite, connect_src
from strataml.jsonio import load_json
from strataml.safeopen import read_regular

ASSETS = ("index.html", "app.js", "app.css")
# The views beyond app.js and the libraries they draw with, vendored with their licences and
# VENDORED.md (TFC-0007 R10): copied byte for byte, so the site's copies match its hashes.
VIEWS = (
    "views/sweep.js", "views/curves.js", "views/graph.js", "views/charts.js", "views/sources.js",
)  # fmt: skip
VENDORED = (
    "vendor/VENDORED.md", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css",
    "vendor/uPlot.LICENSE", "vendor/dagre.min.js", "vendor/dagre.LICENSE",
)  # fmt: skip
LOG_TAIL_BYTES = 64 * 1024
_NO_CONNECT = "connect-src 'none';"  # index.html's policy, before the sources are listed
# What the site loads only when a run's page or a comparison opens: its metric histories, its
# package list and the tail of its log (TFC-0007 R2), in scripts of SHARD runs each (by id), so
# that data.js, which every page loads, stays small whatever the number of runs and steps, and
# 10,000 runs are a hundred files, not ten thousand.
DETAILS = "runs"
SHARD = 100


def _script(name: str, text: str) -> str:
    """A script that sets one global to a JSON text (no data is ever parsed as HTML)."""
    return f"window.{name} = {_parsed(text)};\n"


def _parsed(text: str) -> str:
    """A JSON text as JavaScript: `JSON.parse` of it as a string literal, which a browser reads
    several times faster than the same text as an object literal (a registry's data.js is
    megabytes). json.dumps writes the literal in ASCII, every quote, backslash, control and
    non-ASCII character escaped, so nothing in the data can end it early."""
    return "JSON.parse(" + json.dumps(text.rstrip("\n")) + ")"


def load_doctor_report(path: Path) -> dict[str, Any]:
    try:
        report = load_json(read_regular(path))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--doctor-report {path}: not a doctor JSON report ({exc})") from exc
    if not isinstance(report, dict) or not isinstance(report.get("diagnostics"), list):
        raise UsageError(
            f"--doctor-report {path}: not a doctor JSON report (`strata doctor --format json`)"
        )
    return report


def build_site(
    root: Path, index: dict[str, Any], encoded: Encoded, out: Path, doctor: dict[str, Any] | None,
    sources: tuple[ListedSite, ...] = (),
) -> int:  # fmt: skip
    """Write the site of `index` (`encoded` by encoding.encode) into `out`; returns the number of
    files written."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--site {out}: exists and is not a directory")
    details = out / DETAILS
    if details.exists() and not (out / "data.js").is_file():  # replaced: only ever ours
        raise UsageError(
            f"--site {out}: holds {DETAILS}/ but is not a built site; choose a new directory"
        )
    if out.is_dir() and any(out.iterdir()) and not (out / "data.js").is_file():
        raise UsageError(
            f"--site {out}: not empty and not a built site; the build replaces it whole, "
            "so choose a new or empty directory"
        )
    # The whole site appears at once, old or new, never a mix (TFC-0007 R9); one builder at a
    # time per directory, which also makes the staging copies of killed builds safe to delete.
    if out.is_symlink():
        out = out.resolve()  # replace the directory it points to; the link stays
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out.parent):  # a lock on the directory itself: no lock file in the repository
        stale = re.compile(rf"\.{re.escape(out.name)}\.[a-z0-9_]{{8}}\.tmp")
        for leftover in out.parent.glob(f".{out.name}.*.tmp"):
            if stale.fullmatch(leftover.name) and leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
        with staged_directory(out) as staging:
            _write_site(root, index, encoded, staging, doctor, sources)
    return len(ASSETS) + len(VIEWS) + len(VENDORED) + 2 + -(-len(index["runs"]) // SHARD)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock, as a kill does


def _write_site(
    root: Path, index: dict[str, Any], encoded: Encoded, out: Path, doctor: dict[str, Any] | None,
    sources: tuple[ListedSite, ...],
) -> None:  # fmt: skip
    """Fill a fresh staging directory (not yet visible: plain writes, synced before the swap)."""
    assets = resources.files("strataml.index") / "assets"
    for name in ASSETS:
        text = (assets / name).read_text(encoding="utf-8")
        if name == "index.html":  # the page may connect to the listed sites and nowhere else
            text = text.replace(_NO_CONNECT, f"connect-src {connect_src(sources)};", 1)
        (out / name).write_text(text, encoding="utf-8")
    for folder in ("views", "vendor"):
        (out / folder).mkdir()
    for name in VIEWS + VENDORED:
        (out / name).write_bytes(assets.joinpath(*name.split("/")).read_bytes())
    with (out / "index.json").open("wb") as handle:
        encoded.write(handle)
    runs = []
    (out / DETAILS).mkdir()
    for start in range(0, len(index["runs"]), SHARD):
        shard = f"{DETAILS}/{start // SHARD}.js"
        details = []  # {"run id": {"history": …, "log": …, "packages": …}, …}, by id as index.json
        for at, run in enumerate(index["runs"][start : start + SHARD], start):
            environment = {k: v for k, v in run["environment"].items() if k != "packages"}
            log = value_text(_log_tail(root / run["path"] / "logs.txt"))
            details.append(f'{value_text(run["id"])}:{{"history":{encoded.histories[at]},'
                           f'"log":{log},"packages":{encoded.packages[at]}}}')  # fmt: skip
            kept = {k: v for k, v in run.items() if k != "history"}
            runs.append({**kept, "environment": environment, "details": shard})
        (out / shard).write_text(
            "window.STRATA_DETAILS = Object.assign(window.STRATA_DETAILS || {}, "
            + _parsed("{" + ",".join(details) + "}") + ");\n",
            encoding="utf-8",
        )  # fmt: skip
    shown = dumps({**index, "runs": runs})
    listed = dumps([source.document() for source in sources])
    (out / "data.js").write_text(
        _script("STRATA_INDEX", shown) + _script("STRATA_DOCTOR", dumps(doctor))
        + _script("STRATA_SOURCES", listed),
        encoding="utf-8",
    )  # fmt: skip


def _log_tail(path: Path) -> str | None:
    """The last LOG_TAIL_BYTES of a run's log, saying how much came before; None without one."""
    try:
        raw = read_regular(path)
    except OSError:
        return None
    tail = raw[-LOG_TAIL_BYTES:].decode("utf-8", "replace")
    if len(raw) > LOG_TAIL_BYTES:
        tail = f"[… {len(raw) - LOG_TAIL_BYTES} earlier bytes not shown]\n" + tail
    return tail
