"""SIGKILL every writer at hundreds of points: files stay whole, the repository old or new.

python tests/crash.py prints one summary line per writer; tests/test_crash.py asserts them.

strataml is imported once; each trial forks a child that runs the writer's CLI command
in-process in its own process group, and the parent kills the whole group at a moment drawn from a
stratum of the writer's measured span, so the kill points cover the write from start to end.
A second pass kills it just before each of its changes to the file system (an audit hook counts
them), so that every boundary between two file operations is visited on every run.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer
import yaml

from conftest import REPO, TEMPLATE_ENTRIES, commit_all, copy_tree, git
from strataml import schemas
from strataml.cli import index as index_cli
from strataml.cli import integrity as integrity_cli
from strataml.cli import models as models_cli
from strataml.cli import run as run_cli
from strataml.doctor.engine import run_doctor
from strataml.integrity import keys, stamp
from strataml.registry import stages
from strataml.yamlio import parse_yaml

TRIALS = 200  # kill points per writer (issue 9: at least 200 in CI)
DATASET = "datasets/iris/v1"
NEW_DATASET = "datasets/iris/v2"  # a version being prepared, not yet committed
MODEL = "models/iris-classifier/v1"
STAGES = "models/iris-classifier/stages.yaml"
EXTRA = "extra.csv"  # the payload file the checksum trials add and remove
RECORD_SCHEMAS = {
    "config.yaml": "run-config",
    "system.json": "run-system",
    "metrics.json": "run-metrics",
}
ALIAS = "crash"  # the alias the index trials add and remove, so that the catalogue changes


def fork_of_template(scratch: Path, name: str) -> Path:
    """What the `template` fixture makes: a clone with this working tree committed on top."""
    repo = scratch / name.replace(" ", "-")
    git(scratch, "clone", "-q", "--shared", "--no-checkout", str(REPO), str(repo))
    copy_tree(REPO, repo, TEMPLATE_ENTRIES)
    commit_all(repo, "fork of the template")
    return repo


def load_yaml(raw: bytes) -> object:
    return yaml.load(raw, Loader=yaml.CSafeLoader)


class HalfWrittenError(AssertionError):
    """A file that is neither the old nor the new version: the bug this suite hunts."""


@dataclass(frozen=True, slots=True)
class Outcome:
    state: str  # before, after, or the name of an in-between state doctor reports
    leftovers: tuple[str, ...]  # temporary files of interrupted atomic writes
    expected: frozenset[tuple[str, str]]  # exactly what doctor must report: (code, path)


def temporaries(repo: Path, *places: str) -> tuple[str, ...]:
    found = []
    for place in places:
        base = repo / place
        if base.is_dir():
            found += [f"{place}/{p.relative_to(base).as_posix()}" for p in base.rglob(".*.tmp")]
    return tuple(sorted(found))


def leftover_findings(leftovers: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    return frozenset(("LAY015", p) for p in leftovers)


def snapshot(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        return {}
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


class Writer:
    name = ""
    places: tuple[str, ...] = ()  # where its temporary files can be left

    def setup(self, repo: Path) -> None:
        """Once per repository, before the span is measured."""

    def prepare(self, repo: Path, finished: bool) -> None:
        """Before each trial; `finished` says whether the last one ran to the end."""

    def invoke(self) -> None:
        """In the child, with the repository as working directory."""
        raise NotImplementedError

    def inspect(self, repo: Path) -> Outcome:
        """After each trial: which whole state is on disk; raises HalfWrittenError otherwise."""
        raise NotImplementedError

    def tidy(self, repo: Path, outcome: Outcome) -> None:
        """What a user does after reading doctor's report: delete the leftovers."""
        for rel in outcome.leftovers:
            path = repo / rel
            shutil.rmtree(path) if path.is_dir() else path.unlink()


