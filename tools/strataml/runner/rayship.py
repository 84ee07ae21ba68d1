"""What travels between the driver and a Ray task (TFC-0002 R26, R27): the files a run needs,
packed by the driver, and the sealed run the task returns, which the driver treats as hostile:
every member a plain file or directory of one run, every byte as its CHECKSUMS.txt lists it,
then placed under runs/ in one rename."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from strataml.atomic import place_directory
from strataml.errors import StrataError
from strataml.integrity.checksums import CHECKSUMS, EXCLUDED, parse_checksums
from strataml.integrity.hashing import hash_bytes, hash_file
from strataml.refs import is_run_id
from strataml.runner import rundir
from strataml.runner.fingerprint import code_files
from strataml.runner.record import PlannedRun
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES, parse_yaml

INCOMING = Path(".strata") / "ray"
SEALED = frozenset({"succeeded", "failed", "interrupted"})
# Names Git itself acts on wherever they are: a repository (whose config runs commands), and
# files that change how Git reads, hides or checks out what sits beside them.
_GIT_OWN = frozenset({".git", ".gitattributes", ".gitignore", ".gitmodules"})


class RefusedError(StrataError):
    """A returned run the driver will not place (TFC-0002 R27); nothing is under runs/."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"[{code}] {message}")


def pack(root: Path, paths: list[str]) -> bytes:
    """A tar of these repository-relative files and directories, as they are now."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in paths:
            tar.add(root / path, arcname=path, recursive=True)
    return buffer.getvalue()


def code_paths(root: Path) -> list[str]:
    return list(code_files(root))


def input_paths(planned: PlannedRun) -> list[str]:
    """The pinned input versions the driver verified (R4), and a stage's upstream outputs."""
    paths = [resolved.path for resolved in planned.inputs.values()]
    if planned.stage is not None:
        paths += [
            f"{rundir.RUNS}/{up.run_id}/{rundir.ARTIFACTS}/{up.output}"
            for up in planned.stage.upstream.values()
        ]
    return sorted(set(paths))


def unpack(parts: list[tuple[bytes, str]], scratch: Path) -> None:
    """On the worker: each part checked against the digest the driver sent, then extracted with
    tarfile's `data` filter (no absolute path, no `..`, no link out of `scratch`)."""
    for data, digest in parts:
        if hash_bytes(data) != digest:
            raise StrataError(
                "[ray-payload-mismatch] the files the driver sent arrived changed "
                "(hint: run the sweep again)"
            )
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            tar.extractall(scratch, filter="data")


def pack_run(run_dir: Path) -> bytes:
    """On the worker: the sealed run directory as a tar whose members start with its id."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(run_dir, arcname=run_dir.name, recursive=True)
    return buffer.getvalue()


def place_returned(
    root: Path, archive: bytes, *, task_id: str | None = None, fingerprint: str | None = None
) -> str:
    """Verify a returned run (the run of `task_id`, computing `fingerprint`, when given) and place
    it at runs/<id>/, or raise RefusedError having placed nothing; the run's id."""
    staging = staging_directory(root, "incoming")
    try:
        run_id = _extract(archive, staging)
        system = _verify(staging / run_id, run_id)
        _verify_identity(staging / run_id, run_id, system, task_id, fingerprint)
        staging.joinpath(run_id).chmod(0o755)
        try:
            place_directory(staging / run_id, root / rundir.RUNS / run_id)
        except FileExistsError:
            raise RefusedError(
                "ray-run-exists",
                f"{rundir.RUNS}/{run_id} exists already: the returned run is not placed",
            ) from None
        return run_id
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def staging_directory(root: Path, kind: str) -> Path:
    """A new directory under .strata/ray/ named by this driver's pid (see sweep_staging)."""
    incoming = root / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=incoming, prefix=f"{kind}-{os.getpid()}-"))


_STAGING = re.compile(r"(?:incoming|lost)-([0-9]+)-.+")


