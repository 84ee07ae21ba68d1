"""Reading run records (TFC-0003 R13): load, resolve, list their ids. Read-only; the views
that list, show, compare and rank them are in registry/runviews.py."""

from __future__ import annotations

import contextlib
import functools
import json
import marshal
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml import jsonio, safeopen, yamlio
from strataml.errors import StrataError
from strataml.gitindex import tracked_local_state
from strataml.integrity.cache import HashCache, seal, unseal
from strataml.integrity.hashing import hash_bytes
from strataml.jsonio import load_json
from strataml.liveness import runner_liveness
from strataml.refs import is_run_id
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES, parse_yaml

RUNS = "runs"
# metrics.json written before TFC-0003 R15 may carry every step of every metric: allow far
# more than a metadata file.
_MAX_METRICS_BYTES = 256 * MAX_BYTES


class RunLookupError(StrataError):
    """No run, or more than one, matches what the user typed."""


@dataclass(frozen=True)
class RunRecord:
    """One run directory as recorded; parts that could not be read are empty and named in problems."""

    run_id: str
    config: dict[str, Any] = field(default_factory=dict)
    system: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    sealed: bool = False
    problems: tuple[str, ...] = ()
    reproduction: dict[str, Any] = field(default_factory=dict)  # reproduction.json, if any

    @property
    def path(self) -> str:
        return f"{RUNS}/{self.run_id}"

    @property
    def experiment(self) -> str | None:
        value = nested(self.config, "experiment", "name")
        return value if isinstance(value, str) else None

    @property
    def status(self) -> str:
        value = self.system.get("status")
        return value if isinstance(value, str) else "unknown"

    @functools.cached_property
    def state(self) -> str:
        """The status as a reader should see it: `abandoned` for a run recorded `running` whose
        runner is gone, as doctor's RUN006 tells it (TFC-0002 R9)."""
        running = self.status == "running" and not self.sealed
        return (
            "abandoned" if running and runner_liveness(self.system) == "abandoned" else self.status
        )

    @property
    def reason(self) -> str | None:
        """Why the run failed (system.json `reason`), or why it is abandoned."""
        if self.state == "abandoned":
            return f"its runner (pid {value_text(self.system.get('pid'))}) is gone: the run was abandoned"
        value = self.system.get("reason")
        return value if isinstance(value, str) else None

    @property
    def created(self) -> str:
        """Claim time, else start time: what orders runs (ids are random after the date)."""
        for value in (self.config.get("created"), self.system.get("started")):
            if isinstance(value, str):
                return value
        return ""

    @property
    def params(self) -> dict[str, Any]:
        value = self.config.get("params")
        return value if isinstance(value, dict) else {}

    @property
    def final(self) -> dict[str, Any]:
        value = self.metrics.get("final")
        return value if isinstance(value, dict) else {}

    @property
    def inputs(self) -> dict[str, str]:
        value = self.config.get("inputs")
        if not isinstance(value, dict):
            return {}
        return {
            name: str(entry.get("ref"))
            for name, entry in sorted(value.items())
            if isinstance(entry, dict)
        }

    @property
    def tags(self) -> list[str]:
        value = self.config.get("tags")
        return [str(t) for t in value] if isinstance(value, list) else []

    def summary(self) -> dict[str, Any]:
        """The JSON form of `strata runs list`."""
        return {
            "run_id": self.run_id,
            "path": self.path,
            "experiment": self.experiment,
            "name": self.config.get("name"),
            "status": self.state,
            "reason": self.reason,
            "exit_code": self.system.get("exit_code"),
            "created": self.created or None,
            "duration_s": self.system.get("duration_s"),
            "fingerprint": self.config.get("fingerprint"),
            "params": self.params,
            "metrics": self.final,
            "inputs": self.inputs,
            "tags": self.tags,
            "sealed": self.sealed,
            "problems": list(self.problems),
            "reproduces": self.config.get("reproduces"),
            "verdict": self.reproduction.get("verdict"),
        }

    def document(self) -> dict[str, Any]:
        """The JSON form of `strata runs show`: the summary, then the three records whole."""
        records = {"config": self.config, "system": self.system, "metrics": self.metrics}
        return {**self.summary(), **records}


