"""Two forks in different temporary directories, one pinning the other's dataset (issue 22):
doctor verifies the pin against the other's committed HEAD, catches a pin that does not match,
says "not verified" where the other is not reachable; one catalogue holds both."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import (
    EXAMPLE_RUN,
    REPO,
    RunCli,
    assert_check_jsonschema,
    commit_all,
    fork_template,
    git,
    require_tool,
    write_prose,
)
from federationkit import MODEL, consumer_of, forks, pin
from registrykit import add_copies
from strataml import schemas
from strataml.doctor.engine import run_doctor
from strataml.doctor.report import format_text
from strataml.integrity.stamp import stamp_directory
from strataml.refs import ForeignRef, is_foreign


def _report(repo: Path) -> str:
    return format_text(run_doctor(repo, strict=True))


CLEAN = "OK (strict): 0 errors, 0 warnings, 0 info; 7 artifacts checked, 35 files hashed\n"


def test_doctor_verifies_a_pin_into_another_fork(tmp_path: Path) -> None:
    provider, consumer = forks(tmp_path)
    assert _report(consumer) == CLEAN
    # What is verified is the provider's committed HEAD, not its work tree.
    (provider / "datasets/iris/v1/train/iris.csv").write_text("edited, not committed\n", "utf-8")
    assert _report(consumer) == CLEAN


def _finding(report: str) -> str:
    return report.split("\n\n", 1)[0]


FIX = "pin what upstream holds, or restore that version there"


def test_a_committed_data_change_in_the_other_fork_is_a_mismatch(tmp_path: Path) -> None:
    provider, consumer = forks(tmp_path)
    (provider / "datasets/iris/v1/train/iris.csv").write_text("0,0,0,0,setosa\n", "utf-8")
    commit_all(provider, "a data file edited, its CHECKSUMS.txt left")
    head = git(provider, "rev-parse", "HEAD").strip()[:12]
    assert _report(consumer) == (
        f"{MODEL}\n"
        "  metadata.yaml:17: error FED004 upstream:datasets/iris@v1 does not verify: "
        f"train/iris.csv does not match its CHECKSUMS.txt at commit {head}\n"
        f"    hint: {FIX}\n"
        "\nFAILED (strict): 1 error, 0 warnings, 0 info; 7 artifacts checked, 35 files hashed\n"
    )


def test_a_new_commit_that_changes_the_version_is_a_mismatch(tmp_path: Path) -> None:
    provider, consumer = forks(tmp_path)
    (provider / "datasets/iris/v1/train/iris.csv").write_text("0,0,0,0,setosa\n", "utf-8")
    stamp_directory(provider / "datasets/iris/v1")  # sealed again: consistent, but other data
    commit_all(provider, "iris@v1 rewritten")
    head = git(provider, "rev-parse", "HEAD").strip()[:12]
    assert _finding(_report(consumer)) == (
        f"{MODEL}\n"
        "  metadata.yaml:17: error FED004 upstream:datasets/iris@v1 does not verify: it holds "
        f"blake3:c84f484469dc… at commit {head}, not the pinned blake3:d179a6f26f71…\n"
        f"    hint: {FIX}"
    )


def test_unreachable_is_not_verified_until_fetched(tmp_path: Path, strata: RunCli) -> None:
    provider = fork_template(tmp_path / "first" / "provider")
    _, consumer = forks(tmp_path / "x", url=f"file://{provider}")
    assert _report(consumer) == (
        f"{MODEL}\n"
        "  metadata.yaml:17: info FED003 upstream:datasets/iris@v1 not verified: "
        f"no mirror of file://{provider} under .strata/federation/\n"
        "    hint: `strata federation fetch upstream` mirrors it under .strata/\n"
        "\nOK (strict): 0 errors, 0 warnings, 1 info; 7 artifacts checked, 35 files hashed\n"
    )
    head = git(provider, "rev-parse", "HEAD").strip()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(consumer)
        assert strata("federation", "fetch") == (
            0,
            f"upstream: file://{provider}: mirrored at {head[:12]}\n",
            "",
        )
    assert _report(consumer) == CLEAN
    assert git(consumer, "status", "--porcelain") == ""  # the mirror is local state, not content
    # A mirror is as new as its last fetch: the provider's next commit is judged once fetched.
    (provider / "datasets/iris/v1/train/iris.csv").write_text("0,0,0,0,setosa\n", "utf-8")
    commit_all(provider, "a data file edited")
    assert _report(consumer) == CLEAN
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(consumer)
        assert strata("federation", "fetch", "upstream")[0] == 0
    assert "error FED004 upstream:datasets/iris@v1 does not verify" in _report(consumer)


def test_a_changed_federation_table_is_reported_under_base(tmp_path: Path) -> None:
    provider, consumer = forks(tmp_path)
    text = (consumer / "pyproject.toml").read_text("utf-8")
    (consumer / "pyproject.toml").write_text(text.replace(str(provider), "/elsewhere"), "utf-8")
    commit_all(consumer, "upstream points elsewhere")
    base = git(consumer, "rev-parse", "HEAD~1").strip()[:12]
    now = git(consumer, "rev-parse", "HEAD").strip()[:12]
    # The pin is judged by the base's declaration (the provider, verified); the change is a finding.
    assert format_text(run_doctor(consumer, strict=True, base="HEAD~1")) == (
        "repository\n"
        "  pyproject.toml: warning CFG004 federation repository upstream.url changed: "
        f"{provider} → /elsewhere (by commit {now}, not on the base {base})\n"
        "    hint: a change to the rules takes effect once it is on the base branch: review and "
        "merge it on its own, then this check passes\n"
        "\nFAILED (strict): 0 errors, 1 warning, 0 info; 7 artifacts checked, 35 files hashed\n"
    )


def test_round_trip_a_clone_of_the_pinning_fork(tmp_path: Path) -> None:
    provider, consumer = forks(tmp_path)
    clone = tmp_path / "third" / "clone"
    git(tmp_path, "clone", "-q", str(consumer), str(clone))
    assert _report(clone) == CLEAN  # the declared path is absolute: reachable from the clone too
    shutil.move(provider, tmp_path / "gone")
    assert _report(clone) == (
        f"{MODEL}\n"
        "  metadata.yaml:17: info FED003 upstream:datasets/iris@v1 not verified: "
        f"{provider} does not exist here\n"
        f"    hint: put a clone of upstream at {provider}, or declare its Git URL\n"
        "\nOK (strict): 0 errors, 0 warnings, 1 info; 7 artifacts checked, 35 files hashed\n"
    )


def test_one_catalogue_over_bothforks(tmp_path: Path, strata: RunCli) -> None:
    provider, consumer = forks(tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(consumer)
        code, out, err = strata("index")
    assert (code, err) == (0, "")
    index = json.loads(out)
    assert schemas.validate("index", index) == []
    clean = {"errors": 0, "warnings": 0, "info": 0}
    assert index["repositories"] == [
        {"name": "consumer", "url": ".", "commit": _head(consumer), "doctor": clean,
         "reachable": True},
        {"name": "upstream", "url": str(provider), "commit": _head(provider), "doctor": clean,
         "reachable": True},
    ]  # fmt: skip
    assert [(d["repository"], d["ref"]) for d in index["datasets"]] == [
        ("consumer", "datasets/iris@v1"), ("upstream", "upstream:datasets/iris@v1")
    ]  # fmt: skip
    assert [(m["repository"], m["name"]) for m in index["models"]] == [
        ("consumer", "iris-classifier"), ("upstream", "upstream:iris-classifier")
    ]  # fmt: skip
    runs = {(r["repository"], r["id"]) for r in index["runs"]}
    assert ("upstream", f"upstream:{EXAMPLE_RUN}") in runs and ("consumer", EXAMPLE_RUN) in runs
    edges = {(e["source"], e["relation"], e["target"]) for e in index["lineage"]}
    # The cross-repository edge, and the provider's own lineage, qualified by its name.
    assert ("upstream:datasets/iris@v1", "trained_on", "models/iris-classifier@v2") in edges
    assert (
        f"upstream:runs/{EXAMPLE_RUN}",
        "generated",
        "upstream:models/iris-classifier@v1",
    ) in edges
    # `strata lineage` draws the same edge.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(consumer)
        code, out, _ = strata("lineage", "models/iris-classifier@v2", "--format", "json")
    assert code == 0
    assert {
        "source": "upstream:datasets/iris@v1", "target": "models/iris-classifier@v2",
        "relation": "trained_on",
    } in json.loads(out)["edges"]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(consumer)
        assert strata("lineage", "upstream:datasets/iris@v1", "--format", "dot") == (0, (
            "digraph lineage {\n  rankdir=LR;\n"
            '  "models/iris-classifier@v2" [shape=component];\n'
            '  "upstream:datasets/iris@v1" [shape=cylinder];\n'
            '  "upstream:datasets/iris@v1" -> "models/iris-classifier@v2" [label="trained_on"];\n'
            "}\n"
        ), "")  # fmt: skip


def test_a_repo_named_on_the_command_line_joins_the_catalogue(
    tmp_path: Path, strata: RunCli
) -> None:
    provider, consumer = forks(tmp_path)
    shutil.move(provider, tmp_path / "moved")  # the declared path: not reachable now
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(consumer)
        code, out, err = strata("index", "--repo", str(tmp_path / "moved"))
    assert (code, err) == (0, "")
    index = json.loads(out)
    assert [(r["name"], r["reachable"], r.get("problem")) for r in index["repositories"]] == [
        ("consumer", True, None),
        ("upstream", False, f"{provider} does not exist here"),
        ("moved", True, None),
    ]
    assert {d["ref"] for d in index["datasets"]} == {"datasets/iris@v1", "moved:datasets/iris@v1"}


def _head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def _git_processes(monkeypatch: pytest.MonkeyPatch, repo: Path) -> tuple[int, str]:
    """How many git processes `doctor --strict` starts, and its report."""
    started = []
    real = subprocess.Popen.__init__

    def counting(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        started.append(args)
        real(self, args, *rest, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(subprocess.Popen, "__init__", counting)
        report = _report(repo)
    return sum(1 for a in started if a[0] == "git"), report


def test_verifying_costs_the_same_processes_for_one_pin_or_six(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, consumer = forks(tmp_path)
    one, report = _git_processes(monkeypatch, consumer)
    assert report == CLEAN
    add_copies(provider, datasets=5)  # iris v2 … v6: the same data, other versions
    commit_all(provider, "five more versions of iris")
    v2 = (consumer / MODEL / "metadata.yaml").read_text("utf-8")
    for n in range(3, 8):  # models/iris-classifier/v3 … v7 pin upstream's iris v2 … v6
        target = consumer / f"models/iris-classifier/v{n}"
        shutil.copytree(consumer / MODEL, target)
        text = v2.replace("version: v2", f"version: v{n}")
        text = text.replace("upstream:datasets/iris@v1#", f"upstream:datasets/iris@v{n - 1}#")
        (target / "metadata.yaml").write_text(text, "utf-8")
        card = (target / "card.md").read_text("utf-8").replace("@v2", f"@v{n}")
        card = card.replace("- upstream:datasets/iris@v1\n", f"- upstream:datasets/iris@v{n - 1}\n")
        (target / "card.md").write_text(card, "utf-8")
        stamp_directory(target)
    commit_all(consumer, "five more versions pinning upstream")
    # The pinning models are more artifacts for the rest of doctor, not more git processes.
    six, report = _git_processes(monkeypatch, consumer)
    assert report.endswith("0 errors, 0 warnings, 0 info; 12 artifacts checked, 55 files hashed\n")
    assert six == one


def _declared_as(tmp_path: Path, table: str) -> str:
    """doctor --strict's findings on a fork whose federation table reads `table`."""
    repo = fork_template(tmp_path / "fork")
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write(f"\n{table}\n")
    commit_all(repo, "a federation table")
    return _finding(_report(repo))


