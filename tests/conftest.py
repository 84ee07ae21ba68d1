from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = Path(__file__).resolve().parent / "examples"
# What a fork of the template holds that doctor looks at.
TEMPLATE_ENTRIES = (
    "pyproject.toml", "README.md", ".gitignore", ".gitattributes",
    "datasets", "models", "runs", "experiments", "pipelines", "keys",
    ".github", ".gitlab-ci.yml", ".pre-commit-hooks.yaml", ".vscode",  # CI, hook, editor (TFC-0006)
)  # fmt: skip

# Property tests: under CI=true the same examples every run (seeded from each test, no example
# database to replay an old failure from, no timing), with the blob to reproduce a failure;
# elsewhere Hypothesis explores anew each run and keeps its failures in .hypothesis/.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    print_blob=True,
    max_examples=100,  # where a test names no number of its own
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")

# Ctrl-C as a terminal delivers it: a suite started in the background of a non-interactive shell
# (`.ci/run` starts the other Pythons' suites so) inherits SIGINT ignored, and every process it
# starts would too, so a test's Ctrl-C would never arrive. Python's own handler, as at start-up.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The exhaustive suites (the hostile corpus's 3,040 cases, the crash suite's 200 kill points per
# writer) run whole in .ci/run's own suite; .ci/versions' side-by-side suites on the other Pythons
# set STRATA_SAMPLE_EVERY=N and run every Nth case, and a Nth of the kill points, the same ones
# every run. Unset, or 1, means the whole suite.
SAMPLE_EVERY_TEXT = os.environ.get("STRATA_SAMPLE_EVERY", "1")
if not SAMPLE_EVERY_TEXT.isdigit() or int(SAMPLE_EVERY_TEXT) < 1:
    raise pytest.UsageError(f"STRATA_SAMPLE_EVERY={SAMPLE_EVERY_TEXT!r}: give a whole number >= 1")
SAMPLE_EVERY = int(SAMPLE_EVERY_TEXT)


