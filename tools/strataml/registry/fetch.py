"""`strataml.fetch(REF)`: the local path of a version, handed out only once it verifies
(TFC-0005 R15). What a deployment loads; `strata model path REF` for shell scripts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from strataml import lfs
from strataml.doctor.intact import BYTES, NotIntactError, require_intact
from strataml.doctor.model import Diagnostic, Severity
from strataml.errors import StrataError
from strataml.refs import Reference
from strataml.registry.resolve import Resolution, resolve
from strataml.workspace import find_root

# The listing and its bytes, the documents, the signatures the policy asks for, LFS content
# (LFS002, content not pulled, is only a note to doctor but is never verified bytes here).
VERIFIED = (*BYTES, "SCH", "SIG", "LFS")


class FetchError(NotIntactError):
    """A version that does not verify; `code` is the first finding's, e.g. CHK005 or SIG001.
    `pull_failed` says why the LFS content could not be fetched, where that was tried."""

    def __init__(
        self, resolution: Resolution, found: Sequence[Diagnostic], *, pull_failed: str | None = None
    ) -> None:
        self.resolution = resolution
        self.code = found[0].code
        self.pull_failed = pull_failed
        super().__init__(f"{resolution.requested} ({resolution.ref.version})", found,
                         path=resolution.path)  # fmt: skip
        if pull_failed is not None:
            self.args = (f"{self.args[0]}; {pull_failed}",)


def fetch(reference: Reference | str, *, root: Path | None = None, pull: bool = True) -> Path:
    """The absolute path of the version `reference` names, after it verified; else raise.

    LFS content of that version alone is pulled first when missing and `pull` allows it."""
    where = find_root(root if root is not None else Path.cwd())
    resolution = resolve(reference, root=where)
    return verified(where, resolution, pull=pull)


def verified(root: Path, resolution: Resolution, *, pull: bool = True) -> Path:
    pull_failed = None
    if pull and any(s.state == "pointer" for s in lfs.file_states(root, [resolution.path])):
        try:
            lfs.pull(root, [resolution.path])
        except StrataError as exc:  # the content stays missing: the check below says so (LFS002)
            pull_failed = str(exc)
    try:
        require_intact(root, resolution.path, what=str(resolution.requested), select=VERIFIED,
                       worst=Severity.INFO)  # fmt: skip
    except NotIntactError as exc:
        raise FetchError(resolution, exc.diagnostics, pull_failed=pull_failed) from None
    return root / resolution.path
