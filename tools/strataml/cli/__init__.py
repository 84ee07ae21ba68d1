"""Command line: parse, call the library, print, exit. One module per command group.

The entry points import only what their program needs: `python tools/doctor.py` does not
load the other command groups.
"""


def main(argv: list[str] | None = None) -> int:
    """`strata` (pyproject's console script and `python -m strataml`)."""
    from strataml.cli.app import main as strata

    return strata(argv)


def doctor_main(argv: list[str] | None = None) -> int:
    """`python tools/doctor.py`."""
    from strataml.cli.doctor import EXAMPLES, doctor
    from strataml.cli.exits import run_alone

    return run_alone(doctor, EXAMPLES, argv, "doctor")


def run_main(argv: list[str] | None = None) -> int:
    """`python tools/run.py`."""
    from strataml.cli.exits import run_alone
    from strataml.cli.run import EXAMPLES, run

    return run_alone(run, EXAMPLES, argv, "run")


def index_main(argv: list[str] | None = None) -> int:
    """`python tools/index.py`."""
    from strataml.cli.exits import run_alone
    from strataml.cli.index import INDEX_EXAMPLES, index

    return run_alone(index, INDEX_EXAMPLES, argv, "index")
