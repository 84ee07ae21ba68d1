"""Crash consistency figures: every writer SIGKILLed at hundreds of points (TFC-0001 R12).

python tests/crash.py [TRIALS [WRITER...]]   one line per writer; exit 1 on any problem
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from crashkit import TRIALS, crash_all, fork_of_template
from gpgkeys import stop_agent


def main(argv: list[str]) -> int:
    trials = int(argv[0]) if argv else TRIALS
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="strata-crash-") as scratch:
        home = Path(scratch) / "home"  # what tests/conftest.py pins for every test
        home.mkdir()
        os.environ.update(HOME=str(home), GNUPGHOME=str(home / ".gnupg"), GIT_CONFIG_NOSYSTEM="1")
        os.environ.pop("GIT_CONFIG_GLOBAL", None)
        for var in ("AUTHOR", "COMMITTER"):
            os.environ[f"GIT_{var}_NAME"] = "Strata Test"
            os.environ[f"GIT_{var}_EMAIL"] = "test@strataml.invalid"
        make_repo = functools.partial(fork_of_template, Path(scratch))
        try:
            tallies = crash_all(make_repo, trials=trials, names=tuple(argv[1:]))
        finally:
            stop_agent(home / ".gnupg")  # `strata sign` trials start the signer's agent
    for tally in tallies:
        print(tally)
        for problem in tally.problems:
            print(f"  {problem}")
    print(f"{sum(t.trials for t in tallies)} kill points in {time.perf_counter() - started:.0f} s")
    return 1 if any(t.problems for t in tallies) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
