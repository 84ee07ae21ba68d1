from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("strataml")
except PackageNotFoundError:  # running from a checkout without `pip install -e .`
    __version__ = "0.0.0+checkout"
