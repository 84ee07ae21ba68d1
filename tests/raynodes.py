"""A real two-node Ray cluster for the tests: a head and a second node, each started with
`ray start` as its own processes on this machine (loopback address, one CPU each, no dashboard,
no usage stats), their files under a temporary directory, and stopped with `ray stop --force`
(tests/test_ray.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_READY_S = 60.0


@dataclass(frozen=True, slots=True)
class Cluster:
    address: str  # 127.0.0.1:<port>
    env: dict[str, str]  # what the nodes run with, and the driver too
    scratch: Path  # where the workers make their scratch directories


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ray(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        ["ray", *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True,
        timeout=120,
    )  # fmt: skip


def start(top: Path, tools: Path) -> Cluster:
    """`ray start --head`, then a second node joining it; return once both are alive."""
    scratch = top / "scratch"
    scratch.mkdir(parents=True)
    port = _free_port()
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        # the workers import this checkout's strataml, as the driver does
        "PYTHONPATH": os.pathsep.join(filter(None, (str(tools), os.environ.get("PYTHONPATH")))),
        "STRATA_RAY_SCRATCH": str(scratch),
    }
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    try:
        _ray(
            env, "start", "--head", f"--port={port}", "--include-dashboard=false",
            f"--temp-dir={top / 't'}", *common,
        )  # fmt: skip
        _ray(env, "start", f"--address={address}", *common)
        _wait_for_nodes(address, env, 2)
    except BaseException:
        stop()
        raise
    return Cluster(address, env, scratch)


def _wait_for_nodes(address: str, env: dict[str, str], count: int) -> None:
    probe = f"import ray; ray.init(address={address!r}, logging_level='ERROR'); " + (
        "print(sum(n['Alive'] for n in ray.nodes()))"
    )
    deadline = time.monotonic() + _READY_S
    while True:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
        )
        if done.stdout.strip() == str(count):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {count} Ray nodes: {done.stderr[-500:]}")
        time.sleep(0.5)


def stop() -> None:
    """Every Ray process of this machine's cluster, whatever state the tests left it in."""
    subprocess.run(
        ["ray", "stop", "--force"], stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
        check=False,
    )  # fmt: skip
