"""The only module that imports Ray (TFC-0002 R26-R28), and only when a Ray command runs: `strata`
and doctor start as fast as before. Each task is a generator: it first yields where it runs,
then its result; the driver waits on it with a timeout, and may cancel it."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from strataml.errors import StrataError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROBE_S = 5.0
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class ClusterError(StrataError):
    """Ray is missing or unreachable: nothing was started."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        self.code = code
        self.hint = hint
        super().__init__(f"[{code}] {message} (hint: {hint})")


class TaskLostError(Exception):
    """A task that ended without its result: cancelled, its worker or node dead (Ray's words)."""


@dataclass(frozen=True, slots=True)
class Where:
    """Where a task runs, as Ray names it."""

    job_id: str
    task_id: str
    node_id: str


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ClusterError(
            "ray-missing", "ray is not installed here",
            "pip install 'strataml[ray]' (ray 2.60.0) on this machine and on every node",
        ) from exc  # fmt: skip
    return ray


def connect(address: str | None) -> None:
    """Join a running cluster (never start one): `address`, else RAY_ADDRESS, else the local one."""
    ray = _ray()
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        _probe(address)  # ray.init waits minutes for an address where nothing listens
    # ray.init sets its own SIGINT/SIGTERM handlers in a driver; the runner's stay (R8, R26)
    main = threading.current_thread() is threading.main_thread()
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
    try:
        ray.init(
            address=address or "auto", logging_level=logging.ERROR, log_to_driver=False,
            configure_logging=False,
        )  # fmt: skip
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(
            "ray-unreachable",
            f"no Ray cluster {f'at {address}' if address else 'on this machine'}: "
            f"{words(exc).split('. ')[0]}",
            "start one with `ray start --head`, or pass --address HOST:PORT",
        ) from exc  # fmt: skip
    finally:
        for sig, handler in kept.items():
            if handler is not None:
                signal.signal(sig, handler)


def _probe(address: str) -> None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=_PROBE_S):
            return
    except (OSError, ValueError) as exc:
        said = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ClusterError(
            "ray-unreachable", f"no Ray cluster at {address}: {said}",
            "start one with `ray start --head`, or pass --address HOST:PORT",
        ) from exc  # fmt: skip


def memory_bytes(memory: str | None) -> int | None:
    """A spec's memory (`512M`, `4G`, TFC-0002 R22) in bytes, as Ray counts it."""
    if memory is None:
        return None
    return int(memory[:-1]) * _UNITS[memory[-1].upper()]


def refuse_unplaceable(
    what: str, *, cpus: int | None, gpus: int | None, memory: int | None
) -> None:
    """A task no live node can hold would wait for ever: refused before anything starts."""
    wants = {"CPU": cpus if cpus is not None else 1, "GPU": gpus or 0, "memory": memory or 0}
    nodes = [node["Resources"] for node in _ray().nodes() if node["Alive"]]
    if any(all(has.get(k, 0) >= n for k, n in wants.items() if n) for has in nodes):
        return
    asked = ", ".join(f"{n} {k}" for k, n in wants.items() if n)
    raise ClusterError(
        "ray-unplaceable", f"{what}: no node of the cluster has {asked} for one task",
        "lower `resources:` in the spec, or add a node that has them (`ray status` lists them)",
    )  # fmt: skip


def put(data: bytes) -> Any:
    """Into the object store once; every task that takes it gets it from there."""
    return _ray().put(data)


def start(
    function: Callable[..., Iterator[Any]], *args: Any, cpus: int | None, gpus: int | None,
    memory: int | None,
) -> Any:  # fmt: skip
    """Submit one task, never retried (a second attempt would run the point twice)."""
    ray = _ray()
    options: dict[str, Any] = {"num_returns": "streaming", "max_retries": 0}
    options["num_cpus"] = cpus if cpus is not None else 1
    if gpus:
        options["num_gpus"] = gpus
    if memory is not None:
        options["memory"] = memory
    return ray.remote(function).options(**options).remote(*args)


def next_item(task: Any, timeout_s: float) -> tuple[bool, Any]:
    """(True, the task's next item), or (False, None) when none came within `timeout_s`; raises
    TaskLostError with Ray's words when the task ended without it."""
    ray = _ray()
    ready, _ = ray.wait([task], timeout=timeout_s)
    if not ready:
        return False, None
    try:
        return True, ray.get(next(task))
    except StopIteration as exc:
        raise TaskLostError("the task ended without a result") from exc
    except ray.exceptions.RayError as exc:
        raise TaskLostError(words(exc)) from exc


def cancel(task: Any) -> None:
    """Ask the task to stop: its worker gets SIGINT, which the runner forwards to the command."""
    ray = _ray()
    with contextlib.suppress(ValueError, TypeError, ray.exceptions.RayError):
        ray.cancel(task)  # one that already ended has nothing to cancel


def here() -> Where:
    """Inside a task: its job, task and node."""
    context = _ray().get_runtime_context()
    return Where(context.get_job_id(), context.get_task_id(), context.get_node_id())


def words(exc: BaseException) -> str:
    """Ray's error in one line: its type and its last line of text, colours removed."""
    cause = getattr(exc, "cause", None)
    kind = type(cause if isinstance(cause, BaseException) else exc).__name__
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    said = lines[-1] if lines else ""
    said = said.split(": ", 1)[1] if said.startswith(f"ray.exceptions.{kind}: ") else said
    return f"{kind}: {said}" if said and not said.startswith(kind) else said or kind
