from functools import cache


@cache
def tool_version() -> str:
    """The installed package's version (importlib.metadata is loaded only when this is asked)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("strataml")
    except PackageNotFoundError:  # running from a checkout without `pip install -e .`
        return "0.0.0+checkout"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return tool_version()
    raise AttributeError(f"module 'strataml' has no attribute {name!r}")
