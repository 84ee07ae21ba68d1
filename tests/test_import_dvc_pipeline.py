"""strata import dvc PATH --pipeline NAME (TFC-0003 R19): a real DVC project, built and run by
the real dvc (STRATA_DVC or PATH), becomes a pipeline spec and sealed stage runs whose status
agrees with `dvc status`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import RunCli, commit_all, doctor_script, fork_template, git, snapshot

PREPARE = """\
import os, yaml
split = yaml.safe_load(open("params.yaml"))["prepare"]["split"]
rows = open("data/raw.csv").read().splitlines()
cut = 1 + int((len(rows) - 1) * split)
os.makedirs("data/prepared", exist_ok=True)
open("data/prepared/train.csv", "w").write("\\n".join(rows[:cut]) + "\\n")
open("data/prepared/test.csv", "w").write("\\n".join(rows[:1] + rows[cut:]) + "\\n")
"""
TRAIN = """\
import yaml
p = yaml.safe_load(open("params.yaml"))["train"]
n = len(open("data/prepared/train.csv").read().splitlines()) - 1
open("model.txt", "w").write(f"lr={p['lr']} epochs={p['epochs']} rows={n}\\n")
"""
EVALUATE = """\
import json
model = open("model.txt").read()
rows = len(open("data/prepared/test.csv").read().splitlines()) - 1
json.dump({"acc": 0.75, "rows": rows, "chars": len(model)}, open("eval.json", "w"))
"""
DVC_YAML = """\
stages:
  prepare:
    cmd: {python} src/prepare.py
    deps: [src/prepare.py, data/raw.csv]
    params: [prepare.split]
    outs: [data/prepared]
  train:
    desc: Fit the model
    cmd: {python} src/train.py
    deps: [src/train.py, data/prepared]
    params: [train.lr, train.epochs]
    outs: [model.txt]
  evaluate:
    cmd: {python} src/evaluate.py
    deps: [src/evaluate.py, model.txt, data/prepared]
    metrics:
    - eval.json:
        cache: false
