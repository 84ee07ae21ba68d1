"""The static dashboard: index.json embedded in a script, plus the app (TFC-0007 R5-R7)."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from strataml.atomic import write_text_atomic
from strataml.errors import UsageError
from strataml.index.catalogue import dumps
from strataml.safeopen import read_regular

ASSETS = ("index.html", "app.js", "app.css")
LOG_TAIL_BYTES = 64 * 1024


def _script(name: str, value: object) -> str:
    """A script that sets one global; JSON is valid JavaScript, and no data is ever parsed as HTML."""
    return f"window.{name} = " + json.dumps(value, sort_keys=True, ensure_ascii=True) + ";\n"


def load_doctor_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(read_regular(path))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--doctor-report {path}: not a doctor JSON report ({exc})") from exc
    if not isinstance(report, dict) or not isinstance(report.get("diagnostics"), list):
        raise UsageError(
            f"--doctor-report {path}: not a doctor JSON report (`strata doctor --format json`)"
        )
    return report


def build_site(root: Path, index: dict[str, Any], out: Path, doctor: dict[str, Any] | None) -> int:
    """Write the site into `out`; returns the number of files written."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--site {out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    assets = resources.files("strataml.index") / "assets"
    for name in ASSETS:
        write_text_atomic(out / name, (assets / name).read_text(encoding="utf-8"))
    write_text_atomic(out / "index.json", dumps(index))
    write_text_atomic(
        out / "data.js", _script("STRATA_INDEX", index) + _script("STRATA_DOCTOR", doctor)
    )
    logs = out / "logs"
    if logs.exists():
        shutil.rmtree(logs)
    logs.mkdir()
    for run in index["runs"]:
        try:
            raw = read_regular(root / run["path"] / "logs.txt")
        except OSError:
            continue
        tail = raw[-LOG_TAIL_BYTES:].decode("utf-8", "replace")
        if len(raw) > LOG_TAIL_BYTES:
            tail = f"[… {len(raw) - LOG_TAIL_BYTES} earlier bytes not shown]\n" + tail
        write_text_atomic(
            logs / f"{run['id']}.js",
            f"window.STRATA_LOGS = window.STRATA_LOGS || {{}};\nwindow.STRATA_LOGS[{json.dumps(run['id'])}] = {json.dumps(tail, ensure_ascii=True)};\n",
        )
    return len(ASSETS) + 2 + len(index["runs"])
