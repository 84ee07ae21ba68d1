"""The code a run started from Python records: the script or notebook that called start_run
(TFC-0003 R17)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from strataml.confine import symlink_on_the_way
from strataml.integrity.digest import Digest
from strataml.runner.record import Origin
from strataml.safeopen import open_beneath
from strataml.tracking import TrackingError

NOTEBOOK_VARIABLES = ("JPY_SESSION_NAME",)  # set by Jupyter Server to the notebook's path
NOTEBOOK_GLOBALS = ("__vsc_ipynb_file__",)  # set by VS Code in the notebook's namespace


def find_origin(root: Path, code: str | os.PathLike[str] | None) -> Origin:
    """The script or notebook that starts the run: its repository path and bytes (TFC-0003 R17)."""
    path = Path(code) if code is not None else _running_code()
    if not path.is_absolute() and not path.exists() and (root / path).exists():
        path = root / path  # a path from the repository root (Jupyter's, or the caller's)
    rel = repository_path(
        root, path, "a run records its code, so the script or notebook must be in the repository"
    )
    try:
        data = _read_inside(root, rel)
    except OSError as exc:
        raise TrackingError(f"{rel}: cannot read the run's code: {exc.strerror or exc}") from exc
    kind = "notebook" if rel.endswith(".ipynb") else "script"
    return Origin(kind, rel, str(Digest.of(data)))


def repository_path(root: Path, path: str | os.PathLike[str], why: str, *, what: str = "") -> str:
    """`path` relative to the repository root, its links not resolved; TrackingError outside."""
    where = Path(os.path.abspath(path))  # noqa: PTH100 - resolve() follows the links we refuse
    try:
        return where.relative_to(root).as_posix()
    except ValueError:
        raise TrackingError(f"{what}{path}: outside the repository {root}; {why}") from None


def _running_code() -> Path:
    if "ipykernel" in sys.modules:  # a Jupyter kernel: __main__ is the kernel, not the notebook
        for variable in NOTEBOOK_VARIABLES:
            if value := os.environ.get(variable):
                return Path(value)
        for name in NOTEBOOK_GLOBALS:
            if isinstance(value := getattr(sys.modules.get("__main__"), name, None), str):
                return Path(value)
        raise TrackingError(
            "cannot tell which notebook is running: pass code='path/to/notebook.ipynb' to start_run"
        )
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if not isinstance(main, str):
        raise TrackingError(
            "no script is running (an interactive session): pass code='path/to/script.py' "
            "to start_run, naming the file that holds the run's code"
        )
    return Path(main)


def command_of(origin: Origin) -> list[str]:
    """How tools/run.py --reproduce runs it again; the code then joins that run."""
    if origin.kind == "notebook":
        return ["jupyter", "execute", origin.path]
    return ["python", origin.path]


def _read_inside(root: Path, rel: str) -> bytes:
    bad = symlink_on_the_way(root, root / rel)
    if bad is not None:
        raise TrackingError(f"{bad}: a symlink or outside the repository; give the real path")
    return _read_fd(open_beneath(root, rel))


def _read_fd(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise TrackingError("not a regular file")
        return handle.read()