"""
STAGES = ("prepare", "train", "evaluate")
DEPENDANTS = {"prepare": {"train", "evaluate"}, "train": {"evaluate"}, "evaluate": set()}


def dvc_tool() -> str:
    """The real dvc: STRATA_DVC, else PATH; skip without it, but fail under CI=true."""
    found = os.environ.get("STRATA_DVC") or shutil.which("dvc")
    if found and Path(found).is_file():
        return found
    message = "dvc is not installed (set STRATA_DVC to a dvc 3.67.1 executable)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}, and CI must provide it (.ci/run installs it)")
    pytest.skip(message)


def dvc(project: Path, *args: str) -> str:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(project / ".site")}
    done = subprocess.run([dvc_tool(), *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """prepare -> train -> evaluate, reproduced by dvc."""
    dvc_tool()
    root = tmp_path / "churn"
    (root / "src").mkdir(parents=True)
    (root / "data").mkdir()
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    (root / "data" / "raw.csv").write_text("x,y\n1,0\n2,1\n3,0\n4,1\n5,1\n")
    (root / "params.yaml").write_text("prepare:\n  split: 0.6\ntrain:\n  lr: 0.1\n  epochs: 3\n")
    for name, text in (("prepare", PREPARE), ("train", TRAIN), ("evaluate", EVALUATE)):
        (root / "src" / f"{name}.py").write_text(text)
    (root / "dvc.yaml").write_text(DVC_YAML.format(python=sys.executable))
    dvc(root, "repro", "-q")
    return root


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    found = fork_template(tmp_path / "repo")
    monkeypatch.chdir(found)
    return found


def new_runs(repo: Path, before: set[str]) -> list[str]:
    return sorted(p.name for p in (repo / "runs").iterdir() if p.name not in before)


def run_of(repo: Path, run_id: str) -> dict[str, object]:
    config: dict[str, object] = yaml.safe_load((repo / "runs" / run_id / "config.yaml").read_text())
    return config


def stage_runs(repo: Path, runs: list[str]) -> dict[str, str]:
    found = {}
    for run_id in runs:
        link = run_of(repo, run_id)["pipeline"]
        assert isinstance(link, dict)
        found[link["stage"]] = run_id
    return found


def import_pipeline(strata: RunCli, project: Path) -> tuple[int, str]:
    code, out, err = strata("import", "dvc", str(project), "--pipeline", "churn")
    assert err == ""
    return code, out


def status(strata: RunCli) -> dict[str, Any]:
    code, out, err = strata("status", "pipelines/churn.yaml", "--format", "json")
    assert (code, err) == (0, "")
    (pipeline,) = json.loads(out)["pipelines"]
    return {s["stage"]: s for s in pipeline["stages"]}


def test_a_dvc_pipeline_becomes_a_spec_and_a_run_per_stage_up_to_date(
    project: Path, repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    before = {p.name for p in (repo / "runs").iterdir()}
    code, out = import_pipeline(strata, project)
    runs = stage_runs(repo, new_runs(repo, before))
    assert (code, out) == (0, (
        "wrote     pipelines/churn.yaml: 3 stages, 4 files copied under experiments/churn/\n"
        f"imported  dvc stage prepare: succeeded -> runs/{runs['prepare']}/\n"
        f"imported  dvc stage train: succeeded -> runs/{runs['train']}/\n"
        f"imported  dvc stage evaluate: succeeded -> runs/{runs['evaluate']}/\n"
        "3 imported, 0 skipped, 0 refused\n"
    ))  # fmt: skip
    assert yaml.safe_load((repo / "pipelines" / "churn.yaml").read_text()) == {
        "schema_version": 1,
        "name": "churn",
        "description": "Imported from the DVC project churn by `strata import dvc --pipeline` "
        "(TFC-0003 R19); re-import to update.",
        "stages": {
            "prepare": {
                "command": [sys.executable, "src/prepare.py"],
                "params": {"prepare": {"split": 0.6}},
                "inputs": {"raw_csv": {"file": "experiments/churn/data/raw.csv"}},
                "outputs": ["data/prepared"],
                "code": ["experiments/churn/src/prepare.py"],
            },
            "train": {
                "description": "Fit the model",
                "command": [sys.executable, "src/train.py"],
                "params": {"train": {"lr": 0.1, "epochs": 3}},
                "inputs": {"prepared": {"stage": "prepare", "output": "data/prepared"}},
                "outputs": ["model.txt"],
                "code": ["experiments/churn/src/train.py"],
            },
            "evaluate": {
                "command": [sys.executable, "src/evaluate.py"],
                "inputs": {
                    "model_txt": {"stage": "train", "output": "model.txt"},
                    "prepared": {"stage": "prepare", "output": "data/prepared"},
                },
                "outputs": ["eval.json"],
                "code": ["experiments/churn/src/evaluate.py"],
            },
        },
    }
    for rel in ("src/prepare.py", "src/train.py", "src/evaluate.py", "data/raw.csv"):
        assert (repo / "experiments/churn" / rel).read_bytes() == (project / rel).read_bytes()
    evaluate = repo / "runs" / runs["evaluate"]
    assert json.loads((evaluate / "artifacts/eval.json").read_text()) == {
        "acc": 0.75, "rows": 2, "chars": 23,
    }  # fmt: skip
    assert json.loads((evaluate / "metrics.json").read_text())["final"] == {
        "acc": 0.75, "rows": 2, "chars": 23,
    }  # fmt: skip
    train = repo / "runs" / runs["train"]
    assert (train / "artifacts/model.txt").read_text() == "lr=0.1 epochs=3 rows=3\n"
    lock = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    origin = run_of(repo, runs["train"])["imported_from"]
    assert isinstance(origin, dict) and origin["tool"] == "dvc"
    assert origin["lock"] == {"train": {k: lock["train"][k] for k in ("cmd", "deps", "outs")}}
    upstream = run_of(repo, runs["evaluate"])["pipeline"]
    assert isinstance(upstream, dict)
    assert {n: u["run"] for n, u in upstream["upstream"].items()} == {
        "model_txt": runs["train"], "prepared": runs["prepare"],
    }  # fmt: skip
    assert {s: (v["state"], v["run"]) for s, v in status(strata).items()} == {
        s: ("up to date", runs[s]) for s in STAGES
    }
    # again: nothing new, the same runs named
    assert import_pipeline(strata, project) == (0, (
        "wrote     pipelines/churn.yaml: 3 stages, 4 files copied under experiments/churn/\n"
        f"skipped   dvc stage prepare: up to date in runs/{runs['prepare']}/\n"
        f"skipped   dvc stage train: up to date in runs/{runs['train']}/\n"
        f"skipped   dvc stage evaluate: up to date in runs/{runs['evaluate']}/\n"
        "0 imported, 3 skipped, 0 refused\n"
    ))  # fmt: skip
    assert new_runs(repo, before) == sorted(runs.values())
    # what a teammate gets
    commit_all(repo, "imported the churn pipeline")
    git(tmp_path, "clone", "-q", str(repo), str(tmp_path / "clone"))
    done = doctor_script(tmp_path / "clone", "--strict")
    assert done.returncode == 0, done.stdout


def agreement(project: Path, strata: RunCli) -> tuple[set[str], set[str], dict[str, list[str]]]:
    """DVC's changed stages, and strata's stale ones with their reasons' texts, after a
    re-import: the stages DVC names are those stale for their own reasons, the rest are their
    dependants, stale because an upstream is."""
    changed = set(json.loads(dvc(project, "status", "--json")))
    import_pipeline(strata, project)
    found = status(strata)
    reasons = {s: [r["text"] for r in v["reasons"]] for s, v in found.items()}
    own = {
        s for s, v in found.items()
        if any(r["kind"] != "upstream" for r in v["reasons"])
    }  # fmt: skip
    upstream_only = {s for s, v in found.items() if v["state"] == "stale"} - own
    assert own == changed
    assert upstream_only == set().union(*(DEPENDANTS[s] for s in changed)) - changed
    return changed, upstream_only, reasons


def test_a_changed_learning_rate_is_stale_where_dvc_says_it_changed(
    project: Path, repo: Path, strata: RunCli
) -> None:
    import_pipeline(strata, project)
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("lr: 0.1", "lr: 0.2"))
    changed, dependants, reasons = agreement(project, strata)
    assert (changed, dependants) == ({"train"}, {"evaluate"})
    assert reasons == {
        "prepare": [],
        "train": ["param train.lr: 0.1 -> 0.2"],
        "evaluate": ["upstream train is stale"],
    }
    spec = yaml.safe_load((repo / "pipelines/churn.yaml").read_text())
    assert spec["stages"]["train"]["params"] == {"train": {"lr": 0.2, "epochs": 3}}
    # DVC reruns it; the re-import brings the new runs, and all is up to date again
    dvc(project, "repro", "-q")
    before = {p.name for p in (repo / "runs").iterdir()}
    code, out = import_pipeline(strata, project)
    assert (code, out.count("imported  "), out.count("skipped   ")) == (0, 2, 1)
    assert len(new_runs(repo, before)) == 2
    assert {v["state"] for v in status(strata).values()} == {"up to date"}


EDITS = {
    "prepare script": (
        "src/prepare.py", "import os, yaml", "import os, yaml  # edited",
        {
            "prepare": ["code file experiments/churn/src/prepare.py changed"],
            "train": ["upstream prepare is stale"],
            "evaluate": ["upstream prepare is stale", "upstream train is stale"],
        },
    ),
    "raw data": (
        "data/raw.csv", "5,1\n", "5,1\n6,0\n",
        {
            "prepare": ["file input raw_csv: experiments/churn/data/raw.csv changed"],
            "train": ["upstream prepare is stale"],
            "evaluate": ["upstream prepare is stale", "upstream train is stale"],
        },
    ),
    "evaluate script": (
        "src/evaluate.py", '"acc": 0.75', '"acc": 0.5',
        {
            "prepare": [],
            "train": [],
            "evaluate": ["code file experiments/churn/src/evaluate.py changed"],
        },
    ),
}  # fmt: skip


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edit_in_the_project_is_stale_where_dvc_says_it_changed(
    edit: str, project: Path, repo: Path, strata: RunCli
) -> None:
    path, old, new, expected = EDITS[edit]
    import_pipeline(strata, project)
    edited = project / path
    edited.write_text(edited.read_text().replace(old, new, 1))
    changed, dependants, reasons = agreement(project, strata)
    assert reasons == expected
    assert changed == {s for s, r in expected.items() if r and "upstream" not in r[0]}
    assert dependants == {s for s, r in expected.items() if r and "upstream" in r[0]}
    assert (repo / "experiments/churn" / path).read_bytes() == edited.read_bytes()


def test_a_stage_dvc_has_not_run_since_an_edit_has_no_run(
    project: Path, repo: Path, strata: RunCli
) -> None:
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("epochs: 3", "epochs: 4"))
    before = {p.name for p in (repo / "runs").iterdir()}
    code, out = import_pipeline(strata, project)
    (prepare,) = new_runs(repo, before)
    assert (code, out) == (0, (
        "wrote     pipelines/churn.yaml: 3 stages, 4 files copied under experiments/churn/\n"
        f"imported  dvc stage prepare: succeeded -> runs/{prepare}/\n"
        "skipped   dvc stage train: no run imported: param params.yaml train.epochs changed\n"
        "skipped   dvc stage evaluate: no run imported: upstream train has no run DVC holds up "
        "to date\n"
        "1 imported, 2 skipped, 0 refused\n"
    ))  # fmt: skip
    assert {s: (v["state"], v["run"]) for s, v in status(strata).items()} == {
        "prepare": ("up to date", prepare),
        "train": ("never run", None),
        "evaluate": ("never run", None),
    }


EMPTY_LOCK = "schema: '2.0'\nstages: {}\n"


def hand_written(tmp_path: Path, dvc_yaml: str, lock: str | None) -> Path:
    """A DVC project as a hostile or careless hand leaves it: dvc never ran on it."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "dvc.yaml").write_text(dvc_yaml)
    (project / "params.yaml").write_text("lr: 0.1\nn: .nan\n")
    if lock is not None:
        (project / "dvc.lock").write_text(lock)
    return project