class RunPy(Writer):
    name = "run.py"
    places = ("runs",)

    def setup(self, repo: Path) -> None:
        self.runs = {p.name for p in (repo / "runs").iterdir()}

    def invoke(self) -> None:
        # `python` in the spec is this interpreter, not a version manager's shim script.
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
        run_cli.run(experiment=Path("experiments/my_experiment.yaml"), overrides=["epochs=5"], dry_run=False,
                reuse_earlier=False, name=None, tags=None, jobs=1)  # fmt: skip

    def inspect(self, repo: Path) -> Outcome:
        new = sorted({p.name for p in (repo / "runs").iterdir()} - self.runs)
        leftovers = temporaries(repo, *self.places)
        if not new:
            return Outcome("before", leftovers, leftover_findings(leftovers))
        (run_id,) = new  # one claim per run, never two
        path = f"runs/{run_id}"
        run = repo / path
        entries = {p.name for p in run.iterdir() if not p.name.endswith(".tmp")}
        documents = {}
        for name, schema in RECORD_SCHEMAS.items():
            if name in entries:  # whole means: parses, and is valid against its schema
                raw = (run / name).read_bytes()
                if name.endswith(".yaml"):
                    document = parse_yaml(raw)  # as doctor reads it: dates normalised
                    if not document.ok:
                        raise HalfWrittenError(f"{path}/{name}: {document.problems[0]}")
                    documents[name] = document.data
                else:
                    try:
                        documents[name] = json.loads(raw)
                    except ValueError as exc:
                        raise HalfWrittenError(f"{path}/{name}: {exc}") from exc
                if schemas.validate(schema, documents[name]):
                    raise HalfWrittenError(f"{path}/{name}: not a whole {schema} document")
        found = leftover_findings(leftovers)
        system = documents.get("system.json")
        if system is None:  # claimed, killed before the record began
            missing = {"config.yaml", "system.json", "logs.txt"} - entries
            found |= {("RUN001", f"{path}/{n}") for n in missing}
            return Outcome("claimed", leftovers, found)
        if system["status"] == "running":
            return Outcome("abandoned", leftovers, found | {("RUN006", f"{path}/system.json")})
        if system["status"] != "succeeded":
            raise HalfWrittenError(f"{path}: status {system['status']}")
        if "CHECKSUMS.txt" not in entries:  # finished, killed before the seal
            return Outcome("unsealed", leftovers, found | {("RUN005", f"{path}/CHECKSUMS.txt")})
        return Outcome("after", leftovers, found)

    def tidy(self, repo: Path, outcome: Outcome) -> None:
        for run_id in {p.name for p in (repo / "runs").iterdir()} - self.runs:
            shutil.rmtree(repo / "runs" / run_id)  # as `git rm -r` would, or `git clean`


class StartRun(RunPy):
    """A run started from Python (TFC-0002 R17): the runner's claim, record and seal, in-process."""

    name = "start_run"

    def invoke(self) -> None:
        from strataml.runner.tracked import start_run

        with start_run(experiment="crash", params={"epochs": 5}, inputs={"data": "datasets/iris@v1"},
                       code="experiments/train.py") as run:  # fmt: skip
            for step in range(20):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
            run.log_param("seed", 0)
            run.log_artifact("experiments/train.py", name="train.py")


class Checksum(Writer):
    """Seal a new dataset version whose payload changes between trials (a file added, removed)."""

    name = "strata checksum"
    places = (NEW_DATASET,)

    def setup(self, repo: Path) -> None:
        shutil.copytree(repo / DATASET, repo / NEW_DATASET)
        metadata = repo / NEW_DATASET / "metadata.yaml"
        metadata.write_text(metadata.read_text().replace("\nversion: v1\n", "\nversion: v2\n"))
        self.sealed: dict[bool, tuple[bytes, bytes]] = {}
        for extra in (True, False):
            self._payload(repo, extra=extra)
            stamp.stamp_directory(repo / NEW_DATASET)
            self.sealed[extra] = self._pair(repo)

    def _payload(self, repo: Path, *, extra: bool) -> None:
        if extra:
            (repo / NEW_DATASET / EXTRA).write_text("sepal_length\n5.1\n")
        else:
            (repo / NEW_DATASET / EXTRA).unlink(missing_ok=True)

    def _pair(self, repo: Path) -> tuple[bytes, bytes]:
        return ((repo / NEW_DATASET / "metadata.yaml").read_bytes(),
                (repo / NEW_DATASET / "CHECKSUMS.txt").read_bytes())  # fmt: skip

    def prepare(self, repo: Path, finished: bool) -> None:
        self.extra = (repo / NEW_DATASET / EXTRA).exists()
        if self._pair(repo) not in self.sealed.values():  # left between the renames: restore the
            stale = self.sealed[not self.extra]  # older pair, as `git checkout` of it would
            (repo / NEW_DATASET / "metadata.yaml").write_bytes(stale[0])
            (repo / NEW_DATASET / "CHECKSUMS.txt").write_bytes(stale[1])
        if self._pair(repo) == self.sealed[self.extra]:  # sealed: change the payload again
            self.extra = not self.extra
            self._payload(repo, extra=self.extra)
        self.before = self._pair(repo)

    def invoke(self) -> None:
        integrity_cli.checksum(paths=[Path(NEW_DATASET)], check=False)

    def inspect(self, repo: Path) -> Outcome:
        pair = self._pair(repo)
        leftovers = temporaries(repo, *self.places)
        found = leftover_findings(leftovers)
        after = self.sealed[self.extra]
        extra, metadata = f"{NEW_DATASET}/{EXTRA}", f"{NEW_DATASET}/metadata.yaml"
        stale = ("CHK004" if self.extra else "CHK003", extra)  # the listing before the stamp
        if pair == after:
            return Outcome("after", leftovers, found)
        if pair == self.before:
            return Outcome("before", leftovers, found | {stale})
        if pair == (after[0], self.before[1]):  # between the two renames of one stamp
            return Outcome(
                "between", leftovers, found | {stale, ("CHK005", metadata), ("CHK006", metadata)}
            )
        raise HalfWrittenError(
            f"{NEW_DATASET}: metadata.yaml and CHECKSUMS.txt are neither old nor new"
        )


