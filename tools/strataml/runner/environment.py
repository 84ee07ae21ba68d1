"""Where a run ran: host, Python, installed packages (TFC-0003 R4). No environment variables."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any


def host_facts() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "os": f"{platform.system()} {_os_release()}".strip(),
        "kernel": platform.release(),
        "cpu": {"model": _cpu_model(), "cores": os.cpu_count() or 1},
        "memory_bytes": _memory_bytes(),
        "gpus": _gpus(),
    }


def python_facts() -> dict[str, Any]:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }


def installed_packages() -> dict[str, str]:
    """Name -> version of every distribution on sys.path. Read once for the runs of a sweep
    while no directory on sys.path changes (an install or removal changes its directory)."""
    state = []
    for entry in sys.path:
        try:
            st = Path(entry or ".").stat()
        except OSError:
            state.append((entry, 0, 0, 0))
            continue
        state.append((entry, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return dict(_packages(tuple(state)))


@functools.lru_cache(maxsize=1)
def _packages(state: tuple[tuple[str, int, int, int], ...]) -> tuple[tuple[str, str], ...]:
    packages: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name, version = _name_and_version(dist)
        if name and version:
            packages.setdefault(name.lower().replace("_", "-"), version)
    return tuple(sorted(packages.items()))


def _name_and_version(dist: importlib.metadata.Distribution) -> tuple[str | None, str | None]:
    # The two headers only: `dist.metadata` parses the whole file, long description included,
    # with the email parser, on every access (~2 ms per package, most of a run's start-up).
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    found: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, colon, value = line.partition(":")
        if colon and key in ("Name", "Version"):
            found.setdefault(key, value.strip())
    return found.get("Name"), found.get("Version")


def _os_release() -> str:
    try:
        info = platform.freedesktop_os_release()
    except OSError:
        return platform.version()
    return info.get("PRETTY_NAME", info.get("NAME", ""))


def _cpu_model() -> str:
    try:
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        ):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def _gpus() -> list[dict[str, Any]]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    query = ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run([smi, *query], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    gpus: list[dict[str, Any]] = []
    for line in out.stdout.splitlines():
        name, _, rest = line.partition(",")
        memory, _, driver = rest.partition(",")
        if not name.strip():
            continue
        gpu: dict[str, Any] = {"name": name.strip(), "driver": driver.strip()}
        if memory.strip().isdigit():
            gpu["memory_bytes"] = int(memory.strip()) * 2**20  # reported in MiB
        gpus.append(gpu)
    return gpus
