from functools import cache
from importlib import import_module
from typing import Any


@cache
def tool_version() -> str:
    """The installed package's version (importlib.metadata is loaded only when this is asked)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("strataml")
    except PackageNotFoundError:  # running from a checkout without `pip install -e .`
        return "0.0.0+checkout"


# The public API, loaded on first use so that `import strataml` stays light: name -> module.
_API = {
    "fetch": "strataml.registry.fetch",
    "FetchError": "strataml.registry.fetch",
    "resolve": "strataml.registry.resolve",
    "ResolveError": "strataml.registry.resolve",
    "start_run": "strataml.runner.tracked",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return tool_version()
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'strataml' has no attribute {name!r}")
