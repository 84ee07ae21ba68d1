"""Run one command in its own process group, teeing its output, forwarding signals (TFC-0002 R8)."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

GRACE_S = 10.0
_DRAIN_S = 2.0  # after the command exits, how long its leftover children may hold the pipes
_FORWARDED = (signal.SIGINT, signal.SIGTERM)
_THIS_PYTHON = ("python", "python3")


@dataclass(frozen=True, slots=True)
class Outcome:
    exit_code: int | None  # negative: ended by that signal; None: never started
    interrupted_by: int | None  # SIGINT or SIGTERM received by the runner
    timed_out: bool
    peak_memory_bytes: int | None
    start_error: str | None
    log_full: bool = False  # the disk filled up while logs.txt was written: the log is cut short


class _Log:
    """logs.txt as the pump writes it: once the disk is full, the rest of the output is only
    drained (and echoed), never a traceback that leaves the run `running` (TFC-0002 R15)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.full = False

    def write(self, data: bytes) -> None:
        if self.full:
            return
        view = memoryview(data)
        try:
            while view:  # an unbuffered handle may write part of it
                written = self.handle.write(view)
                if not written:
                    raise OSError(errno.ENOSPC, "nothing written")
                view = view[written:]
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            self.full = True


class Interrupts:
    """Signals received by the runner, forwarded to every running command's process group."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._groups: set[int] = set()
        self._lock = threading.Lock()

    def handle(self, signum: int, _frame: object) -> None:
        self.received = self.received or signum
        with self._lock:
            groups = list(self._groups)
        for group in groups:
            _signal_group(group, signum)

    def add(self, group: int) -> None:
        with self._lock:
            self._groups.add(group)

    def discard(self, group: int) -> None:
        with self._lock:
            self._groups.discard(group)


@contextmanager
def forwarding(interrupts: Interrupts) -> Iterator[None]:
    """Route SIGINT/SIGTERM to `interrupts` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, interrupts.handle) for sig in _FORWARDED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(group, signum)


def execute(
    command: tuple[str, ...] | str,
    *,
    shell: bool,
    cwd: Path,
    env: Mapping[str, str],
    log: BinaryIO,
    echo: tuple[BinaryIO, BinaryIO] | None,
    timeout_s: float | None,
    interrupts: Interrupts,
    grace_s: float = GRACE_S,
) -> Outcome:
    argv: str | list[str] = command if isinstance(command, str) else this_python(command)
    try:
        proc = subprocess.Popen(
            argv, shell=shell, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        return Outcome(None, None, False, None, _start_error(argv, exc))
    interrupts.add(proc.pid)
    if interrupts.received:  # Ctrl-C came while the command was starting
        _signal_group(proc.pid, interrupts.received)
    sink = _Log(log)
    try:
        timed_out = _pump(proc, sink, echo, timeout_s, interrupts, grace_s)
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        interrupts.discard(proc.pid)
        _signal_group(proc.pid, signal.SIGKILL)  # nothing of the run outlives it
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Outcome(
        proc.returncode, interrupts.received, timed_out, usage.ru_maxrss * 1024, None, sink.full
    )


def this_python(command: tuple[str, ...]) -> list[str]:
    """A list command's leading bare `python` or `python3` is the interpreter running the runner,
    the one system.json records, not whichever PATH finds first (TFC-0002 R5); a leading bare
    `jupyter` (a notebook's run, TFC-0002 R17) is that interpreter's `-m jupyter`."""
    if command and command[0] in _THIS_PYTHON and sys.executable:
        return [sys.executable, *command[1:]]
    if command and command[0] == "jupyter" and sys.executable:
        return [sys.executable, "-m", "jupyter", *command[1:]]
    return list(command)


def _start_error(argv: str | list[str], exc: OSError) -> str:
    """One line saying why the command never ran (TFC-0002 R16)."""
    program = "/bin/sh" if isinstance(argv, str) else argv[0]
    shown = program if program.isprintable() and program.strip() == program else repr(program)
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {shown}"
    if isinstance(exc, PermissionError):
        return f"command not executable: {shown} (permission denied)"
    return f"cannot start {shown}: {exc.strerror or exc}"


def _pump(
    proc: subprocess.Popen[bytes], log: _Log, echo: tuple[BinaryIO, BinaryIO] | None,
    timeout_s: float | None, interrupts: Interrupts, grace_s: float,
) -> bool:  # fmt: skip
    """Copy output until the command exits; enforce the timeout and the grace period."""
    assert proc.stdout is not None and proc.stderr is not None
    selector = selectors.DefaultSelector()
    sinks = {
        proc.stdout.fileno(): echo[0] if echo else None,
        proc.stderr.fileno(): echo[1] if echo else None,
    }
    for stream in (proc.stdout, proc.stderr):
        selector.register(stream, selectors.EVENT_READ)
    exit_fd = _exit_fd(proc.pid)  # readable once the command exits: no polling to notice it
    started = time.monotonic()
    deadline = started + timeout_s if timeout_s else None
    kill_at: float | None = None
    timed_out = False
    exited_at: float | None = None
    try:
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline and not timed_out:
                timed_out = True
                log.write(f"[strata] timeout after {timeout_s:g} s: sending SIGTERM\n".encode())
                _signal_group(proc.pid, signal.SIGTERM)
            if (timed_out or interrupts.received) and kill_at is None:
                kill_at = now + grace_s
            if kill_at is not None and now >= kill_at:
                log.write(b"[strata] still running after the grace period: sending SIGKILL\n")
                _signal_group(proc.pid, signal.SIGKILL)
                kill_at = float("inf")
            if exited_at is None and _exited(proc.pid):
                exited_at = now
            if exited_at is not None and (not selector.get_map() or now - exited_at > _DRAIN_S):
                break  # done; or a leftover child holds the pipes, so stop reading
            if not selector.get_map():  # the command closed its output: wait for it to exit
                if exit_fd is None:
                    time.sleep(0.1)
                else:
                    select.select([exit_fd], [], [], 0.1)
                continue
            for key, _ in selector.select(timeout=0.1):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                log.write(chunk)
                sink = sinks[key.fd]
                if sink is not None:
                    sink.write(chunk)
                    sink.flush()
    finally:
        selector.close()
        proc.stdout.close()
        proc.stderr.close()
        if exit_fd is not None:
            os.close(exit_fd)
    return timed_out


def _exit_fd(pid: int) -> int | None:
    """A pidfd of the command (Linux 5.3 and later), or None where there is none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _exited(pid: int) -> bool:
    result = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return result is not None