def test_a_url_that_is_a_file_or_a_repository_without_commits_is_not_reachable(
    tmp_path: Path,
) -> None:
    provider, consumer = forks(tmp_path)
    text = (consumer / "pyproject.toml").read_text("utf-8")
    (tmp_path / "a-file").write_text("not a repository\n", "utf-8")
    git(tmp_path, "init", "-q", str(tmp_path / "empty"))
    for url, why in [
        (tmp_path / "a-file", f"{tmp_path / 'a-file'} is a file, not a Git repository"),
        (tmp_path / "empty", f"{tmp_path / 'empty'} is not a Git repository with a commit"),
        (tmp_path, f"{tmp_path} is not a Git repository with a commit"),  # not one found above
    ]:
        (consumer / "pyproject.toml").write_text(text.replace(str(provider), str(url)), "utf-8")
        assert _finding(_report(consumer)) == (
            f"{MODEL}\n"
            f"  metadata.yaml:17: info FED003 upstream:datasets/iris@v1 not verified: {why}\n"
            f"    hint: put a clone of upstream at {url}, or declare its Git URL"
        )


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            '[tool.strataml.federation]\nrepositories = "upstream"',
            "repository\n  pyproject.toml:{line}: error CFG001 tool.strataml.federation.repositories: "
            "'upstream' is not of type 'object'",
        ),
        (
            "[tool.strataml.federation.repositories]\nupstream = { url = 5 }",
            "repository\n  pyproject.toml:{line}: error CFG001 tool.strataml.federation.repositories"
            ".upstream.url: 5 is not of type 'string'",
        ),
        (
            '[tool.strataml.federation.repositories]\nupstream = { url = "--upload-pack=x" }',
            "repository\n  pyproject.toml:{line}: error FED001 upstream: url '--upload-pack=x' looks "
            "like an option",
        ),
    ],
)
def test_a_malformed_federation_table_is_a_finding(
    tmp_path: Path, table: str, expected: str
) -> None:
    # The table is appended after a blank line: its second line is the one at fault.
    line = len((REPO / "pyproject.toml").read_text("utf-8").splitlines()) + 3
    assert _declared_as(tmp_path, table).split("\n    hint")[0] == expected.format(line=line)


