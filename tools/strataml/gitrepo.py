"""The only module that imports git (GitPython)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from strataml.errors import StrataError

if TYPE_CHECKING:
    import git


def _gitpython() -> Any:
    """GitPython, imported when first needed (doctor's common path needs only the git binary).
    Without a git binary GitPython refuses to import; we degrade instead (no Git facts)."""
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    import git

    return git


class GitError(StrataError):
    """A git command that exited with a code its caller did not expect; stderr kept whole."""

    def __init__(self, args: tuple[str, ...], returncode: int, stderr: str, stdout: bytes) -> None:
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout  # git lfs says some of its errors there
        super().__init__(f"git {_subcommand(args)} failed: {' '.join(stderr.split())[:400]}")


def _subcommand(args: tuple[str, ...]) -> str:
    """`log` in `git -c log.showRoot=true log …`: what a message names."""
    at = 0
    while at < len(args) - 1 and args[at].startswith("-"):
        at += 2 if args[at] in ("-c", "-C") else 1
    return args[min(at, len(args) - 1)]


def _merged(env: Mapping[str, str | None] | None) -> dict[str, str] | None:
    """This process's environment with `env` laid over it (a None value removes that variable);
    None (inherit as is) when there is nothing to add."""
    if not env:
        return None
    return {k: v for k, v in {**os.environ, **env}.items() if v is not None}


def run_git(
    cwd: Path, *args: str, stdin: bytes | None = None, env: Mapping[str, str | None] | None = None,
    ok: tuple[int, ...] = (0,),
) -> bytes:  # fmt: skip
    """Every git process the library waits for at once (outside GitPython; `start_git` starts
    those left running): a fixed argv, stdout as bytes, GitError on any exit code not in `ok`.
    `env` adds to the environment; a None value removes that variable."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False, env=_merged(env),
    )  # fmt: skip
    if done.returncode not in ok:
        raise GitError(args, done.returncode, done.stderr.decode(errors="replace"), done.stdout)
    return done.stdout


# A git process left running (a long-lived `cat-file`, a `check-attr` answering in the background).
GitProcess = subprocess.Popen[bytes]


def start_git(
    cwd: Path, *args: str, stdin: BinaryIO | int | None = None, stdout: BinaryIO | None = None,
    env: Mapping[str, str | None] | None = None,
) -> GitProcess:  # fmt: skip
    """A git process started and left running: its input and output the files given (stdin may
    be `subprocess.DEVNULL`), or pipes to this process where None; what it says on stderr
    dropped. The caller waits for it."""
    return subprocess.Popen(
        ["git", *args], cwd=cwd, env=_merged(env), stderr=subprocess.DEVNULL,
        stdin=subprocess.PIPE if stdin is None else stdin,
        stdout=subprocess.PIPE if stdout is None else stdout,
    )  # fmt: skip


def git_ok(cwd: Path, *args: str, env: Mapping[str, str | None] | None = None) -> str | None:
    """stdout without surrounding whitespace; None when git says no (a ref that is not there)."""
    try:
        return run_git(cwd, *args, env=env).decode(errors="surrogateescape").strip()
    except GitError:
        return None


def in_work_tree(root: Path) -> bool:
    """Is `root` inside a Git work tree (a `.git` directory or file at or above it)?"""
    here = root.resolve()
    return any((candidate / ".git").exists() for candidate in (here, *here.parents))


_OBJECT_NAME = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def is_object_name(text: str) -> bool:
    """A full object name: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits."""
    return _OBJECT_NAME.fullmatch(text) is not None


def open_repository(root: Path) -> git.Repo | None:
    if not in_work_tree(root):
        return None
    gitpython = _gitpython()
    try:
        return gitpython.Repo(root, search_parent_directories=True)  # type: ignore[no-any-return]
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
        return None


def ignored(root: Path, names: Iterable[str]) -> set[str]:
    """Which of `names` (relative to `root`) Git ignores; none outside a Git work tree."""
    candidates = sorted(set(names))
    if not candidates:  # the common case: nothing to ask, so GitPython is not even imported
        return set()
    repo = open_repository(root)
    if repo is None:
        return set()
    git = _gitpython()
    absolute = {str(root / name): name for name in candidates}
    try:
        out = repo.git.check_ignore(*absolute)
    except git.GitCommandError as exc:
        if exc.status == 1:  # exit 1: none of them is ignored
            return set()
        raise
    except git.GitCommandNotFound:
        return set()
    return {absolute[line] for line in str(out).splitlines() if line in absolute}


def split_batch(raw: bytes) -> dict[str, bytes]:
    """Object id -> content, from the output of `git cat-file --batch`."""
    contents, at = {}, 0
    while at < len(raw):
        header_end = raw.index(b"\n", at)
        sha, _, size = raw[at:header_end].decode().split()
        start = header_end + 1
        contents[sha] = raw[start : start + int(size)]
        at = start + int(size) + 1
    return contents


# Code is everything Git sees outside the artifact trees (TFC-0002 R10).
ARTIFACT_TREES = ("datasets", "models", "runs")


