"""The run a dataset or model version is taken from: sealed, succeeded and intact, its chosen
outputs, and the pipeline stage it executed (TFC-0004 R12, TFC-0005 R17)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from strataml.doctor.intact import require_intact
from strataml.integrity.checksums import CHECKSUMS, parse_checksums
from strataml.integrity.tree import scan_tree
from strataml.registry.runrecord import RunRecord
from strataml.registry.runs import RunLookupError, resolve_run
from strataml.registry.store import RegistryError
from strataml.schemas import is_safe_relative_path


def succeeded_run(root: Path, text: str, *, makes: str) -> RunRecord:
    try:
        run = resolve_run(root, text)
    except RunLookupError as exc:
        raise RegistryError(f"--from-run: {exc}") from exc
    if run.status != "succeeded":
        raise RegistryError(
            f"--from-run: {run.run_id} {run.status}; only a succeeded run can produce {makes}"
        )
    return run


def sealed_run(root: Path, text: str, *, makes: str) -> RunRecord:
    """The run `text` names, once it succeeded, was sealed and still matches its CHECKSUMS.txt
    (a byte that changed since is CHK005, and nothing is written)."""
    run = succeeded_run(root, text, makes=makes)
    if not run.sealed:
        raise RegistryError(
            f"--from-run: {run.run_id} has no CHECKSUMS.txt; it never finished sealing"
        )
    require_intact(root, run.path, what="--from-run")
    return run


def run_outputs(
    root: Path, run: RunRecord, wanted: Sequence[str], *, option: str, reserved: Collection[str]
) -> list[str]:
    """The files under the run's artifacts/ that `wanted` names (a file, or a directory and
    all it holds), or all of them; relative to artifacts/, sorted."""
    outputs = root / run.path / "artifacts"
    files = list(scan_tree(outputs).files) if outputs.is_dir() else []
    if not wanted:
        if not files:
            raise RegistryError(f"{run.run_id} wrote no files under artifacts/; nothing to take")
        chosen = files
    else:
        chosen = []
        for path in wanted:
            rel = path.removeprefix("artifacts/")
            if not is_safe_relative_path(rel):
                raise RegistryError(
                    f"{option} {path!r}: not a relative path inside the run's artifacts/"
                )
            members = [f for f in files if f == rel or f.startswith(rel.rstrip("/") + "/")]
            if not members:
                raise RegistryError(f"{option} {path!r}: {run.path}/artifacts/{rel} does not exist")
            chosen += members
    for rel in chosen:
        if rel in reserved:
            raise RegistryError(
                f"{run.path}/artifacts/{rel}: {rel} is written by strata; take the other files"
            )
    return sorted(set(chosen))


def check_copies(root: Path, run: RunRecord, staged: Path, copied: dict[str, str]) -> None:
    """Each copy (its path in the staged version -> its path under the run's artifacts/), as the
    staged CHECKSUMS.txt lists it, is what the run's CHECKSUMS.txt lists: a file that changed
    between the check of the run and the copy is refused too, and nothing is published."""
    ours = parse_checksums((staged / CHECKSUMS).read_bytes()).digests()
    theirs = parse_checksums((root / run.path / CHECKSUMS).read_bytes()).digests()
    for rel, source in sorted(copied.items()):
        listed = theirs.get(f"artifacts/{source}")
        if ours.get(rel) != listed:
            raise RegistryError(
                f"--from-run: {run.path}/artifacts/{source}: CHK005 changed while it was copied "
                f"(blake3 {(ours.get(rel) or '')[:12]}…, the run's CHECKSUMS.txt says "
                f"{(listed or 'nothing')[:12]}…); nothing was written"
            )


def stage_link(run: RunRecord) -> dict[str, str] | None:
    """{pipeline, stage} for a run that executed a pipeline stage, as its config.yaml says."""
    link = run.config.get("pipeline")
    if not isinstance(link, dict):
        return None
    path, stage = link.get("path"), link.get("stage")
    if not isinstance(path, str) or not isinstance(stage, str):
        return None
    return {"pipeline": path, "stage": stage}