def nested(document: dict[str, Any], *keys: str) -> object:
    node: object = document
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _read_mapping(path: Path, limit: int, *, as_json: bool) -> tuple[dict[str, Any], str | None]:
    name = path.name
    try:
        raw = read_regular(path, limit + 1)
    except FileNotFoundError:
        return {}, f"no {name}"
    except OSError as exc:
        return {}, f"{name} cannot be read: {exc.strerror or exc}"
    if len(raw) > limit:
        return {}, f"{name} is larger than {limit} bytes"
    if as_json:
        try:
            data = load_json(raw)
        except ValueError as exc:  # UnicodeDecodeError included
            return {}, f"{name} is not JSON: {exc}"
    else:
        document = parse_yaml(raw)
        if not document.ok:
            return {}, f"{name} does not parse: {document.problems[0].message}"
        data = document.data
    if not isinstance(data, dict):
        return {}, f"{name} is not a mapping"
    return data, None


def load_run(root: Path, run_id: str) -> RunRecord:
    directory = root / RUNS / run_id
    config, p1 = _read_mapping(directory / "config.yaml", MAX_BYTES, as_json=False)
    system, p2 = _read_mapping(directory / "system.json", MAX_BYTES, as_json=True)
    metrics, p3 = _read_mapping(directory / "metrics.json", _MAX_METRICS_BYTES, as_json=True)
    running = system.get("status") == "running"
    problems = tuple(
        p for p in (p1, p2, None if running and p3 == "no metrics.json" else p3) if p is not None
    )
    sealed = (directory / "CHECKSUMS.txt").is_file()
    reproduction: dict[str, Any] = {}
    if isinstance(config.get("reproduces"), str) or os.path.lexists(
        directory / "reproduction.json"
    ):
        reproduction, p4 = _read_mapping(directory / "reproduction.json", MAX_BYTES, as_json=True)
        problems += (p4,) if p4 is not None and not running else ()
    return RunRecord(run_id, config, system, metrics, sealed, problems, reproduction)


def run_ids(root: Path) -> list[str]:
    runs = root / RUNS
    if not runs.is_dir():
        return []
    return sorted(
        p.name for p in runs.iterdir() if is_run_id(p.name) and p.is_dir() and not p.is_symlink()
    )


def load_runs(
    root: Path, *, experiment: str | None = None, status: str | None = None
) -> list[RunRecord]:
    """Every run, oldest first (by claim time, then id), filtered."""
    records = _load_all(root, run_ids(root))
    return sorted(
        (
            r
            for r in records
            if (experiment is None or r.experiment == experiment)
            and (status is None or r.state == status)
        ),
        key=lambda r: (r.created, r.run_id),
    )


def resolve_run(root: Path, text: str) -> RunRecord:
    """A run by id, by `runs/<id>` path, by a unique part of its id, or `latest`."""
    ids = run_ids(root)
    wanted = text.strip().rstrip("/").removeprefix("./").removeprefix(f"{RUNS}/")
    if wanted == "latest":
        records = load_runs(root)
        if not records:
            raise RunLookupError(f"no runs yet under {RUNS}/")
        return records[-1]
    if wanted in ids:
        return load_run(root, wanted)
    matches = [run_id for run_id in ids if wanted and wanted in run_id]
    if len(matches) == 1:
        return load_run(root, matches[0])
    if not matches:
        raise RunLookupError(f"no run matches {text!r} (see `strata runs list`)")
    shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
    raise RunLookupError(f"{text!r} matches {len(matches)} runs: {shown}")


# --- best ---------------------------------------------------------------------------------------


MISSING = object()  # a field one of the compared runs lacks


def value_text(value: object) -> str:
    if value is MISSING:
        return "-"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


