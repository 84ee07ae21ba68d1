"""`strata bundle import`: verify everything first, then bring the bundle's refs in as ordinary
commits and its LFS objects into the local LFS store (TFC-0008 R14)."""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from strataml.atomic import open_atomic
from strataml.bundle.archive import iter_members
from strataml.bundle.history import lfs_object_path, lfs_objects_dir, toplevel
from strataml.bundle.manifest import Manifest, RefEntry, lfs_member
from strataml.bundle.problems import BundleError
from strataml.bundle.verify import Opened, open_bundle
from strataml.errors import StrataError, UsageError
from strataml.gitrepo import GitError, git_ok, run_git
from strataml.safeopen import LinkOnPathError, open_beneath


@dataclass(frozen=True, slots=True)
class RefUpdate:
    ref: str  # the local ref written
    old: str | None
    new: str
    action: str  # created, fast-forward, forced, unchanged


@dataclass(frozen=True, slots=True)
class Imported:
    root: Path
    updates: tuple[RefUpdate, ...]
    lfs_added: int
    lfs_present: int
    lfs_missing: int  # referenced, left out of the bundle
    checked_out: str | None  # the checked-out branch, whose working tree now shows the import
    lfs_installed: bool  # `git lfs install --local` was needed for the checkout

    def text(self) -> str:
        """What the import did: each ref, the LFS objects, and whether it was checked out."""
        lines = []
        for update in self.updates:
            was = f" (was {update.old[:12]})" if update.old and update.action != "unchanged" else ""
            lines.append(f"{update.ref}: {update.action} {update.new[:12]}{was}")
        missing = f", {self.lfs_missing} not in the bundle" if self.lfs_missing else ""
        lines.append(
            f"LFS: {self.lfs_added} objects added, {self.lfs_present} already present{missing}"
        )
        if self.lfs_installed:
            lines.append("configured Git LFS for this repository (git lfs install --local)")
        if self.checked_out is None:
            lines.append(f"not checked out; check it with: {self.check_command}")
        else:
            lines.append(f"checked out {self.checked_out}; doctor:")
        return "\n".join(lines) + "\n"

    @property
    def check_command(self) -> str:
        """What to run to validate an import that was not checked out."""
        branches = [
            u.ref.removeprefix("refs/heads/")
            for u in self.updates
            if u.ref.startswith("refs/heads/")
        ]
        switch = f"git switch {branches[0]} && " if branches else ""
        return f"{switch}python tools/doctor.py --strict --require-content"


def import_bundle(
    path: Path, start: Path, *, branch: str | None = None, force: bool = False
) -> Imported:
    root = toplevel(start)
    with open_bundle(path, root) as opened:
        if opened.problems or opened.manifest is None:
            first, more = opened.problems[0], len(opened.problems) - 1
            note = f" (and {more} more: strata bundle verify lists them)" if more else ""
            raise BundleError(first.code, first.member, f"{first.message}{note}; nothing imported")
        manifest = opened.manifest
        updates = _plan(root, opened.scratch, manifest, branch, force)
        head = git_ok(root, "symbolic-ref", "-q", "HEAD")
        checkout = next((u for u in updates if u.ref == head and u.action != "unchanged"), None)
        needs_lfs = bool(manifest.lfs or manifest.lfs_missing) and checkout is not None
        if needs_lfs and shutil.which("git-lfs") is None:
            raise StrataError("git-lfs is not installed; install it (e.g. apt-get install git-lfs)")
        if checkout is not None:
            _check_checkout(root, checkout, opened.scratch)
        # Everything is proven; from here on the repository changes.
        added, present = _place_lfs(root, opened)
        assert opened.contents.git_bundle is not None
        sources = sorted({r.name for r in manifest.refs})
        run_git(
            root,
            "fetch",
            "-q",
            "--no-tags",
            "--no-write-fetch-head",
            str(opened.contents.git_bundle),
            *sources,
        )
        changed = [u for u in updates if u.action != "unchanged"]
        if changed:
            # The old value guards each update; all zeros: the ref must still not exist.
            script = "".join(
                f"update {u.ref} {u.new} {u.old or '0' * len(u.new)}\n" for u in changed
            )
            run_git(
                root,
                "update-ref",
                "-m",
                f"strata bundle import {path.name}",
                "--stdin",
                stdin=f"start\n{script}commit\n".encode(),
            )
        installed = False
        if checkout is not None:
            if needs_lfs and git_ok(root, "config", "--get", "filter.lfs.process") is None:
                run_git(root, "lfs", "install", "--local")
                installed = True
            # Skip the smudge filter, which would ask a remote for an object the bundle left
            # out; `git lfs checkout` then fills in what the local store holds.
            trees = [*([checkout.old] if checkout.old else []), checkout.new]
            run_git(root, "read-tree", "-m", "-u", *trees, env={"GIT_LFS_SKIP_SMUDGE": "1"})
            if needs_lfs:
                run_git(root, "lfs", "checkout")
    return Imported(
        root, tuple(updates), added, present, len(manifest.lfs_missing),
        checkout.ref.removeprefix("refs/heads/") if checkout else None, installed,
    )  # fmt: skip