def test_lfs_content_is_checked_in_the_other_repositorys_store(
    tmp_path: Path, strata: RunCli
) -> None:
    require_tool("git-lfs")
    provider = fork_template(tmp_path / "first" / "provider")
    git(provider, "lfs", "install", "--local")
    source = tmp_path / "arrays"
    for split, size in (("train", 3000), ("test", 1000)):
        (source / split).mkdir(parents=True)
        (source / split / "x.npz").write_bytes(bytes(range(256)) * (size // 256))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(provider)
        added = strata("dataset", "add", "arrays", str(source), "--license", "CC0-1.0",
                       "--source", "bytes")  # fmt: skip
    assert added[0] == 0, added
    write_prose(provider / "datasets/arrays/v1")
    commit_all(provider, "arrays v1, its data in LFS")
    committed = git(provider, "cat-file", "-p", "HEAD:datasets/arrays/v1/train/x.npz")
    assert committed.startswith("version https://git-lfs.github.com/spec/v1\n")
    consumer = consumer_of(tmp_path, str(provider), pin(provider, "arrays"))
    assert _report(consumer) == CLEAN  # each pointer's object is in the provider's LFS store
    shutil.rmtree(provider / ".git" / "lfs" / "objects")
    assert _finding(_report(consumer)) == (
        f"{MODEL}\n"
        "  metadata.yaml:17: info FED005 upstream:datasets/arrays@v1 not verified: test/x.npz "
        f"(and 1 more) is an LFS pointer whose content is not there at commit {_head(provider)[:12]}\n"
        "    hint: pull its LFS content in upstream (`git lfs fetch`)"
    )
    # Content in the store that is not what CHECKSUMS.txt lists is a mismatch, as plain bytes.
    (provider / "datasets/arrays/v1/train/x.npz").write_bytes(b"\0" * 3000)
    commit_all(provider, "train/x.npz replaced, its CHECKSUMS.txt left")
    assert _finding(_report(consumer)) == (
        f"{MODEL}\n"
        "  metadata.yaml:17: error FED004 upstream:datasets/arrays@v1 does not verify: "
        f"train/x.npz does not match its CHECKSUMS.txt at commit {_head(provider)[:12]}\n"
        f"    hint: {FIX}"
    )


def test_a_pull_request_cannot_point_the_pin_at_a_repository_it_controls(tmp_path: Path) -> None:
    """The PR points `upstream` at a clone of its own holding a made-up iris@v2 and pins that:
    judged by its own table it would pass; judged by the base's (doctor --base) the pin does not
    verify, and the table's change is a finding of its own."""
    provider, consumer = forks(tmp_path)
    evil = tmp_path / "evil"
    git(tmp_path, "clone", "-q", str(provider), str(evil))
    made_up = evil / "datasets/iris/v2"
    shutil.copytree(evil / "datasets/iris/v1", made_up)
    (made_up / "train/iris.csv").write_text("0,0,0,0,setosa\n", "utf-8")
    metadata = (made_up / "metadata.yaml").read_text("utf-8")
    (made_up / "metadata.yaml").write_text(metadata.replace("version: v1", "version: v2"), "utf-8")
    stamp_directory(made_up)
    commit_all(evil, "iris@v2, made up")
    forged = pin(evil).replace("@v1#", "@v2#").split("#")[0] + "#" + _hash(made_up)
    text = (consumer / "pyproject.toml").read_text("utf-8")
    (consumer / "pyproject.toml").write_text(text.replace(str(provider), str(evil)), "utf-8")
    v3 = consumer / "models/iris-classifier/v3"
    shutil.copytree(consumer / MODEL, v3)
    for name in ("metadata.yaml", "card.md"):
        text = (v3 / name).read_text("utf-8").replace("version: v2", "version: v3")
        text = text.replace("iris-classifier@v2", "iris-classifier@v3")
        text = text.replace(pin(provider), forged).replace(
            "upstream:datasets/iris@v1", "upstream:datasets/iris@v2"
        )
        (v3 / name).write_text(text, "utf-8")
    stamp_directory(v3)
    commit_all(consumer, "a hostile pull request")
    # Judged by its own table, the pull request would pass: `evil` holds what it pins.
    assert _report(consumer) == CLEAN.replace("7 artifacts checked, 35", "8 artifacts checked, 39")
    now, base = _head(consumer)[:12], git(consumer, "rev-parse", "HEAD~1").strip()[:12]
    assert format_text(run_doctor(consumer, strict=True, base="HEAD~1")) == (
        "models/iris-classifier/v3\n"
        "  metadata.yaml:17: error FED004 upstream:datasets/iris@v2 does not verify: "
        f"no such version at commit {_head(provider)[:12]}\n"
        f"    hint: {FIX}\n"
        "\nrepository\n"
        "  pyproject.toml: warning CFG004 federation repository upstream.url changed: "
        f"{provider} → {evil} (by commit {now}, not on the base {base})\n"
        "    hint: a change to the rules takes effect once it is on the base branch: review and "
        "merge it on its own, then this check passes\n"
        "\nFAILED (strict): 1 error, 1 warning, 0 info; 8 artifacts checked, 39 files hashed\n"
    )


def _hash(version: Path) -> str:
    metadata = (version / "metadata.yaml").read_text("utf-8")
    return next(line for line in metadata.splitlines() if line.startswith("content_hash:")).split()[
        1
    ]


@given(
    st.from_regex(r"[a-z][a-z0-9-]{0,31}", fullmatch=True),
    st.sampled_from(["datasets", "models"]),
    st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True),
    st.integers(min_value=1, max_value=10**6),
    st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)
def test_a_repository_qualified_reference_round_trips(
    repository: str, kind: str, name: str, version: int, digest: str
) -> None:
    text = f"{repository}:{kind}/{name}@v{version}#blake3:{digest}"
    ref = ForeignRef.parse(text)
    assert str(ref) == text and is_foreign(text)
    assert ref.node == f"{repository}:{kind}/{name}@v{version}"
    assert not is_foreign(f"{kind}/{name}@v{version}")


@given(st.text(max_size=120))
def test_any_text_is_a_reference_or_a_value_error(text: str) -> None:
    try:
        ref = ForeignRef.parse(text)
    except ValueError:
        return
    assert str(ref) == text and ref.ref.pin is not None


def test_a_repo_that_is_not_a_strataml_repository_is_said_not_fatal(
    tmp_path: Path, strata: RunCli
) -> None:
    _, consumer = forks(tmp_path)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "README.md").write_text("no [tool.strataml] here\n", "utf-8")
    commit_all(plain, "a plain repository")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(consumer)
        code, out, err = strata("index", "--repo", str(plain), "--repo", str(tmp_path / "none"))
    assert (code, err) == (0, "")
    found = [
        (r["name"], r["reachable"], r.get("problem", "")) for r in json.loads(out)["repositories"]
    ]
    assert [(name, reachable) for name, reachable, _ in found] == [
        ("consumer", True), ("upstream", True), ("plain", False), ("none", False)
    ]  # fmt: skip
    assert found[2][2].endswith("not inside a StrataML repository (no pyproject.toml with "
                                "[tool.strataml] above it)")  # fmt: skip
    assert found[3][2].startswith("git clone failed: ")