class Sign(Writer):
    name = "strata sign"
    places = (MODEL,)

    def setup(self, repo: Path) -> None:
        from gpgkeys import make_key  # the tests' throwaway-key helper

        home = Path(os.environ["GNUPGHOME"])
        home.mkdir(mode=0o700, exist_ok=True)
        key = make_key(home, f"Crash Tester {repo.name} <crash@example.org>")  # one per repository
        self.key = key.fingerprint
        public = repo.parent / f"{repo.name}.asc"
        public.write_bytes(key.public)
        keys.add_key(repo, str(public))

        self.shipped = (repo / MODEL / "SIGNATURE.asc").read_bytes()  # the example signer's

    def prepare(self, repo: Path, finished: bool) -> None:
        # Back to the shipped signature alone: a re-signature in the same second is the same
        # bytes (Ed25519 is deterministic), so only adding a signer tells "after" from "before".
        (repo / MODEL / "SIGNATURE.asc").write_bytes(self.shipped)

    def invoke(self) -> None:
        integrity_cli.sign(paths=[Path(MODEL)], key=self.key)

    def inspect(self, repo: Path) -> Outcome:
        raw = (repo / MODEL / "SIGNATURE.asc").read_bytes()
        leftovers = temporaries(repo, *self.places)
        found = leftover_findings(leftovers)
        if raw == self.shipped:
            return Outcome("before", leftovers, found)
        added = raw.removeprefix(self.shipped)
        if not (
            raw.startswith(self.shipped)
            and added.startswith(b"-----BEGIN PGP SIGNATURE-----\n")
            and added.endswith(b"-----END PGP SIGNATURE-----\n")
            and added.count(b"-----BEGIN PGP SIGNATURE-----") == 1
        ):
            raise HalfWrittenError(f"{MODEL}/SIGNATURE.asc: not the old file plus one whole block")
        return Outcome("after", leftovers, found)


class Promote(Writer):
    name = "strata model promote"
    places = ("models/iris-classifier",)

    def prepare(self, repo: Path, finished: bool) -> None:
        self.before = (repo / STAGES).read_bytes()
        self.state = load_yaml(self.before)
        self.to = "staging" if self.state["production"] == "v1" else "production"

    def invoke(self) -> None:
        models_cli.model_promote(targets=["iris-classifier", "v1"], to=self.to, reason="crash trial",
                          override=False, commit=False)  # fmt: skip

    def inspect(self, repo: Path) -> Outcome:
        raw = (repo / STAGES).read_bytes()
        leftovers = temporaries(repo, *self.places)
        found = leftover_findings(leftovers)
        if raw == self.before:
            return Outcome("before", leftovers, found)
        try:
            document = load_yaml(raw)
        except yaml.YAMLError as exc:
            raise HalfWrittenError(f"{STAGES}: {exc}") from exc
        history = document.get("history") if isinstance(document, dict) else None
        if (
            not isinstance(history, list)
            or history[:-1] != self.state["history"]
            or (document[self.to] != "v1" or history[-1]["to"] != self.to)
        ):
            raise HalfWrittenError(f"{STAGES}: not the old or the new stages")
        return Outcome("after", leftovers, found)


