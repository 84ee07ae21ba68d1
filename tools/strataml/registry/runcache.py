"""Run records kept between commands (TFC-0008 R13): what `load_run` read, reused while the
files it read are as they were."""

from __future__ import annotations

import contextlib
import functools
import gc
import marshal
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from strataml import jsonio, safeopen, yamlio
from strataml.gitindex import tracked_local_state_later
from strataml.integrity.cache import HashCache, package_source, seal, settled_before, unseal
from strataml.integrity.hashing import hash_bytes
from strataml.integrity.localrecords import opened
from strataml.registry import runrecord
from strataml.registry.runrecord import RUNS, RunRecord, load_run

# A listing of 10,000 runs parses none it parsed before. `strata runs list`, `runs best`, `runs
# compare`, lineage and the catalogue read every run's config.yaml, system.json and metrics.json:
# each run's reading (what `load_run` returns) is kept in the hash cache's database under a key
# made of the code that reads it and the stat key (mode, size, mtime, ctime, inode) of every file
# it reads or looks for, so an edit of any of them, in place or not, misses (TFC-0008 R13). A key
# whose files changed within the racy window is not stored; a run whose files include a symbolic
# link is read every time. Stored values carry the BLAKE3 of their body; anything else is a miss.
# A cache that a commit ships (a tracked file under `.strata/`) is not used, as by doctor.
# Each reading is kept twice: whole, and without the parts only a run's page or the catalogue
# shows (the experiment's spec, the package list, every step of every metric), which listings
# and rankings load.

_STORE_FORMAT = b"strataml-run-2"
_WHOLE, _LIGHT = "run:", "runhead:"
_LIST = "*:"  # after a derived value's name: the value of every run together (no run id has *)
# Every file load_run reads, or whose presence it asks about.
_RECORD_FILES = ("config.yaml", "system.json", "metrics.json", "reproduction.json", "CHECKSUMS.txt")
_HEAVY_CONFIG, _HEAVY_SYSTEM, _HEAVY_METRICS = "spec", "packages", "history"


@functools.cache
def _identity() -> str:
    modules = (sys.modules[__name__], runrecord, jsonio, yamlio, safeopen)
    sources = b"".join(Path(module.__file__ or "").read_bytes() for module in modules)
    named = f"{sys.version}|{marshal.version}|{yamlio.PARSER}".encode()
    return hash_bytes(_STORE_FORMAT + b"\0" + named + b"\0" + sources)[:32]


@functools.cache
def _package_identity() -> str:
    return hash_bytes(_identity().encode() + b"\0" + package_source())[:32]


def light(record: RunRecord) -> RunRecord:
    """The record without the experiment's copied spec, the package list and the metric
    histories (RunRecord.whole false)."""
    config, experiment = record.config, record.config.get("experiment")
    if isinstance(experiment, dict) and _HEAVY_CONFIG in experiment:
        named = {k: v for k, v in experiment.items() if k != _HEAVY_CONFIG}
        config = {k: named if k == "experiment" else v for k, v in config.items()}
    system = {k: v for k, v in record.system.items() if k != _HEAVY_SYSTEM}
    metrics = {k: v for k, v in record.metrics.items() if k != _HEAVY_METRICS}
    return RunRecord(
        record.run_id, config, system, metrics, record.sealed, record.problems,
        record.reproduction, whole=False,
    )  # fmt: skip


def load_all(root: Path, run_ids: list[str], *, whole: bool) -> list[RunRecord]:
    """`load_run` of each id, in order (`light` of it unless `whole`), from the cache where the
    files are as they were."""
    with _opened(root, run_ids, _identity()) as (cache, keys), _no_cycle_collection():
        if cache is None:
            return [r if whole else light(r) for r in (load_run(root, i) for i in run_ids)]
        prefix = _WHOLE if whole else _LIGHT
        records = []
        stored = cache.lookup_records(prefix, run_ids)
        for run_id, known, (key, settled) in zip(run_ids, stored, keys, strict=True):
            record = _unpack(run_id, known[1], whole) if known and known[0] == key else None
            if record is None:
                record = load_run(root, run_id)
                if key is not None and settled:
                    for name, kept in ((_WHOLE, record), (_LIGHT, light(record))):
                        if (value := _pack(kept)) is not None:
                            cache.remember_record(name + run_id, key, value)
                record = record if whole else light(record)
            records.append(record)
        return records


def load_derived(
    root: Path, run_ids: list[str], name: str, derive: Callable[[RunRecord], list[Any]]
) -> Iterator[object]:
    """`derive(load_run(root, i))` for each id, in order, kept as the readings are: under the
    same stat key and the source of the whole package (what derives may call anything); `name`
    names the rows. Values are JSON-shaped (what marshal holds: anything else is derived every
    time). Yielded one by one, so that a caller that shares equal parts of them (the catalogue's
    package lists) never holds 10,000 copies."""
    with _opened(root, run_ids, _package_identity()) as (cache, keys), _no_cycle_collection():
        if cache is None:
            yield from (derive(load_run(root, run_id)) for run_id in run_ids)
            return
        yield from _derived(cache, root, run_ids, iter(keys), name, derive)