def test_status_says_where_each_repository_is_read(tmp_path: Path, strata: RunCli) -> None:
    provider = fork_template(tmp_path / "first" / "provider")
    _, consumer = forks(tmp_path / "x", url=f"file://{provider}")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(consumer)
        before = strata("federation", "status")
        assert strata("federation", "fetch", "upstream")[0] == 0
        code, out, err = strata("federation", "status", "--format", "json")
        unknown = strata("federation", "fetch", "elsewhere")
        index = json.loads(strata("index")[1])  # the catalogue reads the mirror too
    assert before == (0, (
        "consumer (this repository)\n"
        f"upstream: file://{provider}: not reachable: no mirror of file://{provider} under "
        ".strata/federation/\n"
    ), "")  # fmt: skip
    document = json.loads(out)
    assert (code, err, document) == (0, "", [{
        "name": "upstream", "url": f"file://{provider}", "reachable": True,
        "commit": _head(provider), "problem": None,
    }])  # fmt: skip
    assert schemas.validate("federation-status", document) == []
    assert_check_jsonschema(_written(tmp_path / "status.json", out), "federation-status")
    assert [(r["name"], r["commit"]) for r in index["repositories"]] == [
        ("consumer", _head(consumer)), ("upstream", _head(provider))
    ]  # fmt: skip
    assert unknown == (2, "", "strata: error: not a repository of "
                       "[tool.strataml.federation.repositories]: elsewhere\n")  # fmt: skip


