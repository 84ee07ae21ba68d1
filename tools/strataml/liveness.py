"""Is a `running` run's runner still alive? Doctor (RUN006-RUN008) and `strata runs list` both
ask here, so they never disagree about an abandoned run (TFC-0002 R9)."""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

Liveness = Literal["alive", "abandoned", "elsewhere"]

# A runner starts before it records `started`; a live process that began later is not it.
_START_SLACK_S = 5.0


def parse_moment(value: object) -> dt.datetime | None:
    """An RFC 3339 time with its offset, else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def runner_liveness(system: Mapping[str, Any]) -> Liveness:
    """For a system.json whose status is running: `elsewhere` when another host ran it (nothing
    here can tell), `alive` when its runner's process still lives, else `abandoned`."""
    host = system.get("host")
    hostname = host.get("hostname") if isinstance(host, Mapping) else None
    if isinstance(hostname, str) and hostname != socket.gethostname():
        return "elsewhere"
    pid = system.get("pid")
    started = parse_moment(system.get("started"))
    if isinstance(pid, int) and not isinstance(pid, bool) and _alive(pid, started):
        return "alive"
    return "abandoned"


def _alive(pid: int, started: dt.datetime | None) -> bool:
    """Is `pid` a live process that could be the run's runner?"""
    if not 0 < pid < 2**22:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    began = _process_start(pid)
    if began is None or started is None:
        return True
    return began <= started.timestamp() + _START_SLACK_S  # else the pid was reused


def _process_start(pid: int) -> float | None:
    """When `pid` started (Unix time), from /proc on Linux; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_bytes().splitlines()
            if line.startswith(b"btime ")
        )
        ticks = os.sysconf("SC_CLK_TCK")
        return boot + int(fields[19]) / ticks  # field 22 of stat: starttime, in ticks
    except (OSError, IndexError, ValueError, StopIteration):
        return None