# --- kept between commands ----------------------------------------------------------------------
# A listing of 10,000 runs parses none it parsed before. `strata runs list`, `runs best`, `runs
# compare`, lineage and the catalogue read every run's config.yaml, system.json and metrics.json:
# each run's reading (what `load_run` returns) is kept in the hash cache's database under a key
# made of the code that reads it and the stat key (mode, size, mtime, ctime, inode) of every file
# it reads or looks for, so an edit of any of them, in place or not, misses (TFC-0008 R13). A key
# whose files changed within the racy window is not stored; a run whose files include a symbolic
# link is read every time. Stored values carry the BLAKE3 of their body; anything else is a miss.
# A cache that a commit ships (a tracked file under `.strata/`) is not used, as by doctor.

_STORE_FORMAT = b"strataml-run-1"
_PREFIX = "run:"
# Every file load_run reads, or whose presence it asks about.
_RECORD_FILES = ("config.yaml", "system.json", "metrics.json", "reproduction.json", "CHECKSUMS.txt")


@functools.cache
def _identity() -> str:
    sources = b"".join(
        Path(module.__file__ or "").read_bytes()
        for module in (sys.modules[__name__], jsonio, yamlio, safeopen)
    )
    named = f"{sys.version}|{marshal.version}|{yamlio.PARSER}".encode()
    return hash_bytes(_STORE_FORMAT + b"\0" + named + b"\0" + sources)[:32]


def _load_all(root: Path, run_ids: list[str]) -> list[RunRecord]:
    """`load_run` of each id, in order, from the cache where the files are as they were."""
    with _opened(root) as cache:
        if cache is None:
            return [load_run(root, run_id) for run_id in run_ids]
        stored = cache.lookup_records(_PREFIX)
        records = []
        for run_id in run_ids:
            key, settled = _key(root, run_id, cache.settled_before)
            known = stored.get(_PREFIX + run_id)
            record = _unpack(run_id, known[1]) if known and key and known[0] == key else None
            if record is None:
                record = load_run(root, run_id)
                if key is not None and settled and (value := _pack(record)) is not None:
                    cache.remember_record(_PREFIX + run_id, key, value)
            records.append(record)
        return records


def _key(root: Path, run_id: str, cutoff: int) -> tuple[str | None, bool]:
    """The key of the run's files as they stand, and whether all are older than `cutoff`;
    (None, False) where the run cannot be cached (a symlink, a directory not listed)."""
    directory = f"{root}/{RUNS}/{run_id}"
    parts = [_identity()]
    newest = 0
    try:
        with os.scandir(directory) as listing:
            entries = {e.name: e for e in listing if e.name in _RECORD_FILES}
        for name in _RECORD_FILES:
            entry = entries.get(name)
            if entry is None:
                parts.append(f"{name}:-")
                continue
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                return None, False
            parts.append(
                f"{name}:{st.st_mode}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
            )
            newest = max(newest, st.st_ctime_ns)
    except OSError:
        return None, False
    return ";".join(parts), newest < cutoff


def _pack(record: RunRecord) -> bytes | None:
    try:
        body = marshal.dumps(
            (record.config, record.system, record.metrics, record.sealed,
             list(record.problems), record.reproduction)
        )  # fmt: skip
    except ValueError:  # a value marshal does not hold (not JSON-shaped): read it every time
        return None
    return seal(body)


def _unpack(run_id: str, value: bytes) -> RunRecord | None:
    body = unseal(value)
    if body is None:
        return None
    try:
        config, system, metrics, sealed, problems, reproduction = marshal.loads(body)
    except (EOFError, ValueError, TypeError):
        return None
    if not all(isinstance(d, dict) for d in (config, system, metrics, reproduction)):
        return None
    return RunRecord(
        run_id, config, system, metrics, bool(sealed), tuple(str(p) for p in problems),
        reproduction,
    )  # fmt: skip


@contextlib.contextmanager
def _opened(root: Path) -> Iterator[HashCache | None]:
    """The hash cache, or None where there is none or a commit ships one (TFC-0001 R13)."""
    cache = HashCache(root, enabled=not tracked_local_state(root))
    try:
        yield cache if cache.db is not None else None
    finally:
        cache.close()