class Index(Writer):
    name = "index --site"

    def setup(self, repo: Path) -> None:
        self.built: dict[bool, tuple[dict[str, bytes], bytes]] = {}
        for alias in (True, False):
            self._alias(repo, alias=alias)
            fork_writer(repo, self, None)
            self.built[alias] = self._outputs(repo)

    def _alias(self, repo: Path, *, alias: bool) -> None:
        stages.set_alias(repo, "iris-classifier", ALIAS, "v1" if alias else None)

    def _outputs(self, repo: Path) -> tuple[dict[str, bytes], bytes]:
        site = {k: v for k, v in snapshot(repo / "site").items() if not k.endswith(".tmp")}
        return site, (repo / "index.json").read_bytes()

    def prepare(self, repo: Path, finished: bool) -> None:
        self.alias = ALIAS in (load_yaml((repo / STAGES).read_bytes()).get("aliases") or {})
        if self._outputs(repo) == self.built[self.alias]:
            self.alias = not self.alias
            self._alias(repo, alias=self.alias)
        self.before = self._outputs(repo)

    def invoke(self) -> None:
        index_cli.index(
            output=Path("index.json"), site=Path("site"), doctor_report=None, force=True
        )

    def inspect(self, repo: Path) -> Outcome:
        site, catalogue = self._outputs(repo)
        leftovers = tuple(sorted(p.name for p in repo.glob(".*.tmp")))
        after_site, after_catalogue = self.built[self.alias]
        if site not in (self.before[0], after_site):
            changed = sorted(
                k for k in site.keys() | after_site.keys() if site.get(k) != after_site.get(k)
            )
            raise HalfWrittenError(f"site/ is neither the old nor the new build: {changed[:3]}")
        if catalogue not in (self.before[1], after_catalogue):
            raise HalfWrittenError("index.json is neither the old nor the new catalogue")
        done = site == after_site and catalogue == after_catalogue
        state = "after" if done else "before" if (site, catalogue) == self.before else "site only"
        return Outcome(state, leftovers, leftover_findings(leftovers))


WRITERS: dict[str, Callable[[], Writer]] = {
    w.name: w for w in (RunPy, Checksum, Sign, Promote, Index, StartRun)
}  # fmt: skip


@dataclass(slots=True)
class Tally:
    writer: str
    trials: int = 0
    killed: int = 0  # the kill landed before the writer ended
    half_written: int = 0
    unexpected: int = 0  # doctor findings other than the expected ones
    doctor_runs: int = 0
    states: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    span: float = 0.0  # a clean run's duration, median
    problems: list[str] = field(default_factory=list)
    at_changes: bool = False  # killed before each change to the file system, not at moments

    def __str__(self) -> str:
        states = ", ".join(f"{k} {v}" for k, v in sorted(self.states.items()))
        points = "file-system changes" if self.at_changes else "kill points"
        return (
            f"crash: {self.writer} {self.trials} {points} ({self.killed} mid-write), "
            f"{self.half_written} half-written files, {self.unexpected} unexpected doctor findings"
            f" [{states}; span {self.span:.2f} s; doctor {self.doctor_runs}x; {self.seconds:.1f} s]"
        )


# The audit events of a change to the file system, and the flags of an open that writes.
CHANGES = frozenset({"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.link", "os.symlink",
                     "os.truncate"})  # fmt: skip
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _is_change(repo: Path, event: str, args: tuple[object, ...]) -> bool:
    if event == "open":
        path, _, flags = args
        if not isinstance(flags, int) or not flags & WRITE_FLAGS or isinstance(path, int):
            return False
    elif event in CHANGES:
        path = args[0]
    else:
        return False
    if not isinstance(path, str | bytes | os.PathLike):
        return False
    target = Path(os.fsdecode(path))
    return (target if target.is_absolute() else Path.cwd() / target).is_relative_to(repo)