def require_tool(name: str) -> str:
    """Path of a system tool; skip without it, but fail under CI=true (CI installs it)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}, and CI must provide it (.ci/run installs it)")
        pytest.skip(message)
    return path


def require_module(name: str) -> Any:
    """A test-extra module; skip without it, but fail under CI=true (CI installs the extra)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        message = f"{name} (test extra) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}, and CI must provide it")
        pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium (the system's), driven by Playwright; one per test module."""
    if os.environ.get("STRATA_WITHOUT_BROWSER") == "1":  # .ci/versions: the other Pythons
        pytest.skip("STRATA_WITHOUT_BROWSER=1: the dashboard is tested in Chromium once, by "
                    ".ci/run's first suite (the page does not depend on the Python)")  # fmt: skip
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        require_tool("chromium")
    sync_api = require_module("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


# Python 3.12 made sum() of floats compensated (Neumaier): the example's training sums floats, so
# some of its results differ in the last digit between 3.11 and 3.12+ (tests pin both values).
COMPENSATED_SUM = sys.version_info >= (3, 12)


def installed_script(name: str) -> str:
    """A console script of this environment: the one pip put beside this interpreter, never
    whichever PATH finds first (the suite runs as `/path/to/venv/bin/python -m pytest` too)."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        message = f"{name} is not installed beside {sys.executable}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}, and CI must provide it (pip install -e '.[test]')")
        pytest.skip(message)
    return str(path)


def assert_check_jsonschema(path: Path, schema: str) -> None:
    """`path` passes schemas/<schema>.schema.json by check-jsonschema, a validator not ours."""
    tool = installed_script("check-jsonschema")
    result = subprocess.run(
        [tool, "--schemafile", str(REPO / "schemas" / f"{schema}.schema.json"), str(path)],
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "ok -- validation done"), (
        result.stdout + result.stderr
    )


EVIDENCE: list[str] = []  # figures the suite proves, e.g. the hostile corpus's tally


def record_evidence(line: str) -> None:
    """A summary line for pytest's closing report (section "evidence"), so CI logs show it."""
    EVIDENCE.append(line)


# Tests marked `hostile_pr("class")` each play a pull request written to pass the gate without
# earning it; passing means the gate caught it (tests/test_hostile_prs.py and the class's own module).
HOSTILE_PRS: set[str] = set()
HOSTILE_PR_OUTCOMES: dict[str, bool] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    HOSTILE_PRS.update(item.nodeid for item in items if item.get_closest_marker("hostile_pr"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid not in HOSTILE_PRS or report.skipped:
        return
    if report.when == "call" or report.failed:
        caught = HOSTILE_PR_OUTCOMES.get(report.nodeid, True) and report.passed
        HOSTILE_PR_OUTCOMES[report.nodeid] = caught


def hostile_pr_tally() -> str | None:
    if not HOSTILE_PR_OUTCOMES:
        return None
    caught = sum(HOSTILE_PR_OUTCOMES.values())
    return f"hostile pull requests: {len(HOSTILE_PR_OUTCOMES)} tried, {caught} caught"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [*EVIDENCE, *filter(None, [hostile_pr_tally()])]
    if lines:
        terminalreporter.section("evidence")
        for line in lines:
            terminalreporter.write_line(line)


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """A home of the test's own, no system or user Git configuration, a fixed Git identity:
    every test's environment, and that of a module's shared fixture (pytest.MonkeyPatch.context)."""
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GNUPGHOME", str(home / ".gnupg"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for var in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{var}_NAME", "Strata Test")
        monkeypatch.setenv(f"GIT_{var}_EMAIL", "test@strataml.invalid")


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    isolate(monkeypatch, home)
    yield
    if (home / ".gnupg").is_dir():  # signing with a test's keys started the user's agent there
        from gpgkeys import stop_agent

        stop_agent(home / ".gnupg")


@pytest.fixture(scope="session", autouse=True)
def _no_agent_outlives_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Safety net for homes a test made itself; the library stops the agents of its own."""
    yield
    from gpgkeys import running_agents, stop_agent

    for home in running_agents(tmp_path_factory.getbasetemp()):
        stop_agent(home)


def settle(repo: Path) -> Path:
    """Wait until every file under `repo` was last changed longer ago than the racy window, so
    that the hash cache may remember it (TFC-0008 R13): what a file checked out a while ago is."""
    import time

    from strataml.integrity.cache import RACY_NS

    newest = max(
        (p.lstat().st_ctime_ns for p in repo.rglob("*") if ".git" not in p.relative_to(repo).parts),
        default=0,
    )
    wait = newest + RACY_NS - time.time_ns()
    if wait > 0:
        time.sleep(wait / 1e9 + 0.01)
    return repo


def copy_tree(source: Path, destination: Path, entries: tuple[str, ...] | None = None) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", ".strata")
    names = entries if entries is not None else tuple(p.name for p in source.iterdir())
    destination.mkdir(parents=True, exist_ok=True)
    for name in names:
        item = source / name
        if item.is_dir():
            shutil.copytree(item, destination / name, symlinks=True, ignore=ignore)
        elif item.exists():
            shutil.copy2(item, destination / name)
    return destination


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def home() -> Iterator[Path]:
    """The user's own GNUPGHOME (conftest points it at a throwaway); its agent stopped after."""
    require_tool("gpg")
    path = Path(os.environ["GNUPGHOME"])
    path.mkdir(mode=0o700, exist_ok=True)
    yield path
    if shutil.which("gpgconf"):
        subprocess.run(["gpgconf", "--homedir", str(path), "--kill", "all"],
                       capture_output=True, timeout=60, check=False)  # fmt: skip


def write_prose(artifact: Path) -> None:
    """What a person does before committing what a writer made: answer every section left as
    `_To be written._` in card.md and datasheet.md (else MOD008, DAT006), then re-stamp."""
    from strataml.integrity.stamp import stamp_directory

    for name in ("card.md", "datasheet.md"):
        path = artifact / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("_To be written._", "Written for the test."), "utf-8")
    stamp_directory(artifact)


def snapshot(repo: Path) -> dict[str, str]:
    """Every file outside .git and .strata, by content: what 'nothing changed on disk' means."""
    found = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo).as_posix()
        if rel.split("/", 1)[0] in {".git", ".strata"} or not path.is_file():
            continue
        found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def commit_all(repo: Path, message: str = "snapshot") -> None:
    if not (repo / ".git").exists():
        git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """A copy of this template repository, as a fork would hold it (a real Git repository)."""
    return fork_template(tmp_path / "template")


_SESSION: dict[str, Any] = {}


@pytest.fixture(scope="session", autouse=True)
def _session_temp(tmp_path_factory: pytest.TempPathFactory) -> None:
    _SESSION["factory"] = tmp_path_factory


def history() -> Path:
    """This checkout's history, cloned once per session for forks to share. Not the checkout's
    own object store: a commit made there while the tests run (in another worktree, say) would
    change what the forks' Git reads, and with it every key the verdict cache builds on it."""
    if "history" not in _SESSION:
        factory = _SESSION.get("factory")
        parent = factory.mktemp("history") if factory else Path(tempfile.mkdtemp())
        git(parent, "clone", "-q", "--bare", "--no-local", str(REPO), str(parent / "template.git"))
        _SESSION["history"] = parent / "template.git"
    path: Path = _SESSION["history"]
    return path


def fork_template(repo: Path) -> Path:
    require_tool("git")
    repo.parent.mkdir(parents=True, exist_ok=True)
    if (REPO / ".git").exists():
        # A fork keeps the template's history (the shipped run names one of its commits);
        # the working tree is this checkout's, committed on top.
        git(repo.parent, "clone", "-q", "--shared", "--no-checkout", str(history()), str(repo))
        # On `main`, whatever this checkout is on (a worktree's branch, a detached CI HEAD).
        git(repo, "update-ref", "refs/heads/main", "HEAD")
        git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    copy_tree(REPO, repo, TEMPLATE_ENTRIES)
    commit_all(repo, "fork of the template")
    return repo


def shipped_runs() -> frozenset[str]:
    """Runs committed in the template itself, which every copy of it starts with."""
    runs = REPO / "runs"
    return frozenset(p.name for p in runs.iterdir() if p.name.startswith("run-"))


EXAMPLE_RUN = "run-2026-11-25-sunrtb"  # the example experiment's shipped run (the model's)
# The example pipeline's shipped stage runs (pipelines/iris.yaml), by stage.
PIPELINE_RUNS = {"run-2026-12-06-6l4ym3": "prepare", "run-2026-12-06-r5plkt": "train",
                 "run-2026-12-06-ni5vhx": "evaluate"}  # fmt: skip


def without_pipeline_runs(repo: Path) -> Path:
    """A fork whose example pipeline was never run: its shipped stage runs removed, committed."""
    for run_id in PIPELINE_RUNS:
        shutil.rmtree(repo / "runs" / run_id)
    commit_all(repo, "without the example pipeline's runs")
    return repo


def example_run() -> str:
    """The shipped run of experiments/my_experiment.yaml, beside the example pipeline's."""
    assert EXAMPLE_RUN in shipped_runs()
    return EXAMPLE_RUN


@pytest.fixture
def base_repo(tmp_path: Path) -> Path:
    """The small repository the golden cases start from (tests/examples/base)."""
    return copy_tree(EXAMPLES / "base", tmp_path / "base")


def doctor_script(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real entry point, `python tools/doctor.py`, in its own process."""
    script = str(REPO / "tools" / "doctor.py")
    return subprocess.run(
        [sys.executable, script, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


RunCli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def strata(capsys: pytest.CaptureFixture[str]) -> Iterator[RunCli]:
    """Run the `strata` CLI in-process: (exit code, stdout, stderr)."""
    from strataml.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    yield run


@pytest.fixture
def lfs_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(LFS endpoint URL, storage directory) of a giftless server that stops when the test ends."""
    require_tool("git-lfs")
    require_module("giftless")
    storage = tmp_path / "lfs-store"
    storage.mkdir()
    log_path = tmp_path / "lfs-server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "lfs_server.py"), str(storage)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
        )  # fmt: skip
        assert server.stdout is not None and server.stdin is not None
        port = server.stdout.readline().strip()
        try:
            assert port.isdigit(), "the LFS server did not start:\n" + log_path.read_text()
            yield f"http://127.0.0.1:{port}/team/ml.git/info/lfs", storage
        finally:
            server.stdin.close()  # the server stops when its stdin closes
            server.wait(timeout=30)
            server.stdout.close()
