"""Command line: parse, call the library, print, exit. One module per command group.

The entry points import only what their program needs: `python tools/doctor.py` does not
load the other command groups.
"""


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

    return run_alone(doctor, EXAMPLES, argv, "doctor")


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
