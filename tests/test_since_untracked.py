"""--since asks one `git status` of the whole work tree, kept quick by Git's untracked cache
(TFC-0006 R20): the cache never hides an untracked change from it, and a repository that turns
the cache off keeps it off."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import doctor_script, git

DATASET = "datasets/iris/v1"


def untracked_cache_kept(repo: Path) -> bool:
    """Whether the index holds Git's untracked cache (its extension, signature `UNTR`)."""
    return b"UNTR" in (repo / ".git" / "index").read_bytes()


def since_head(repo: Path) -> str:
    return doctor_script(repo, "--since", "HEAD").stdout


QUIET = (
    "OK: 0 errors, 0 warnings, 0 info; 0 artifacts checked (of 6; only those changed since "
    "HEAD), 0 files hashed\n"
)


def test_what_is_untracked_is_seen_after_the_cache_was_built(template: Path) -> None:
    """Each change is made after a status that filled the cache, so only the cache's check of
    directory stat data can find it: a new file in a known directory, in one below it, in a
    directory made now; and each is gone again from the next answer once removed."""
    assert since_head(template) == QUIET
    assert untracked_cache_kept(template)
    for name in ("stray.csv", "train/stray.csv", "train/new/stray.csv"):
        target = template / DATASET / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x\n1\n")
        report = since_head(template).splitlines()
        assert f"  {name}: error CHK004 not listed in CHECKSUMS.txt" in report, name
        summary = "1 artifact checked (of 6; only those changed since HEAD), 5 files hashed"
        assert report[-1].endswith(summary), name
        target.unlink()
        assert since_head(template) == QUIET, name
    assert untracked_cache_kept(template)


@pytest.mark.parametrize("setting", ["false", "no", "off", "0"])
def test_a_repository_that_turns_the_cache_off_keeps_it_off(template: Path, setting: str) -> None:
    git(template, "config", "core.untrackedCache", setting)
    assert since_head(template) == QUIET
    (template / f"{DATASET}/stray.csv").write_text("x\n1\n")
    report = since_head(template).splitlines()
    assert "  stray.csv: error CHK004 not listed in CHECKSUMS.txt" in report
    assert not untracked_cache_kept(template)