def sweep_staging(root: Path) -> None:
    """Remove what a driver killed mid-placement left under .strata/ray/: directories whose
    driver is gone; those of a live driver (or a reused pid) stay (TFC-0002 R27)."""
    try:
        entries = list(os.scandir(root / INCOMING))
    except OSError:
        return
    for entry in entries:
        found = _STAGING.fullmatch(entry.name)
        if found is None or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            os.kill(int(found[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except (PermissionError, OverflowError):
            pass  # alive, someone else's; or no pid at all


def _extract(archive: bytes, staging: Path) -> str:
    """Plain files and directories under one run id, written by hand (no tarfile extraction)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            return _extract_members(tar, staging)
    except (tarfile.TarError, OSError) as exc:  # not a tar; a file where a directory goes
        raise RefusedError(
            "ray-archive-unreadable", f"the returned run cannot be unpacked: {exc}"
        ) from None


def _extract_members(tar: tarfile.TarFile, staging: Path) -> str:
    ids = set()
    seen = set()
    members = tar.getmembers()
    for member in members:
        # A sparse member's holes would be written out whole: bytes the archive never held. (A
        # plain member's data is in the archive, or tarfile cannot read past it: unreadable.)
        if member.issparse():
            raise RefusedError(
                "ray-archive-unsafe", f"returned member {member.name!r} is a sparse file"
            )
    for member in members:
        parts = _parts(member.name)
        if not (member.isfile() or member.isdir()):
            what = (
                "a symlink" if member.issym() else "a hard link" if member.islnk()
                else "a device or fifo"
            )  # fmt: skip
            raise RefusedError(
                "ray-archive-unsafe",
                f"returned member {member.name!r} is {what}; a run holds regular files only",
            )
        name = "/".join(parts)
        if name in seen:
            raise RefusedError(
                "ray-archive-unsafe", f"returned member {member.name!r} appears twice"
            )
        seen.add(name)
        ids.add(parts[0])
        if len(ids) > 1 or not is_run_id(parts[0]):
            raise RefusedError(
                "ray-archive-unsafe",
                f"returned member {member.name!r} is not under one run directory",
            )
        target = staging.joinpath(*parts)
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        assert source is not None  # a regular file
        with source, target.open("xb") as out:
            shutil.copyfileobj(source, out)
    if not ids:
        raise RefusedError("ray-archive-unsafe", "the returned archive holds no run")
    return ids.pop()


def _parts(name: str) -> tuple[str, ...]:
    path = PurePosixPath(name)
    parts = tuple(p for p in path.parts if p != ".")
    if path.is_absolute() or not parts or any(p in ("..", "") or "\\" in p for p in parts):
        raise RefusedError(
            "ray-archive-unsafe", f"returned member {name!r} is not a plain relative path"
        )
    if any(p.casefold() in _GIT_OWN for p in parts):
        raise RefusedError(
            "ray-archive-unsafe",
            f"returned member {name!r} is Git's own; a run holds no Git files (they would run "
            "commands or hide the run from Git once placed)",
        )
    return parts


def _verify(run_dir: Path, run_id: str) -> object:
    """Every file listed with its digest in CHECKSUMS.txt, nothing else, and the run sealed;
    its system.json as parsed."""
    listing = run_dir / CHECKSUMS
    if not listing.is_file():
        raise RefusedError("ray-archive-unsealed", f"returned run {run_id} has no {CHECKSUMS}")
    checksums = parse_checksums(listing.read_bytes())
    if checksums.problems:
        raise RefusedError(
            "ray-archive-mismatch", f"returned run {run_id}: {CHECKSUMS} does not parse"
        )
    listed = checksums.digests()
    found = {
        p.relative_to(run_dir).as_posix(): p for p in sorted(run_dir.rglob("*")) if p.is_file()
    }
    for path, file in found.items():
        if path in EXCLUDED:
            continue
        if path not in listed:
            raise RefusedError(
                "ray-archive-mismatch", f"returned run {run_id}: {path} is not in {CHECKSUMS}"
            )
        if hash_file(file) != listed[path]:  # read in chunks, never whole
            raise RefusedError(
                "ray-archive-mismatch",
                f"returned run {run_id}: {path} differs from its {CHECKSUMS} digest",
            )
    missing = sorted(set(listed) - set(found))
    if missing:
        raise RefusedError(
            "ray-archive-mismatch", f"returned run {run_id}: {missing[0]} is listed but missing"
        )
    try:
        system: object = json.loads((run_dir / rundir.SYSTEM).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # deep nesting: a refusal, not a traceback
        system = None
    status = system.get("status") if isinstance(system, dict) else None
    if not isinstance(status, str) or status not in SEALED:
        shown = status if isinstance(status, str) else None
        raise RefusedError(
            "ray-archive-unsealed", f"returned run {run_id} is not sealed (status {shown!r})"
        )
    return system


def _verify_identity(
    run_dir: Path, run_id: str, system: object, task_id: str | None, fingerprint: str | None
) -> None:
    """The run the driver asked this task for, not another one (R27)."""
    executor = system.get("executor") if isinstance(system, dict) else None
    if task_id is not None and (
        not isinstance(executor, dict) or executor.get("task_id") != task_id
    ):
        raise RefusedError(
            "ray-archive-mismatch", f"returned run {run_id} is not the run of task {task_id}"
        )
    if fingerprint is None:
        return
    try:
        config = parse_yaml(read_regular(run_dir / rundir.CONFIG, MAX_BYTES + 1)).data
    except (OSError, StrataError):
        config = None
    if not isinstance(config, dict) or config.get("fingerprint") != fingerprint:
        raise RefusedError(
            "ray-archive-mismatch",
            f"returned run {run_id} does not record the fingerprint of the point it was sent",
        )