def zpaths(raw: bytes) -> list[str]:
    """The paths of git's `-z` output."""
    return [p.decode("utf-8", "surrogateescape") for p in raw.split(b"\0") if p]


@dataclass(frozen=True, slots=True)
class CommitPresence:
    present: frozenset[str]  # the asked-for commits this repository holds
    shallow: bool  # a shallow clone lacks old history, so absence proves nothing


def commits_present(root: Path, shas: Iterable[str]) -> CommitPresence | None:
    """Which of `shas` (hex object names) are commits in this repository; None outside Git."""
    if not in_work_tree(root) or shutil.which("git") is None:
        return None
    asked = sorted({sha for sha in shas if is_object_name(sha)})
    shallow = git_ok(root, "rev-parse", "--is-shallow-repository") == "true"
    found: set[str] = set()
    if asked:
        stdin = "".join(f"{sha}^{{commit}}\n" for sha in asked).encode()
        out = _git(root, "cat-file", "--batch-check=%(objectname) %(objecttype)", stdin=stdin)
        found = {line.split()[0] for line in out.splitlines() if line.endswith(" commit")}
    return CommitPresence(frozenset(sha for sha in asked if sha in found), shallow)


def user_identity(root: Path) -> str | None:
    """`Name <email>` from Git's configuration (GIT_AUTHOR_* win, as for a commit); None if unset."""
    name = os.environ.get("GIT_AUTHOR_NAME")
    email = os.environ.get("GIT_AUTHOR_EMAIL")
    repo = open_repository(root)
    if repo is not None and (name is None or email is None):
        reader = repo.config_reader()
        name = name or str(reader.get_value("user", "name", "")) or None
        email = email or str(reader.get_value("user", "email", "")) or None
    if not name:
        return None
    return f"{name} <{email}>" if email else name


def _git(root: Path, *args: str, stdin: bytes | None = None) -> str:
    return run_git(root, *args, stdin=stdin).decode(errors="surrogateescape")


def file_commits(root: Path, path: str) -> list[tuple[str, int]]:
    """(commit, committer time) of every commit reachable from HEAD that changed `path`, newest first."""
    if not in_work_tree(root):
        return []
    if not _git(root, "rev-parse", "--verify", "-q", "HEAD^{commit}").strip():
        return []
    out = _git(root, "log", "--format=%H %ct", "--", path)
    return [(sha, int(when)) for sha, when in (line.split() for line in out.splitlines())]


def file_at(root: Path, commit: str, path: str) -> bytes | None:
    """The bytes of `path` as of `commit`; None where it did not exist."""
    try:
        return run_git(root, "show", f"{commit}:{path}")
    except GitError:
        return None


def tree_files(root: Path, commit: str, path: str) -> list[str]:
    """Files under directory `path` as of `commit` (repo-relative), [] where it did not exist."""
    try:
        return zpaths(run_git(root, "ls-tree", "-r", "-z", "--name-only", commit, "--", f"{path}/"))
    except GitError:
        return []


def commit_paths(root: Path, paths: Iterable[str], message: str) -> str:
    """Stage exactly `paths` and commit them (nothing else that is staged); the new commit id."""
    listed = sorted(set(paths))
    _git(root, "add", "--", *listed)
    _git(root, "commit", "-q", "-m", message, "--only", "--", *listed)
    return _git(root, "rev-parse", "HEAD").strip()


def not_committed(root: Path, paths: Iterable[str]) -> list[str]:
    """Those of `paths` (files or directories) that HEAD lacks, or under which the index or the
    work tree differ from HEAD (untracked files included): what a clone would not get as is."""
    listed = sorted(set(paths))
    if not listed:
        return []
    if head_commit(root) is None:
        return listed
    held = set(_git(root, "ls-tree", "-z", "--name-only", "HEAD", "--", *listed).split("\0"))
    status = _git(
        root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--",
        *listed,
    )  # fmt: skip
    changed = [entry[3:] for entry in status.split("\0") if len(entry) > 3]
    return [
        p for p in listed
        if p not in held or any(c == p or c.startswith(f"{p}/") for c in changed)
    ]  # fmt: skip


# (status, path) of each uncommitted change, or None where `git status` failed: asked when needed.
Uncommitted = Callable[[], list[tuple[str, str]] | None]