def _written(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def test_a_pin_into_a_repository_declared_wrongly_fails_closed(tmp_path: Path) -> None:
    provider, consumer = forks(tmp_path)
    text = (consumer / "pyproject.toml").read_text("utf-8")
    (consumer / "pyproject.toml").write_text(text.replace(str(provider), "datasets"), "utf-8")
    expected = (
        f"{MODEL}\n"
        "  metadata.yaml:17: error FED002 upstream:datasets/iris@v1 names repository 'upstream', "
        "whose declaration is invalid\n"
        '    hint: declare it: [tool.strataml.federation.repositories] upstream = { url = "…" }'
    )
    assert _finding(_report(consumer)) == expected
    # Asked about the model alone, doctor does not report the table (FED001), but still fails.
    assert _finding(format_text(run_doctor(consumer / MODEL, strict=True))) == expected


def test_a_dataset_derived_from_the_other_forks_dataset(tmp_path: Path, strata: RunCli) -> None:
    provider, consumer = forks(tmp_path)
    derived = consumer / "datasets/iris/v2"
    shutil.copytree(consumer / "datasets/iris/v1", derived)
    text = (derived / "metadata.yaml").read_text("utf-8").replace("version: v1", "version: v2")
    text = text.replace("provenance:\n", f"provenance:\n  derived_from:\n    - {pin(provider)}\n")
    (derived / "metadata.yaml").write_text(text, "utf-8")
    stamp_directory(derived)
    commit_all(consumer, "iris v2, derived from upstream's iris v1")
    assert _report(consumer) == CLEAN.replace("7 artifacts checked, 35", "8 artifacts checked, 40")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(consumer)
        assert strata("lineage", "datasets/iris@v2") == (
            0, "upstream:datasets/iris@v1 -> datasets/iris@v2  [derived_from]\n", ""
        )  # fmt: skip
    (provider / "datasets/iris/v1/train/iris.csv").write_text("0,0,0,0,setosa\n", "utf-8")
    commit_all(provider, "a data file edited, its CHECKSUMS.txt left")
    report = _report(consumer)
    assert (
        "datasets/iris/v2\n  metadata.yaml:17: error FED004 upstream:datasets/iris@v1 does not "
        "verify: train/iris.csv does not match its CHECKSUMS.txt at commit "
        f"{_head(provider)[:12]}\n"
    ) in report


def _committed_mirror(consumer: Path, url: str, marker: Path) -> None:
    """What a hostile pull request can commit: a bare repository at .strata/federation/upstream
    whose origin is the declared url and whose own config runs a command on fetch."""
    mirror = consumer / ".strata" / "federation" / "upstream"
    git(consumer, "clone", "-q", "--mirror", "--", url, str(mirror))  # as fetch would make it
    git(mirror, "config", "remote.origin.uploadpack", f"touch {marker}; git-upload-pack")
    git(consumer, "add", "-f", ".strata/federation/upstream")
    git(consumer, "commit", "-q", "-m", "a mirror of our own")


def test_a_mirror_the_pull_request_commits_is_never_fetched_into_or_read(
    tmp_path: Path, strata: RunCli
) -> None:
    provider = fork_template(tmp_path / "first" / "provider")
    url = f"file://{provider}"
    _, consumer = forks(tmp_path / "x", url=url)
    marker = tmp_path / "ran"
    _committed_mirror(consumer, url, marker)
    from strataml.index.federation import build_federated_index

    document = build_federated_index(consumer)  # the catalogue does not read it as upstream
    (other,) = [r for r in document["repositories"] if r["name"] == "upstream"]
    assert (other["commit"], other["reachable"]) == (None, False)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(consumer)
        code, out, err = strata("federation", "fetch", "upstream")
    assert (code, out) == (2, "")
    assert err.startswith("strata: error: [federation-tracked] .strata/ is tracked by Git")
    assert not marker.exists()


def test_a_file_url_into_this_repository_is_not_another_repository(tmp_path: Path) -> None:
    provider, consumer = forks(tmp_path)
    text = (consumer / "pyproject.toml").read_text("utf-8")
    for url in (f"file://{consumer}", f"file://{consumer}/.git", f"FILE://{consumer}/datasets"):
        (consumer / "pyproject.toml").write_text(text.replace(str(provider), url), "utf-8")
        report = _report(consumer)
        shown = url if len(url) <= 80 else url[:79] + "\u2026"  # a long url is shown shortened
        assert f"error FED001 upstream: url '{shown}' lies inside this repository" in report, report
        assert "error FED002 upstream:datasets/iris@v1 names repository 'upstream'" in report


def test_git_variables_of_this_repository_never_point_a_pin_at_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hook, `rebase --exec` or a linked worktree exports GIT_DIR and friends: the other
    repository is still read as itself, and its tampered data still caught."""
    provider, consumer = forks(tmp_path)
    assert _report(consumer) == CLEAN
    (provider / "datasets/iris/v1/train/iris.csv").write_text("0,0,0,0,setosa\n", "utf-8")
    commit_all(provider, "a data file edited")
    monkeypatch.setenv("GIT_DIR", str(consumer / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(consumer))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(consumer / ".git" / "objects"))
    assert "error FED004 upstream:datasets/iris@v1 does not verify" in _report(consumer)