def _count_changes(repo: Path, kill_at: int | None, counted: Path) -> None:
    """Count the writer's file-system changes in the repository; SIGKILL just before the Nth."""
    seen = 0

    def hook(event: str, args: tuple[object, ...]) -> None:
        nonlocal seen
        if _is_change(repo, event, args):
            seen += 1
            if seen == kill_at:
                os.killpg(0, signal.SIGKILL)
            counted.write_text(str(seen))  # outside the repository: not itself counted

    sys.addaudithook(hook)


def _child(
    repo: Path, writer: Writer, errors: Path, kill_at: int | None, counted: Path | None
) -> None:  # never returns
    code = 70
    try:
        os.setpgid(0, 0)  # its own group, so that the kill reaches the commands it spawns
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        sys.stdout = sys.stderr = Path(os.devnull).open("w")  # noqa: SIM115 - lives until _exit
        os.chdir(repo)
        # A killed writer cannot remove its temporary directories (a throwaway GnuPG home):
        # they go to the test's own scratch space, not the machine's /tmp.
        scratch = repo.parent / "child-tmp"
        scratch.mkdir(exist_ok=True)
        tempfile.tempdir = str(scratch)
        os.environ["TMPDIR"] = str(scratch)
        if counted is not None:
            _count_changes(repo.resolve(), kill_at, counted)
        try:
            writer.invoke()
            code = 0
        except typer.Exit as exc:
            code = int(exc.exit_code)
        if code:
            errors.write_text(f"exit {code}")
    except BaseException:
        errors.write_text(traceback.format_exc())
    finally:
        os._exit(code)


