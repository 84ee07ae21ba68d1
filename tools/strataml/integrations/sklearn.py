"""scikit-learn models in the skops format, never pickle (TFC-0005 R16):

    save_model(estimator, run.output_dir / "model.skops")
    model = load_model(path, trusted=["mypackage.MyTransformer"])

`load_model` asks skops which types in the file it does not trust by default and loads only
when every one of them is named in `trusted`: a file cannot bring a type nobody approved."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import skops.io

from strataml.errors import StrataError

SUFFIX = ".skops"


class UntrustedTypesError(StrataError):
    def __init__(self, path: Path, untrusted: Sequence[str]) -> None:
        self.untrusted = tuple(untrusted)
        super().__init__(
            f"{path}: holds types that are not trusted: {', '.join(self.untrusted)}; read the "
            "file's source, then pass the ones you trust as load_model(..., trusted=[...])"
        )


def save_model(estimator: Any, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.suffix != SUFFIX:
        raise StrataError(f"{target}: a skops file is named *{SUFFIX}")
    target.parent.mkdir(parents=True, exist_ok=True)
    skops.io.dump(estimator, target)
    return target


def load_model(path: str | os.PathLike[str], *, trusted: Sequence[str] = ()) -> Any:
    if isinstance(trusted, str):  # `name in "a.B"` would match any part of the text
        raise TypeError(f"trusted is a list of type names, not the string {trusted!r}")
    source = Path(path)
    untrusted = sorted(skops.io.get_untrusted_types(file=source))
    named = set(trusted)
    refused = [name for name in untrusted if name not in named]
    if refused:
        raise UntrustedTypesError(source, refused)
    # Only the types skops itself found and the caller named: never trusted=True.
    return skops.io.load(source, trusted=untrusted)