HOSTILE = {
    "malformed": (
        "stages:\n  prepare:\n    cmd: [python\n",
        None,
        "{p}/dvc.yaml:4: dvc-yaml while parsing a flow sequence did not find expected ',' or ']'\n"
        "  hint: fix dvc.yaml so that `dvc status` reads it\n",
    ),
    "leaves the project": (
        "stages:\n  prepare:\n    cmd: python prepare.py\n    deps:\n    - ../secret.txt\n"
        "    outs: [out.txt]\n",
        EMPTY_LOCK,
        "{p}/dvc.yaml:5: dvc-path stage prepare deps[0]: ../secret.txt is not a path inside the "
        "project\n  hint: name files inside the DVC project, with no '..' and no leading '/'\n",
    ),
    "symlinked dep": (
        "stages:\n  prepare:\n    cmd: python prepare.py\n    deps: [linked/raw.csv]\n"
        "    outs: [out.txt]\n",
        EMPTY_LOCK,
        "{p}/dvc.yaml:4: dvc-link stage prepare deps[0]: linked is a symlink, which is never "
        "followed\n  hint: replace the link with the file or directory it names\n",
    ),
    "symlink in a directory dep": (
        "stages:\n  prepare:\n    cmd: python prepare.py\n    deps: [data]\n    outs: [out.txt]\n",
        EMPTY_LOCK,
        "{p}/dvc.yaml:2: dvc-link stage prepare dep data: data/link.csv is a symlink or not a "
        "regular file, which is never followed\n  hint: replace it with the file it names\n",
    ),
    "non-finite param": (
        "stages:\n  train:\n    cmd: python t.py\n    params: [lr, n]\n",
        EMPTY_LOCK,
        "{p}/dvc.yaml:2: dvc-params stage train: params.yaml param n is not finite\n"
        "  hint: give it a number, or leave it out of the stage's params\n",
    ),
    "missing param": (
        "stages:\n  train:\n    cmd: python t.py\n    params: [train.lr]\n",
        EMPTY_LOCK,
        "{p}/dvc.yaml:2: dvc-params stage train: params.yaml has no param train.lr\n"
        "  hint: add it to the file or drop it from the stage's params\n",
    ),
    "cycle": (
        "stages:\n  a:\n    cmd: python a.py\n    deps: [b.txt]\n    outs: [a.txt]\n"
        "  b:\n    cmd: python b.py\n    deps: [a.txt]\n    outs: [b.txt]\n",
        EMPTY_LOCK,
        "{p}/dvc.yaml:2: PIP002 stages form a cycle: a -> b -> a\n"
        "  hint: a stage cannot consume its own output, directly or through others\n",
    ),
    "missing lock": (
        "stages:\n  prepare:\n    cmd: python prepare.py\n    outs: [out.txt]\n",
        None,
        "{p}/dvc.lock: dvc-lock no dvc.lock: DVC has not run the pipeline\n"
        "  hint: run `dvc repro` in the project, then import it\n",
    ),
    "foreach": (
        "stages:\n  train:\n    foreach: [a, b]\n    do:\n      cmd: python t.py ${item}\n",
        EMPTY_LOCK,
        "{p}/dvc.yaml:3: dvc-unsupported stage train: `foreach` cannot be imported\n"
        "  hint: expand the stage into one stage per item (dvc.yaml `foreach` is not imported)\n",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_pipeline_that_cannot_be_imported_is_refused_and_nothing_is_written(
    case: str, repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    dvc_yaml, lock, expected = HOSTILE[case]
    project = hand_written(tmp_path, dvc_yaml, lock)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "raw.csv").write_text("x\n")
    (project / "linked").symlink_to(tmp_path / "outside")
    (project / "data").mkdir()
    (project / "data" / "raw.csv").write_text("x\n")
    (project / "data" / "link.csv").symlink_to(tmp_path / "outside" / "raw.csv")
    before = snapshot(repo)
    code, out, err = strata("import", "dvc", str(project), "--pipeline", "churn")
    message = expected.format(p=project)
    assert (code, out) == (2, "")
    assert err == f"strata: error: {message}"
    assert snapshot(repo) == before


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("iris", "pipelines/iris.yaml: dvc-name exists and was not imported from DVC"),
        ("iris_pipeline", "experiments/iris_pipeline: dvc-name exists and holds no import of a "
                          "DVC pipeline"),
        ("Churn", "Churn: dvc-name not a pipeline name"),
        ("iris-too", "pipelines/iris.yaml: PIP005 pipeline name 'iris-too' is taken"),
    ],
)  # fmt: skip
def test_a_name_the_repository_uses_otherwise_is_refused(
    name: str, expected: str, repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    project = hand_written(tmp_path, "stages:\n  prepare:\n    cmd: python p.py\n", EMPTY_LOCK)
    iris = repo / "pipelines/iris.yaml"
    iris.write_text(iris.read_text().replace("name: iris\n", "name: iris-too\n"))
    before = snapshot(repo)
    code, out, err = strata("import", "dvc", str(project), "--pipeline", name)
    assert (code, out, err.splitlines()[0]) == (2, "", f"strata: error: {expected}")
    assert snapshot(repo) == before
    code, out, err = strata("import", "dvc", str(project), "--pipeline", "x", "--exp-json", "e")
    assert (code, out, err) == (
        2, "", "strata: error: --pipeline and --exp-json import different things: give one\n"
    )  # fmt: skip


_PATHS = st.sampled_from(["a.txt", "d", "d/x.txt", "../up", "/abs", "${v}", "o.txt", ".", 3, None])
_STAGE = st.fixed_dictionaries(
    {
        "cmd": st.one_of(
            st.sampled_from(["python a.txt", "a | b", "echo"]), st.sampled_from([[], 1])
        )
    },
    optional={
        "deps": st.one_of(st.lists(_PATHS, max_size=3), _PATHS),
        "outs": st.lists(
            st.one_of(_PATHS, st.dictionaries(_PATHS.map(str), st.none())), max_size=2
        ),
        "params": st.one_of(
            st.lists(st.sampled_from(["lr", "n", "x.y", {"p.json": None}])), _PATHS
        ),
        "always_changed": st.booleans(),
    },
)
_PATHS_OK = st.sampled_from(["a.txt", "d", "d/x.txt", "o.txt", "p.txt"])
_GOOD = st.fixed_dictionaries(
    {"cmd": st.sampled_from(["python a.txt", "a | b"])},
    optional={"deps": st.lists(_PATHS_OK, max_size=2, unique=True),
              "outs": st.lists(st.sampled_from(["o.txt", "p.txt", "q"]), max_size=1),
              "params": st.lists(st.sampled_from(["lr", "x.y"]), unique=True)},
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stages=st.dictionaries(
        st.sampled_from(["a", "b", "B", "c-1"]),
        st.one_of(_STAGE, *[_GOOD] * 4),
        min_size=1,
        max_size=3,
    ),
    lock=st.one_of(
        st.none(), *[st.dictionaries(st.sampled_from(["a", "b"]), _STAGE | _GOOD, max_size=2)] * 3
    ),
)
def test_any_dvc_yaml_and_lock_are_imported_or_refused(
    stages: dict[str, Any], lock: dict[str, Any] | None, repo: Path
) -> None:
    """Whatever dvc.yaml and dvc.lock hold, the import maps it or says why, never a traceback."""
    from strataml.errors import StrataError
    from strataml.importers.dvcpipeline import import_pipeline

    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        (project / "a.txt").write_text("a\n")
        (project / "d").mkdir()
        (project / "d" / "x.txt").write_text("x\n")
        (project / "params.yaml").write_text("lr: 0.1\nn: .nan\nx: {y: 2}\n")
        (project / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
        if lock is not None:
            (project / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": lock}))
        try:
            outcomes = import_pipeline(repo, project, "fuzz")
        except StrataError as exc:
            assert "\n  hint: " in str(exc) or str(exc).count("\n") == 0
            event(str(exc).split(" ")[1] if " " in str(exc) else "?")
        else:
            assert outcomes[0].action == "wrote"
            event("wrote")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dvc_yaml=st.binary(max_size=120), lock=st.binary(max_size=80))
def test_any_bytes_as_dvc_yaml_and_lock_are_refused_with_a_code(
    dvc_yaml: bytes, lock: bytes, repo: Path
) -> None:
    from strataml.errors import StrataError
    from strataml.importers.dvcpipeline import import_pipeline

    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        (project / "dvc.yaml").write_bytes(b"stages:\n  a:\n    cmd: " + dvc_yaml)
        (project / "dvc.lock").write_bytes(b"stages:\n  a:\n    cmd: " + lock)
        try:
            import_pipeline(repo, project, "fuzz")
        except StrataError as exc:
            assert " dvc-" in str(exc) or " PIP" in str(exc) or " SCH" in str(exc), str(exc)


@pytest.mark.parametrize(
    ("cmd", "argv"),
    [
        ("python src/train.py --lr 0.1", ["python", "src/train.py", "--lr", "0.1"]),
        ('python "my script.py"', ["python", "my script.py"]),
        ("python a.py && python b.py", ["sh", "-c", "python a.py && python b.py"]),
        ("python a.py > out.txt", ["sh", "-c", "python a.py > out.txt"]),
        ("SEED=1 python a.py", ["sh", "-c", "SEED=1 python a.py"]),
        ("python a.py $HOME", ["sh", "-c", "python a.py $HOME"]),
        ('python "unbalanced', ["sh", "-c", 'python "unbalanced']),
    ],
)
def test_a_cmd_is_split_unless_it_needs_a_shell(cmd: str, argv: list[str]) -> None:
    from strataml.importers.dvcstages import DvcStage

    assert list(DvcStage("s", cmd, (), (), (), {}, False, None).argv()) == argv


def test_a_directory_where_a_copy_goes_is_refused_on_reimport(
    repo: Path, strata: RunCli, tmp_path: Path
) -> None:
    project = hand_written(
        tmp_path, "stages:\n  a:\n    cmd: python a.py\n    deps: [a.py]\n", EMPTY_LOCK
    )
    (project / "a.py").write_text("print(1)\n")
    assert strata("import", "dvc", str(project), "--pipeline", "churn")[:2] == (0, (
        "wrote     pipelines/churn.yaml: 1 stage, 1 file copied under experiments/churn/\n"
        "skipped   dvc stage a: no run imported: no dvc.lock entry\n"
        "0 imported, 1 skipped, 0 refused\n"
    ))  # fmt: skip
    (repo / "experiments/churn/a.py").unlink()
    (repo / "experiments/churn/a.py").mkdir()
    (repo / "experiments/churn/a.py/keep.txt").write_text("mine\n")
    before = snapshot(repo)
    assert strata("import", "dvc", str(project), "--pipeline", "churn") == (2, "", (
        "strata: error: experiments/churn/a.py: dvc-name is in the way of "
        "experiments/churn/a.py\n  hint: remove it, then import again\n"
    ))  # fmt: skip
    assert snapshot(repo) == before


def test_a_reimport_after_dvc_wrote_other_outputs_imports_them(
    project: Path, repo: Path, strata: RunCli
) -> None:
    """A stage whose outputs differ from run to run: `dvc commit` records new bytes with the
    same command, params and deps. The fingerprint is the same, the lock entry is not: the
    re-import brings a new run holding the new bytes, and --from-stage would hand those out."""
    import_pipeline(strata, project)
    before = {p.name for p in (repo / "runs").iterdir()}
    (project / "eval.json").write_text('{"acc": 0.5, "rows": 1, "chars": 1}')
    dvc(project, "commit", "-q", "-f", "evaluate")
    code, out = import_pipeline(strata, project)
    assert (code, out.count("imported  "), out.count("skipped   ")) == (0, 1, 2)
    [made] = new_runs(repo, before)
    assert run_of(repo, made)["pipeline"]["stage"] == "evaluate"  # type: ignore[index]
    assert (repo / "runs" / made / "artifacts" / "eval.json").read_text() == (
        '{"acc": 0.5, "rows": 1, "chars": 1}'
    )
    assert status(strata)["evaluate"]["run"] == made
    code, out = import_pipeline(strata, project)  # and that lock entry is imported once
    assert (code, out.count("imported  "), out.count("skipped   ")) == (0, 0, 3)


def test_a_param_dvc_ran_with_differs_from_one_of_another_type(
    project: Path, repo: Path, strata: RunCli
) -> None:
    """dvc.lock says `epochs: 3`; params.yaml now says `epochs: 3.0`. Equal to Python, not to a
    fingerprint: train and evaluate get no run, as DVC would rerun them."""
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("epochs: 3", "epochs: 3.0"))
    code, out = import_pipeline(strata, project)
    assert code == 0
    assert [line for line in out.splitlines() if "stage train" in line] == [
        "skipped   dvc stage train: no run imported: param params.yaml train.epochs changed"
    ]
    assert {s: v["state"] for s, v in status(strata).items()} == {
        "prepare": "up to date", "train": "never run", "evaluate": "never run",
    }  # fmt: skip