def load_derived_list(
    root: Path, run_ids: list[str], name: str, derive: Callable[[RunRecord], list[Any]]
) -> list[object]:
    """`load_derived` as one list, which is also kept whole, under one key made of every run's
    id and stat key: a listing of 10,000 unchanged runs is one value read, not 10,000. For small
    rows only (`strata runs list`): the list is held in memory at once."""
    with _opened(root, run_ids, _package_identity()) as (cache, keys), _no_cycle_collection():
        if cache is None:
            return [derive(load_run(root, run_id)) for run_id in run_ids]
        whole = _list_key(run_ids, keys)
        prefix = f"{name}{_LIST}"
        if whole is not None:
            known = next(cache.lookup_records(prefix, [""]))
            if known is not None and known[0] == whole:
                kept = _loads(known[1])
                if type(kept) is list and len(kept) == len(run_ids):
                    return kept
        values = list(_derived(cache, root, run_ids, iter(keys), name, derive))
        if whole is not None:
            with contextlib.suppress(ValueError):  # not marshal's: derived every time
                cache.remember_record(prefix, whole, seal(marshal.dumps(values)))
        return values


@contextlib.contextmanager
def _opened(
    root: Path, run_ids: list[str], identity: str
) -> Iterator[tuple[HashCache | None, list[tuple[str | None, bool]]]]:
    """The cache (as `opened`) and each run's key: the runs' files are asked about while git
    reads its index for a cache a commit ships (on 10,000 runs both take tens of milliseconds).
    The racy window's cut-off is taken before any stat key, as a cache opened first takes it."""
    shipped = tracked_local_state_later(root)
    cutoff = settled_before()
    keys = [_key(f"{root}/{RUNS}/{run_id}/", identity, cutoff) for run_id in run_ids]
    with opened(root, shipped) as cache:
        yield cache, keys


def _list_key(run_ids: list[str], keys: list[tuple[str | None, bool]]) -> str | None:
    """The key of a whole list: every id in order and every run's key; None unless each run's
    key exists and is settled (older than the racy window), as for one run's value."""
    if not all(key is not None and settled for key, settled in keys):
        return None
    return hash_bytes("\0".join([*run_ids, *(key or "" for key, _ in keys)]).encode())


def _derived(
    cache: HashCache, root: Path, run_ids: list[str], keys: Iterator[tuple[str | None, bool]],
    name: str, derive: Callable[[RunRecord], list[Any]],
) -> Iterator[object]:  # fmt: skip
    prefix = f"{name}:"
    stored = cache.lookup_records(prefix, run_ids)
    for run_id, known, (key, settled) in zip(run_ids, stored, keys, strict=True):
        value = _loads(known[1]) if known and known[0] == key else _MISS
        if value is _MISS:
            value = derive(load_run(root, run_id))
            if key is not None and settled:
                with contextlib.suppress(ValueError):  # not marshal's: derived every time
                    cache.remember_record(prefix + run_id, key, seal(marshal.dumps(value)))
        yield value


def _loads(value: bytes) -> object:
    """A value `seal(marshal.dumps(…))` stored, or _MISS where it is damaged or not one."""
    body = unseal(value)
    try:
        return marshal.loads(body) if body is not None else _MISS
    except (EOFError, ValueError, TypeError):
        return _MISS


_MISS = object()


def _key(directory: str, identity: str, cutoff: int) -> tuple[str | None, bool]:
    """The key of the run's files as they stand, and whether all are older than `cutoff`;
    (None, False) where the run cannot be cached (a symlink, a file that cannot be asked about)."""
    parts = [identity]  # then each of _RECORD_FILES in order: its stat key, or "-" if absent
    newest = 0
    for name in _RECORD_FILES:
        try:
            st = os.lstat(directory + name)
        except FileNotFoundError:
            parts.append("-")
            continue
        except OSError:
            return None, False
        if stat.S_ISLNK(st.st_mode):
            return None, False
        ctime = st.st_ctime_ns
        parts.append(f"{st.st_mode}:{st.st_size}:{st.st_mtime_ns}:{ctime}:{st.st_ino}")
        if ctime > newest:
            newest = ctime
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


def _unpack(run_id: str, value: bytes, whole: bool) -> RunRecord | None:
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
        reproduction, whole=whole,
    )  # fmt: skip


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while records are unpacked: 10,000 runs' readings are
    millions of new lists and dicts, none in a cycle, and each collection pass walks them all
    again (half the time of a catalogue of 10,000 runs). Restored as it was after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