def _plan(
    root: Path, scratch: Path, manifest: Manifest, branch: str | None, force: bool
) -> list[RefUpdate]:
    branches = [r for r in manifest.refs if r.name.startswith("refs/heads/")]
    if branch is not None and len(branches) != 1:
        raise UsageError(
            f"--branch needs a bundle holding one branch; this one holds {len(branches)}"
        )
    updates = []
    for ref in manifest.refs:
        local = f"refs/heads/{branch}" if branch is not None and ref in branches else ref.name
        if git_ok(root, "check-ref-format", local) is None:
            raise BundleError("bundle-refs", local, "is not a valid Git ref name")
        old = git_ok(root, "rev-parse", "--verify", "-q", local) or None
        updates.append(RefUpdate(local, old, ref.object, _action(scratch, local, old, ref, force)))
    return updates


def _action(scratch: Path, local: str, old: str | None, ref: RefEntry, force: bool) -> str:
    if old is None:
        return "created"
    if old == ref.object:
        return "unchanged"
    if local.startswith("refs/heads/") and _is_ancestor(scratch, old, ref.commit):
        return "fast-forward"
    if force:
        return "forced"
    if local.startswith("refs/tags/"):
        detail = (
            f"exists at {old[:12]}, the bundle's points at {ref.object[:12]}; --force replaces it"
        )
    else:
        detail = (
            f"the local {old[:12]} is not an ancestor of the bundle's {ref.commit[:12]}; "
            "import it under another name with --branch NAME, or overwrite it with --force"
        )
    raise BundleError("bundle-diverged", local, detail)


def _is_ancestor(scratch: Path, old: str, new: str) -> bool:
    return git_ok(scratch, "merge-base", "--is-ancestor", old, new) is not None


def _check_checkout(root: Path, update: RefUpdate, scratch: Path) -> None:
    """The checked-out branch moves only with its working tree, and only over a clean one."""
    name = update.ref.removeprefix("refs/heads/")
    if update.old is None:
        if run_git(root, "ls-files"):
            raise StrataError(
                f"{name} is checked out with no commits but files are staged; "
                "unstage them, or import with --branch NAME"
            )
    elif run_git(root, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"):
        raise StrataError(
            f"{name} is checked out and has uncommitted changes; "
            "commit or stash them, or import with --branch NAME"
        )
    # The new commits are not here yet: let git read them from the scratch repository.
    seen = {"GIT_ALTERNATE_OBJECT_DIRECTORIES": str(scratch / "objects")}
    try:
        old = [update.old] if update.old else []
        run_git(root, "read-tree", "-m", "-u", "-n", *old, update.new, env=seen)
    except GitError as exc:
        detail = " ".join(exc.stderr.replace("error: ", "").split())
        raise StrataError(
            f"{name} is checked out and cannot move to the bundle's commit: {detail[:300]}"
        ) from exc


def _stored_size(store: Path, target: Path) -> int | None:
    """The size of an object in the LFS store, None if absent; the store's own location is the
    user's, but a symlink below it is never followed, to read or to write (TFC-0008 R14)."""
    try:
        fd = open_beneath(store, target.relative_to(store).as_posix())
    except LinkOnPathError as exc:
        raise StrataError(
            f"{store / exc.component}: a symlink in the LFS store, which is never followed; "
            "nothing imported"
        ) from exc
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _place_lfs(root: Path, opened: Opened) -> tuple[int, int]:
    """(added, already present) LFS objects; each is re-hashed as it is copied, and must match."""
    assert opened.manifest is not None
    store = lfs_objects_dir(root)
    wanted = {}
    present = 0
    for entry in opened.manifest.lfs:
        target = lfs_object_path(store, entry.oid)
        if _stored_size(store, target) == entry.size:
            present += 1
        else:
            wanted[lfs_member(entry.oid)] = (entry, target)
    for name, reader in iter_members(opened.path, set(wanted)):
        entry, target = wanted[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        with open_atomic(target) as sink:
            got = reader.drain(sink)
            if got.sha256 != entry.oid:
                raise BundleError(
                    "bundle-lfs", name, f"changed while it was imported: sha256 is {got.sha256}"
                )
    return len(wanted), present
