"""Command line: parse, call the library, print, exit. One module per command group.

The entry points import only what their program needs: `python tools/doctor.py` does not
load the other command groups.
"""

import contextlib


def _as_program(argv: list[str] | None) -> None:
    """A program (argv from the command line, not a caller's list) allocates far more than it
    frees: the objects alive at start (the imported modules) are never scanned again, and cycles
    are looked for seventy times less often. On 10,000 runs a warm doctor spent a fifth of its time in
    the collector. A caller in a long-lived process keeps its own settings."""
    if argv is None:
        import gc

        gc.freeze()
        gc.set_threshold(50_000, 20, 10)


def main(argv: list[str] | None = None) -> int:
    """`strata` (pyproject's console script and `python -m strataml`)."""
    _as_program(argv)
    from strataml.cli.app import main as strata

    return strata(argv)


def doctor_main(argv: list[str] | None = None) -> int:
    """`python tools/doctor.py`."""
    _as_program(argv)
    from strataml.cli.doctor import EXAMPLES, doctor
    from strataml.cli.exits import run_alone

    return _leave(run_alone(doctor, EXAMPLES, argv, "doctor"), argv)


def _leave(code: int, argv: list[str] | None) -> int:
    """A program ends without the interpreter's teardown, which frees every object left one by
    one: a tenth of a warm doctor run on 10,000 runs. By then doctor has closed all it opened
    (the cache, its workers and git processes, gpg homes: each in a `with`), so only the standard
    streams are left to flush. A caller's argv list keeps the code returned."""
    if argv is None:
        import os
        import sys

        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
                stream.flush()
        os._exit(code)
    return code


def run_main(argv: list[str] | None = None) -> int:
    """`python tools/run.py`."""
    _as_program(argv)
    from strataml.cli.exits import run_alone
    from strataml.cli.run import EXAMPLES, run

    return run_alone(run, EXAMPLES, argv, "run")


def index_main(argv: list[str] | None = None) -> int:
    """`python tools/index.py`."""
    _as_program(argv)
    from strataml.cli.exits import run_alone
    from strataml.cli.index import INDEX_EXAMPLES, index

    return run_alone(index, INDEX_EXAMPLES, argv, "index")
