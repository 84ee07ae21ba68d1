"""A progress bar on stderr for long hashing, shown only on a terminal and only after a second."""

from __future__ import annotations

import sys
import time
from typing import Any


class HashProgress:
    """Call with each file's size; draws a rich progress bar once hashing has taken over 1 s."""

    DELAY_S = 1.0

    def __init__(self, total_bytes: int, files: int) -> None:
        self.total = total_bytes
        self.files = files
        self.started = time.monotonic()
        self.done = 0
        self.bar: Any = None
        self.task: Any = None
        self.enabled = sys.stderr.isatty()

    def __call__(self, size: int) -> None:
        self.done += size
        if not self.enabled:
            return
        if self.bar is None and time.monotonic() - self.started > self.DELAY_S:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.bar = Progress(
                "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                TransferSpeedColumn(), TimeRemainingColumn(), transient=True,
            )  # fmt: skip
            self.bar.start()
            self.task = self.bar.add_task(f"hashing {self.files} files", total=self.total)
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
