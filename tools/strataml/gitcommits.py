"""Which commits a repository holds, asked one at a time of one `git cat-file` kept for the run.

Doctor checks each run's code commit (TFC-0003 R7) as it checks the run, a batch at a time: one
long-lived `git cat-file --batch-check` answers them all as they come, so no pass over every
run's configuration is needed first, and the processes doctor starts stay two (this one and
`rev-parse --is-shallow-repository`), whatever the number of runs (TFC-0006 R20).
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from strataml.gitrepo import (
    GitError,
    GitProcess,
    commits_present,
    git_ok,
    in_work_tree,
    is_object_name,
    start_git,
)

# A lost `cat-file` is started again once; a second loss is Git failing, not a hiccup, and the
# processes a run starts stay bounded whatever the number of runs (TFC-0006 R20).
_STARTS = 2


class CommitLookup:
    """`present(sha)`: is `sha` (a full hex object name) a commit here? Answers are kept; names
    that are not full object names are never commits. Close it (or use it in a `with`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._known: dict[str, bool] = {}
        self._process: GitProcess | None = None
        self._shallow: bool | None = None
        self._started = 0

    @classmethod
    def open(cls, root: Path) -> CommitLookup | None:
        """A lookup for the repository at `root`; None outside Git (nothing to ask)."""
        if not in_work_tree(root) or shutil.which("git") is None:
            return None
        return cls(root)

    def present(self, sha: str) -> bool:
        if not is_object_name(sha):
            return False
        known = self._known.get(sha)
        if known is None:
            known = self._known[sha] = self._ask(sha)
        return known

    def shallow(self) -> bool:
        """A shallow clone lacks old history: a commit's absence proves nothing there."""
        if self._shallow is None:
            self._shallow = git_ok(self.root, "rev-parse", "--is-shallow-repository") == "true"
        return self._shallow

    def _ask(self, sha: str) -> bool:
        try:
            if self._process is None:
                if self._started == _STARTS:
                    raise GitError(("cat-file",), -1, "git cat-file stopped answering", b"")
                self._started += 1
                self._process = start_git(
                    self.root, "cat-file", "--batch-check=%(objectname) %(objecttype)"
                )
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(f"{sha}^{{commit}}\n".encode())
            self._process.stdin.flush()
            line = self._process.stdout.readline().decode(errors="replace").split()
        except OSError:
            line = []
        if len(line) == 2:  # "<object name> commit", or "<asked> missing" / "ambiguous"
            return line == [sha, "commit"]
        # The process is gone: this question asked again on its own, as a one-off (which raises
        # if Git fails); the next starts the last `cat-file` this lookup may start.
        self.close()
        presence = commits_present(self.root, [sha])
        return presence is not None and sha in presence.present

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):  # a process gone: a question left unsent
                    if stream is not None:
                        stream.close()
            process.wait()
