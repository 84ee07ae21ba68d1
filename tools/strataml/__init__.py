from functools import cache
from typing import Any


@cache
def tool_version() -> str:
    """The installed package's version (importlib.metadata is loaded only when this is asked)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("strataml")
    except PackageNotFoundError:  # running from a checkout without `pip install -e .`
        return "0.0.0+checkout"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return tool_version()
    if name == "start_run":  # the runner is loaded only when a run is started from Python
        from strataml.runner.tracked import start_run

        return start_run
    raise AttributeError(f"module 'strataml' has no attribute {name!r}")
