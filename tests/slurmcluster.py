"""A real one-machine Slurm cluster for the tests: munged, slurmctld and slurmd from Debian's
slurm-wlm and munge, each started as its own process with a generated slurm.conf and munge
key under a temporary directory, and stopped again (tests/test_slurm.py)."""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PARTITION = "debug"
_READY_S = 60.0


@dataclass(frozen=True, slots=True)
class Cluster:
    conf: Path
    env: dict[str, str]  # SLURM_CONF for every client call
    processes: tuple[subprocess.Popen[bytes], ...]

    def run(self, *argv: str) -> str:
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, check=True)
        return done.stdout


def _conf(top: Path, socket_path: Path) -> str:
    host = socket.gethostname()
    cpus = os.cpu_count() or 1
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
    state = top / "state"
    return "\n".join(
        (
            "ClusterName=strata-test",
            f"SlurmctldHost={host}",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={socket_path}",
            f"StateSaveLocation={state}/ctld",
            f"SlurmdSpoolDir={state}/d",
            f"SlurmctldPidFile={state}/slurmctld.pid",
            f"SlurmdPidFile={state}/slurmd.pid",
            f"SlurmctldLogFile={top}/slurmctld.log",
            f"SlurmdLogFile={top}/slurmd.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "SchedulerType=sched/backfill",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "KillWait=10",
            "MinJobAge=600",
            "InactiveLimit=0",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            f"NodeName={host} CPUs={cpus} RealMemory={memory} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
            "",
        )
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(top: Path) -> Cluster:
    """Start munged, slurmctld and slurmd under `top`; return once the node is idle."""
    for sub in ("state/ctld", "state/d", "munge"):
        (top / sub).mkdir(parents=True, exist_ok=True)
    key = top / "munge" / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    (top / "munge").chmod(0o700)
    socket_path = top / "munge" / "munge.socket"
    conf = top / "slurm.conf"
    conf.write_text(_conf(top, socket_path))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(
            _daemon(
                top, "munged", "--foreground", "--force", f"--socket={socket_path}",
                f"--key-file={key}", f"--pid-file={top}/munge/munged.pid",
                f"--log-file={top}/munge/munged.log", f"--seed-file={top}/munge/seed",
            )
        )  # fmt: skip
        _wait_for(lambda: socket_path.exists(), "munged's socket")
        processes.append(_daemon(top, "slurmctld", "-D", "-i", "-f", str(conf)))
        processes.append(_daemon(top, "slurmd", "-D", "-f", str(conf)))
        cluster = Cluster(conf, env, tuple(processes))
        _wait_for(lambda: _idle(cluster), "sinfo to show the node idle")
    except BaseException:
        stop(Cluster(conf, env, tuple(processes)))
        raise
    return cluster


def _daemon(top: Path, *argv: str) -> subprocess.Popen[bytes]:
    log = (top / f"{argv[0]}.out").open("wb")
    with log:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _idle(cluster: Cluster) -> bool:
    try:
        shown = cluster.run("sinfo", "--noheader", "--format=%t")
    except subprocess.CalledProcessError:
        return False
    return shown.split() == ["idle"]


def _wait_for(ready: object, what: str) -> None:
    assert callable(ready)
    deadline = time.monotonic() + _READY_S
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def stop(cluster: Cluster) -> None:
    """Cancel every job and wait for their steps to end, so that no slurmstepd or task outlives
    the cluster; then stop the daemons (slurmd first) and wait for them."""
    if len(cluster.processes) == 3 and all(p.poll() is None for p in cluster.processes):
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.run("scancel", f"--user={getpass.getuser()}")
            _wait_for(lambda: not cluster.run("squeue", "--noheader").strip(), "jobs to end")
    for process in reversed(cluster.processes):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
