from functools import cache
from importlib import import_module
from typing import Any

# Public names loaded on first use, so that `import strataml` stays light: name -> its module.
_LAZY = {
    "start_run": "strataml.runner.tracked",
}


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
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'strataml' has no attribute {name!r}")
