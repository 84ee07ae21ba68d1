"""The code state a run records (TFC-0002 R10, R30): what Git says about the code, and the tree
hash, which takes a code file's digest from the hash cache only under its exact stat key."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conftest import commit_all, git, settle
from strataml.gitcode import code_snapshot
from strataml.integrity.cache import CACHE_DIR, CACHE_FILE
from strataml.integrity.checksums import content_hash
from strataml.integrity.hashing import hash_bytes
from strataml.runner.fingerprint import code_state


def fresh_tree_hash(root: Path) -> str:
    """The tree hash worked out apart from the runner: every tracked or untracked, not ignored
    file outside the artifact trees, hashed whole (a link as its target text)."""
    listed = git(root, "ls-files", "-co", "--exclude-standard", "-z").split("\0")
    digests = {}
    for path in filter(None, listed):
        if path.split("/")[0] in ("datasets", "models", "runs"):
            continue
        full = root / path
        if full.is_symlink():
            digests[path] = hash_bytes(str(full.readlink()).encode())
        elif full.is_file():
            digests[path] = hash_bytes(full.read_bytes())
    return content_hash(digests)


def kept_rows(root: Path) -> int:
    with closing(sqlite3.connect(root / CACHE_DIR / CACHE_FILE)) as db:
        return int(
            db.execute("SELECT count(*) FROM record WHERE name = 'code-files'").fetchone()[0]
        )


def test_the_kept_digests_give_the_tree_hash_a_fresh_read_gives(template: Path) -> None:
    (template / "notes").mkdir()
    (template / "notes" / "todo.txt").write_text("untracked code\n")
    (template / "link.py").symlink_to("experiments/train.py")
    settle(template)
    first = code_state(template)
    assert first.tree_hash == fresh_tree_hash(template)
    assert kept_rows(template) == 1
    assert code_state(template).tree_hash == first.tree_hash  # from the kept digests
    # Same size, new bytes: the stat key moved (ctime at least), so the file is read again.
    script = template / "experiments" / "train.py"
    script.write_bytes(script.read_bytes().replace(b"import", b"IMPORT", 1))
    edited = code_state(template)
    assert edited.tree_hash == fresh_tree_hash(template) != first.tree_hash


@pytest.mark.parametrize(
    "damage", [b"not marshal", b"0" * 64 + b"\x00garbage", b""], ids=["junk", "bad-seal", "empty"]
)
def test_a_damaged_record_is_a_miss(template: Path, damage: bytes) -> None:
    settle(template)
    expected = code_state(template).tree_hash
    with closing(sqlite3.connect(template / CACHE_DIR / CACHE_FILE)) as db:
        db.execute("UPDATE record SET value = ? WHERE name = 'code-files'", (damage,))
        db.commit()
    assert code_state(template).tree_hash == expected


def test_a_forged_digest_under_a_stale_key_is_not_taken(template: Path) -> None:
    """The record names each file's stat key: one kept for other bytes is never an answer."""
    settle(template)
    expected = code_state(template).tree_hash
    script = template / "experiments" / "train.py"
    script.write_text(script.read_text() + "# more\n")
    assert code_state(template).tree_hash == fresh_tree_hash(template) != expected


def test_a_commit_that_ships_local_state_turns_the_record_off(template: Path) -> None:
    (template / ".strata").mkdir(exist_ok=True)
    (template / ".strata" / "shipped.txt").write_text("from a pull request\n")
    git(template, "add", "-f", ".strata/shipped.txt")
    commit_all(template, "ships .strata")
    snapshot = code_snapshot(template)
    assert snapshot is not None and snapshot.local_state_tracked
    settle(template)
    assert code_state(template).tree_hash == fresh_tree_hash(template)
    assert not (template / CACHE_DIR / CACHE_FILE).exists()


def test_what_is_dirty_and_what_is_code(template: Path) -> None:
    """Untracked files are looked for only beside the artifact trees; a tracked file gone from
    the disk, at the top, is still a change."""
    clean = code_snapshot(template)
    assert clean is not None and not clean.dirty and not clean.local_state_tracked
    (template / "runs" / "scratch.txt").write_text("not code\n")
    assert code_snapshot(template) == clean
    (template / "experiments" / "new.py").write_text("x = 1\n")
    added = code_snapshot(template)
    assert added is not None and added.dirty and added.untracked == ("experiments/new.py",)
    assert "experiments/new.py" in added.files and "runs/scratch.txt" not in added.files
    (template / "experiments" / "new.py").unlink()
    (template / "README.md").unlink()
    gone = code_snapshot(template)
    assert gone is not None and gone.dirty and gone.untracked == ()
    assert "README.md" not in gone.files and gone.diff.startswith(b"diff --git a/README.md")


def test_a_repository_below_the_top_level(tmp_path: Path) -> None:
    top = tmp_path / "mono"
    git(tmp_path, "init", "-q", "-b", "main", str(top))
    root = top / "ml"
    (root / "tools").mkdir(parents=True)
    (root / "tools" / "a.py").write_text("a = 1\n")
    (root / "runs").mkdir()
    (root / "runs" / "r.txt").write_text("run\n")
    (top / "elsewhere.py").write_text("not this repository's\n")
    commit_all(top, "mono")
    snapshot = code_snapshot(root)
    assert snapshot is not None and snapshot.files == ("tools/a.py",) and not snapshot.dirty
    (root / "tools" / "b.py").write_text("b = 2\n")
    dirty = code_snapshot(root)
    assert dirty is not None and dirty.dirty and dirty.untracked == ("tools/b.py",)