def fork_writer(
    repo: Path, writer: Writer, kill_after: float | None, *, kill_at: int | None = None,
    counted: Path | None = None,
) -> bool:  # fmt: skip
    """Run the writer in a forked child; True if the kill landed before it ended.

    `kill_after` kills it after that many seconds; `kill_at` just before its Nth change to the
    file system (the count of changes is written to `counted`).
    """
    errors = repo.parent / f"{repo.name}.child-error"
    errors.unlink(missing_ok=True)
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        _child(repo, writer, errors, kill_at, counted)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.setpgid(pid, pid)  # also here: the group exists before either side goes on
    if kill_after is not None:
        deadline = started + kill_after
        while (left := deadline - time.perf_counter()) > 0:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                return False
            time.sleep(min(left, 0.002))
        os.killpg(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        return True
    if errors.exists():
        raise AssertionError(f"{writer.name} failed on its own:\n{errors.read_text()}")
    return False


def doctor_findings(repo: Path) -> frozenset[tuple[str, str]]:
    report = run_doctor(repo)
    return frozenset((d.code, d.path) for d in report.diagnostics)


class Trials:
    """One writer in one repository: clean runs, kills, and the judgement of what each left."""

    def __init__(self, repo: Path, name: str, *, doctor_every: int) -> None:
        self.started = time.perf_counter()
        self.repo, self.writer, self.tally = repo, WRITERS[name](), Tally(name)
        self.doctor_every = doctor_every
        self.writer.setup(repo)
        self.baseline = doctor_findings(repo)
        self.durations: list[float] = []
        self.finished, self.seen = True, set[str]()

    def clean_run(self, counted: Path | None = None) -> None:
        """Uninterrupted: its duration, and proof that it ends "after"."""
        self.writer.prepare(self.repo, True)
        clock = time.perf_counter()
        fork_writer(self.repo, self.writer, None, counted=counted)
        self.durations.append(time.perf_counter() - clock)
        outcome = self.writer.inspect(self.repo)
        if outcome.state != "after" or outcome.leftovers:
            self.tally.problems.append(f"a clean run left {outcome.state} {outcome.leftovers}")
        self.writer.tidy(self.repo, outcome)

    def trial(self, number: int, *, kill_after: float | None = None, kill_at: int | None = None,
              counted: Path | None = None) -> bool:  # fmt: skip
        """Kill the writer once and judge what it left; False when a file was half-written."""
        self.writer.prepare(self.repo, self.finished)
        killed = fork_writer(self.repo, self.writer, kill_after, kill_at=kill_at, counted=counted)
        self.finished = not killed
        self.tally.trials += 1
        self.tally.killed += killed
        try:
            outcome = self.writer.inspect(self.repo)
        except HalfWrittenError as exc:
            self.tally.half_written += 1
            self.tally.problems.append(str(exc))
            return False
        self.tally.states[outcome.state] += 1
        if outcome.state not in self.seen or number % self.doctor_every == 0:
            self.seen.add(outcome.state)
            self.tally.doctor_runs += 1
            found = doctor_findings(self.repo) - self.baseline
            if found != outcome.expected:
                self.tally.unexpected += len(found ^ outcome.expected)
                self.tally.problems.append(
                    f"trial {number} ({outcome.state}): doctor reported {sorted(found)}, "
                    f"expected {sorted(outcome.expected)}"
                )
        self.writer.tidy(self.repo, outcome)
        return True

    def end(self) -> Tally:
        self.clean_run()  # the last state is a finished write: doctor has nothing to say
        self.tally.doctor_runs += 1
        left = doctor_findings(self.repo) - self.baseline
        if left:
            self.tally.unexpected += len(left)
            self.tally.problems.append(f"after the last trial: {sorted(left)}")
        self.tally.span = statistics.median(self.durations)
        self.tally.seconds = time.perf_counter() - self.started
        return self.tally


ATTEMPTS = 3  # kill attempts allowed per kill that must land mid-write


def crash(
    repo: Path, name: str, *, trials: int, seed: int, doctor_every: int = 40, clean_every: int = 20
) -> Tally:
    """Kill one writer mid-write `trials` times, at moments spread over its span (re-measured as
    the run goes): a kill that lands after the writer ended is judged too but not counted, so
    a loaded machine, on which the writer runs slower than measured, takes more attempts instead
    of proving less (at most ATTEMPTS per kill)."""
    run = Trials(repo, name, doctor_every=doctor_every)
    for _ in range(3):
        run.clean_run()
    rng = random.Random(seed)
    number = 0
    while run.tally.killed < trials and number < ATTEMPTS * trials:
        fractions = [(i + rng.random()) / trials for i in range(trials)]  # one per stratum
        rng.shuffle(fractions)
        for fraction in fractions[: trials - run.tally.killed]:
            number += 1
            span = statistics.median(run.durations[-5:])
            if not run.trial(number, kill_after=fraction * span):
                return run.end()
            if number % clean_every == 0:
                run.clean_run()
    return run.end()


def crash_at_every_change(repo: Path, name: str) -> Tally:
    """Kill one writer just before each of its changes to the file system, in order.

    Where `crash` samples moments, this visits every boundary between two file operations, so
    that a state a few microseconds wide is reached on every run, not now and then.
    """
    run = Trials(repo, name, doctor_every=1)
    run.tally.at_changes = True
    counted = repo.parent / f"{repo.name}.changes"
    counts = []
    for _ in range(2):
        run.clean_run(counted)
        counts.append(int(counted.read_text()))
    if counts[0] != counts[1]:
        run.tally.problems.append(f"two clean runs made {counts} changes to the file system")
    for number in range(1, max(counts) + 1):
        if not run.trial(number, kill_at=number, counted=counted):
            break
    return run.end()


# Two workers, one per core, each with its own repositories; run.py alone is about half the work,
# start_run (the same record, written in-process) took 42 s of 200 kill points on 2 cores.
SHARES = (
    ("run.py", "start_run"),
    ("strata sign", "strata model promote", "index --site", "strata checksum"),
)


def crash_all(
    make_repo: Callable[[str], Path], *, trials: int, names: tuple[str, ...] = ()
) -> list[Tally]:
    """Every writer (or the named ones), in two forked workers; tallies in WRITERS order."""
    import multiprocessing

    wanted = names or tuple(WRITERS)
    shares = [tuple(n for n in share if n in wanted) for share in SHARES]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = [
            pool.apply_async(_share, (make_repo, share, trials)) for share in shares if share
        ]
        tallies = [t for r in results for t in r.get()]
    return sorted(tallies, key=lambda t: list(WRITERS).index(t.writer))


def _share(make_repo: Callable[[str], Path], names: tuple[str, ...], trials: int) -> list[Tally]:
    seeds = {name: number for number, name in enumerate(WRITERS, start=1)}
    tallies = []
    for name in names:
        tallies.append(crash_at_every_change(make_repo(f"{name} changes"), name))
        tallies.append(crash(make_repo(name), name, trials=trials, seed=seeds[name]))
    return tallies
