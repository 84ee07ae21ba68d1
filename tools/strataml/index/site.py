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
from strataml.jsonio import load_json
from strataml.safeopen import read_regular

ASSETS = ("index.html", "app.js", "app.css")
LOG_TAIL_BYTES = 64 * 1024


_NOT_ASCII = re.compile("[^\x00-\x7f]")


def _escape(match: re.Match[str]) -> str:
    """A character outside ASCII as JSON's \\u escape (a surrogate pair beyond the BMP)."""
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _script(name: str, text: str) -> str:
    """A script that sets one global to a JSON text (JSON is valid JavaScript; no data is ever
    parsed as HTML), in ASCII: what `json.dumps(ensure_ascii=True)` writes, without encoding
    the document a second time (outside strings JSON is ASCII already)."""
    return f"window.{name} = " + _NOT_ASCII.sub(_escape, text.rstrip("\n")) + ";\n"


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
    root: Path, index: dict[str, Any], text: str, out: Path, doctor: dict[str, Any] | None
) -> int:
    """Write the site of `index` (whose JSON is `text`, catalogue.dumps) into `out`; returns the
    number of files written."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--site {out}: exists and is not a directory")
    logs = out / "logs"
    if logs.exists() and not (out / "data.js").is_file():  # logs/ is replaced: only ever ours
        raise UsageError(
            f"--site {out}: holds logs/ but is not a built site; choose a new directory"
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
            _write_site(root, index, text, staging, doctor)
    return len(ASSETS) + 2 + len(index["runs"])


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock, as a kill does


def _write_site(
    root: Path, index: dict[str, Any], text: str, out: Path, doctor: dict[str, Any] | None
) -> None:
    """Fill a fresh staging directory (not yet visible: plain writes, synced before the swap)."""
    assets = resources.files("strataml.index") / "assets"
    for name in ASSETS:
        (out / name).write_text((assets / name).read_text(encoding="utf-8"), encoding="utf-8")
    (out / "index.json").write_text(text, encoding="utf-8")
    (out / "data.js").write_text(
        _script("STRATA_INDEX", text) + _script("STRATA_DOCTOR", dumps(doctor)), encoding="utf-8"
    )
    logs = out / "logs"
    logs.mkdir()
    for run in index["runs"]:
        try:
            raw = read_regular(root / run["path"] / "logs.txt")
        except OSError:
            continue
        tail = raw[-LOG_TAIL_BYTES:].decode("utf-8", "replace")
        if len(raw) > LOG_TAIL_BYTES:
            tail = f"[… {len(raw) - LOG_TAIL_BYTES} earlier bytes not shown]\n" + tail
        (logs / f"{run['id']}.js").write_text(
            f"window.STRATA_LOGS = window.STRATA_LOGS || {{}};\nwindow.STRATA_LOGS[{json.dumps(run['id'])}] = {json.dumps(tail, ensure_ascii=True)};\n",
            encoding="utf-8",
        )