def uncommitted_later(root: Path, trees: Iterable[str] | None = None) -> Uncommitted:
    """(status, path) of uncommitted changes under `trees`, or in the whole work tree where None,
    untracked files included: `git status` starts now, in the background; the function returned
    waits for its answer. The whole tree is asked with no pathspec, the only status Git's
    untracked cache serves (TFC-0006 R20)."""
    if not in_work_tree(root) or shutil.which("git") is None:
        return lambda: None
    status = ("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
    if trees is None:
        process = start_git(root, *_untracked_cache(root), *status, stdin=subprocess.DEVNULL)
    else:
        process = start_git(root, *status, "--", *trees, stdin=subprocess.DEVNULL)

    @functools.cache
    def wait() -> list[tuple[str, str]] | None:
        out, _ = process.communicate()
        if process.returncode != 0:
            return None
        return [
            (entry[:2].decode().strip(), entry[3:].decode("utf-8", "surrogateescape"))
            for entry in out.split(b"\0")
            if len(entry) > 3
        ]

    return wait


def _untracked_cache(root: Path) -> tuple[str, ...]:
    """Git's options that keep its untracked cache (in the index) for `--untracked-files=all`,
    so that a whole-tree status looks again only into directories whose mtime moved; none where
    the repository's configuration turns the cache off (a file system whose directory mtimes
    cannot be trusted). Git checks the cache's directories' stat data itself, racy ones included."""
    setting = git_ok(root, "config", "--get", "core.untrackedCache")  # None: not set
    if setting is not None and setting.lower() in ("false", "no", "off", "0", ""):
        return ()
    return ("-c", "core.untrackedCache=true", "-c", "status.showUntrackedFiles=all")


def changed_since(root: Path, ref: str, uncommitted: Uncommitted) -> list[str]:
    """Every repo-relative path with a change since `ref`: committed, staged, unstaged, deleted
    or untracked (doctor widens them to the artifacts they govern, as for --files). The commits
    are a diff of two trees; the rest is `uncommitted`, doctor's one `git status` of the whole
    work tree (where it failed, the work tree is compared with `ref` directly)."""
    if not in_work_tree(root):
        raise StrataError("--since needs a Git work tree")
    if resolve_commit(root, ref) is None:
        raise StrataError(f"--since {ref!r}: no such commit")
    top = ":(top)"
    status = uncommitted()
    if status is not None:
        committed = _git(root, "diff", "--name-only", "-z", "--no-renames", ref, "HEAD", "--", top)
        return sorted({*filter(None, committed.split("\0")), *(path for _, path in status)})
    paths = _git(root, "diff", "--name-only", "-z", "--no-renames", ref, "--", top).split("\0")
    paths += _git(root, "ls-files", "-o", "--exclude-standard", "-z", "--", top).split("\0")
    return sorted(set(filter(None, paths)))


def deleted_since_head(root: Path) -> list[str]:
    """Files under `root` deleted since HEAD, staged or not; none outside Git or before a commit."""
    if head_commit(root) is None:
        return []
    try:
        out = run_git(
            root, "diff", "--relative", "--name-only", "--no-renames", "--diff-filter=D", "-z",
            "HEAD", "--",
        )  # fmt: skip
    except GitError:
        return []
    return zpaths(out)


def head_commit(root: Path) -> str | None:
    """HEAD's commit id; None outside Git or before the first commit."""
    if not in_work_tree(root) or shutil.which("git") is None:
        return None
    return git_ok(root, "rev-parse", "--verify", "-q", "HEAD^{commit}") or None


def quiet_git(
    root: Path, *args: str, stdin: bytes | None = None, ok: tuple[int, ...] = (0,),
    env: Mapping[str, str | None] | None = None,
) -> bytes | None:  # fmt: skip
    """A read-only git call that takes no optional locks; None when it fails."""
    try:
        return run_git(
            root, *args, stdin=stdin, env={"GIT_OPTIONAL_LOCKS": "0", **(env or {})}, ok=ok
        )
    except GitError:
        return None


def quiet_git_later(root: Path, *args: str) -> Callable[[], bytes | None]:
    """`quiet_git`, started now: git answers while the caller works. The function returned waits
    for its output, once; None where git failed."""
    process = start_git(root, *args, stdin=subprocess.DEVNULL, env={"GIT_OPTIONAL_LOCKS": "0"})

    @functools.cache
    def wait() -> bytes | None:
        out, _ = process.communicate()
        return out if process.returncode == 0 else None

    return wait


def resolve_commit(root: Path, ref: str) -> str | None:
    """The commit `ref` names; None when it names none (or looks like an option)."""
    if ref.startswith("-") or not in_work_tree(root):
        return None
    return git_ok(root, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}") or None


def files_at(
    root: Path, commit: str, paths: Iterable[str], *, env: Mapping[str, str | None] | None = None
) -> dict[str, bytes]:
    """Repo-relative path -> bytes of every file at or under `paths` as of `commit`: one
    `ls-tree` and one `cat-file --batch`, whatever their number. Symlinks and submodules are
    left out: a rule is a regular file."""
    listed = quiet_git(root, "ls-tree", "-r", "-z", commit, "--", *paths, env=env)
    blobs: dict[str, str] = {}
    for entry in (listed or b"").split(b"\0"):
        if entry:
            meta, path = entry.split(b"\t", 1)
            mode, kind, blob = meta.decode().split()
            if kind == "blob" and mode in {"100644", "100755"}:
                blobs[path.decode("utf-8", "surrogateescape")] = blob
    if not blobs:
        return {}
    stdin = "".join(f"{blob}\n" for blob in sorted(set(blobs.values()))).encode()
    contents = split_batch(quiet_git(root, "cat-file", "--batch", stdin=stdin, env=env) or b"")
    return {path: contents[blob] for path, blob in blobs.items() if blob in contents}
