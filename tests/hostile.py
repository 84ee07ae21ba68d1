"""The hostile repository corpus: corrupted copies of tests/examples/base, each doctored in a
forked child with bounded time and memory. Doctor must never raise, hang or blow memory, and
must report every change to an artifact's integrity-relevant content as an error (TFC-0006 R14).

python tests/hostile.py     prints the codes reported per mutation kind and the summary line
                            (-v: every case; --every N: every Nth case only)

A case is a list of steps (kind, target, argument): plain strings, so that a case is data that
crosses a pipe. The cases run in a fresh "zygote" process (`--serve`) that imports doctor once
and forks a child per case: forking the test process itself would inherit blake3's (rayon's)
thread pool, which a forked child can never use again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from hostile_steps import (  # noqa: E402
    ARTIFACTS,
    BASE,
    CARD,
    DATASET,
    MODEL,
    RUN_DIR,
    SCHEMAS,
    STAGES,
    TRAVERSALS,
    WRONG_VALUES,
    FieldEdit,
    Step,
    apply_step,
    artifact_of,
    card_split,
    load_document,
    set_at,
)

TIME_LIMIT_S = float(os.environ.get("STRATA_HOSTILE_SECONDS", "20"))  # per case, wall clock
RSS_LIMIT = 512 << 20  # per case, peak resident set (ru_maxrss)
AS_HEADROOM = 1 << 30  # address space the child may add to what it inherits
JOBS = min(2, os.cpu_count() or 1)  # cases in flight at once


@dataclass(frozen=True, slots=True)
class Case:
    steps: tuple[Step, ...]
    tamper: bool  # changes integrity-relevant content: doctor MUST report an error
    expect_error: bool  # tamper, or leaves a document doctor must refuse

    @property
    def id(self) -> str:
        return " + ".join(f"{k}:{t}:{a}" if a else f"{k}:{t}" for k, t, a in self.steps)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # ok | refused (StrataError) | crash | hang | memory | harness
    seconds: float  # wall time of the whole case
    doctor_seconds: float
    max_rss: int  # bytes
    errors: tuple[str, ...]  # codes reported with severity error
    codes: tuple[str, ...]  # every code reported
    detail: str = ""


# -- the corpus ----------------------------------------------------------------------------------

FILE_KINDS: dict[str, tuple[str, ...]] = {
    "flip": ("first", "middle", "last"),
    "truncate": ("empty", "half", "one"),
    "delete": ("",),
    "rename": ("sibling", "case", "not-utf8", "long", "backslash", "newline"),
    "symlink": ("loop", "escape", "escape-up", "dangling", "inside"),
    "hard-link": ("outside-artifact", "outside-repo"),
    "fifo": ("",),
    "directory": ("",),
    "content": ("not-utf8", "nul", "bom", "crlf", "cr", "append-newline", "append-nul", "binary"),
}
DOCUMENT_CONTENT = (
    "huge-line", "yaml-bomb", "merge-bomb", "quadratic", "deep-flow", "deep-json", "deep-block",
    "python-tag", "many-documents",
)  # fmt: skip
ADDITIONS = (
    "file", "empty-dir", "fifo", "socket", "symlink-loop", "symlink-dir-loop", "symlink-escape",
    "hard-link-outside-artifact", "hard-link-outside-repo", "case-collision", "not-utf8-name",
    "long-name", "deep-path", "temp-file", "control-name",
)  # fmt: skip
LISTINGS = tuple(f"{a}/CHECKSUMS.txt" for a in ARTIFACTS)

# Schema-valid edits that contradict the rest of the repository, each stamped again: (file,
# field, value, a code doctor must report).
INCONSISTENT: tuple[tuple[str, list[str | int], Any, str], ...] = (
    (f"{DATASET}/metadata.yaml", ["name"], "other", "DAT002"),
    (f"{DATASET}/metadata.yaml", ["version"], "v2", "DAT003"),
    (f"{DATASET}/metadata.yaml", ["splits", "train", "bytes"], 17, "DAT004"),
    (f"{DATASET}/metadata.yaml", ["splits", "train", "files"], 2, "DAT004"),
    (f"{DATASET}/metadata.yaml", ["splits", "train", "path"], "test", "DAT004"),
    (f"{DATASET}/metadata.yaml", ["splits", "val"], {"path": "val", "files": 1}, "DAT004"),
    (f"{DATASET}/metadata.yaml", ["provenance", "derived_from"], ["datasets/toy@v1"], "LIN003"),
    (f"{DATASET}/metadata.yaml", ["provenance", "derived_from"], ["datasets/none@v1"], "LIN001"),
    (f"{MODEL}/metadata.yaml", ["name"], "other", "MOD002"),
    (f"{MODEL}/metadata.yaml", ["version"], "v3", "MOD003"),
    (f"{MODEL}/metadata.yaml", ["artifacts", 0, "path"], "missing.json", "MOD004"),
    (f"{MODEL}/metadata.yaml", ["training", "run"], "run-2026-11-25-zzzzzz", "LIN001"),
    (f"{MODEL}/metadata.yaml", ["training", "datasets", 0], "datasets/toy@v9", "LIN001"),
    (
        f"{MODEL}/metadata.yaml",
        ["training", "datasets", 0],
        "datasets/toy@v1#blake3:" + "0" * 64,
        "LIN002",
    ),
    (f"{MODEL}/metadata.yaml", ["content_hash"], "blake3:" + "0" * 64, "CHK006"),
    (f"{MODEL}/metrics.yaml", ["metrics", 0, "split"], "val", "LIN005"),
    (f"{MODEL}/metrics.yaml", ["metrics", 0, "dataset"], "datasets/none@v1", "LIN001"),
    (CARD, ["license"], "mit", "MOD005"),
    (f"{RUN_DIR}/config.yaml", ["run_id"], "run-2026-11-25-other1", "RUN003"),
    (f"{RUN_DIR}/config.yaml", ["inputs", "data", "content_hash"], "blake3:" + "1" * 64, "RUN011"),
    (
        f"{RUN_DIR}/config.yaml",
        ["inputs", "data", "ref"],
        "datasets/toy@v7#blake3:" + "e" * 64,
        "RUN010",
    ),
    (f"{RUN_DIR}/config.yaml", ["experiment", "spec", "outputs"], ["missing.txt"], "RUN009"),
    (f"{RUN_DIR}/system.json", ["status"], "failed", "LIN004"),  # the model's run failed
    (f"{RUN_DIR}/system.json", ["exit_code"], 1, "RUN004"),
    (f"{RUN_DIR}/system.json", ["status"], "running", "RUN004"),  # yet sealed
    (STAGES, ["production"], "v2", "STG002"),
    (STAGES, ["staging"], "v1", "STG003"),
    (STAGES, ["history"], [], "STG004"),
    (STAGES, ["aliases"], {"production": "v1"}, "STG007"),
)
# Fields holding a path or a reference: a traversal there must always be refused.
PATH_FIELDS: tuple[tuple[str, list[str | int]], ...] = (
    (f"{DATASET}/metadata.yaml", ["splits", "train", "path"]),
    (f"{DATASET}/metadata.yaml", ["splits", "test", "path"]),
    (f"{DATASET}/metadata.yaml", ["name"]),
    (f"{DATASET}/metadata.yaml", ["version"]),
    (f"{MODEL}/metadata.yaml", ["artifacts", 0, "path"]),
    (f"{MODEL}/metadata.yaml", ["training", "run"]),
    (f"{MODEL}/metadata.yaml", ["training", "datasets", 0]),
    (f"{MODEL}/metadata.yaml", ["name"]),
    (f"{MODEL}/metrics.yaml", ["metrics", 0, "dataset"]),
    (f"{RUN_DIR}/config.yaml", ["run_id"]),
    (f"{RUN_DIR}/config.yaml", ["experiment", "path"]),
    (f"{RUN_DIR}/config.yaml", ["experiment", "spec", "outputs", 0]),
    (f"{RUN_DIR}/config.yaml", ["experiment", "spec", "inputs", "data"]),
    (f"{RUN_DIR}/config.yaml", ["inputs", "data", "ref"]),
    (f"{RUN_DIR}/config.yaml", ["inputs", "data", "path"]),
    (STAGES, ["production"]),
    (STAGES, ["archived"]),
    (STAGES, ["history", 0, "version"]),
)


def base_files() -> list[str]:
    return sorted(
        p.relative_to(BASE).as_posix()
        for p in BASE.rglob("*")
        if p.is_file() and ".strata" not in p.parts
    )


def base_directories() -> list[str]:
    return sorted(
        p.relative_to(BASE).as_posix()
        for p in BASE.rglob("*")
        if p.is_dir() and ".strata" not in p.parts
    )


def _nodes(data: Any, where: list[str | int]) -> Iterator[list[str | int]]:
    yield where
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _nodes(value, [*where, key])
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _nodes(value, [*where, index])


def _document(target: str) -> Any:
    if target == CARD:
        return card_split((BASE / target).read_text(encoding="utf-8"))[0]
    return load_document(BASE / target)


def invalid_after(target: str, where: list[str | int], value: Any, delete: bool) -> bool:
    """Would the edited document fail its schema? (Then doctor must say so.)"""
    from strataml import schemas

    if target not in SCHEMAS:
        return False
    data = json.loads(json.dumps(_document(target), default=str))
    edited = set_at(data, where, None if delete else value, delete=delete)
    return bool(schemas.validate(SCHEMAS[target], edited))


def document_nodes(target: str) -> list[list[str | int]]:
    return list(_nodes(_document(target), []))


def in_artifact(target: str) -> bool:
    return artifact_of(target) is not None


def corpus() -> list[Case]:
    """The fixed regression corpus: every kind of damage x every target it applies to."""
    cases: list[Case] = []

    def add(steps: tuple[Step, ...], tamper: bool, expect_error: bool | None = None) -> None:
        cases.append(Case(steps, tamper, tamper if expect_error is None else expect_error))

    files = base_files()
    for target in files:
        tamper = in_artifact(target)
        empty = (BASE / target).stat().st_size == 0
        for kind, args in FILE_KINDS.items():
            for arg in args:
                if empty and kind in ("flip", "truncate"):
                    continue  # nothing to flip or cut
                if kind == "hard-link" and arg == "outside-artifact" and not in_artifact(target):
                    continue
                add(((kind, target, arg),), tamper)
        if target in SCHEMAS or target.endswith((".yaml", ".json", ".md", ".txt", ".toml")):
            for arg in DOCUMENT_CONTENT:
                add((("content", target, arg),), tamper)
    for directory in base_directories():
        for arg in ADDITIONS:
            # An empty directory holds no bytes: Git cannot record it, b3sum does not list it.
            add((("add", directory, arg),), in_artifact(directory + "/x") and arg != "empty-dir")
    for listing in LISTINGS:
        for arg in _listing_kinds():
            # Reordered lines list the same digests: a warning (CHK008), not a changed listing.
            # A comment, blank line or trailing space is a listing b3sum refuses: an error.
            add((("listing", listing, arg),), arg != "unsorted")
    for target in [*SCHEMAS, CARD]:
        document = _document(target)
        for where in _nodes(document, []):
            if not where:
                continue
            node = tuple(where)
            for name, value in WRONG_VALUES.items():
                step = ("field", target, str(FieldEdit(node, name)))
                add((step,), False, invalid_after(target, where, value, False))
            add(
                (("field", target, str(FieldEdit(node, "delete"))),),
                False,
                invalid_after(target, where, None, True),
            )
            if in_artifact(target):  # the same edit without re-stamping: plain tampering
                add((("field-unstamped", target, str(FieldEdit(node, "string"))),), True)
    for target, where in PATH_FIELDS:
        for name in TRAVERSALS:
            add((("field", target, str(FieldEdit(tuple(where), f"../{name}"))),), False, True)
    for target, where, value, _code in INCONSISTENT:
        add((set_field(target, where, value),), False, True)
    return cases


def set_field(target: str, where: list[str | int], value: Any) -> Step:
    """The step that sets the node at `where` in `target` to the JSON value `value`."""
    return ("field", target, str(FieldEdit(tuple(where), "value", value)))


def _listing_kinds() -> list[str]:
    return [
        "crlf", "bom", "duplicate", "duplicate-other-digest", "unsorted", "uppercase", "one-space",
        "tab", "binary-mode", "no-final-newline", "trailing-space", "blank-line", "comment",
        "lists-itself", "lists-missing", "dropped-line", "escaped-name", "huge-line", "over-limit",
        *(f"../{n}" for n in TRAVERSALS),
    ]  # fmt: skip


def expected_codes() -> dict[str, str]:
    """Case id -> the code an inconsistent edit must be reported with."""
    return {Case((set_field(t, w, v),), False, True).id: code for t, w, v, code in INCONSISTENT}


# -- running a case: a forked child of the zygote, bounded ----------------------------------------


def _child(steps: list[Step], scratch: Path, out: int) -> None:
    from strataml.doctor.engine import run_doctor
    from strataml.doctor.report import REPORTERS
    from strataml.errors import StrataError

    repo = scratch / "repo"
    result: dict[str, Any]
    try:
        shutil.copytree(BASE, repo, symlinks=True, ignore=shutil.ignore_patterns(".strata"))
        for step in steps:
            apply_step(repo, step)
    except Exception:
        result = {"status": "harness", "detail": traceback.format_exc()}
    else:
        started = time.perf_counter()
        try:
            if steps and steps[0][0] == "selftest":  # proves the bounds catch what they should
                _selftest(steps[0][2])
            report = run_doctor(repo, strict=True)
            for render in REPORTERS.values():  # every output format copes with it too
                render(report)
        except StrataError as exc:
            result = {"status": "refused", "detail": str(exc)}
        except MemoryError:
            result = {"status": "memory", "detail": traceback.format_exc()}
        except BaseException:
            result = {"status": "crash", "detail": traceback.format_exc()}
        else:
            result = {
                "status": "ok",
                "errors": sorted(
                    {d.code for d in report.diagnostics if d.severity.value == "error"}
                ),
                "codes": sorted({d.code for d in report.diagnostics}),
            }
        result["doctor_seconds"] = time.perf_counter() - started
    data = json.dumps(result).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(out, view) :]


def _selftest(what: str) -> None:
    if what == "hang":
        time.sleep(3600)
    elif what == "memory":
        bytearray(AS_HEADROOM * 2)
    elif what == "rss":
        bytearray(RSS_LIMIT + (64 << 20))
    elif what == "die":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif what == "crash":
        raise RuntimeError("a bug")


def _address_space() -> int:
    with Path("/proc/self/statm").open() as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


# tmpfs where there is one: the hash cache's sqlite fsyncs cost more than the rest of a case.
SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def run_case(steps: list[Step]) -> Outcome:
    """Fork, apply the steps to a fresh copy of the base, doctor it; bounded in time and memory."""
    scratch = Path(tempfile.mkdtemp(prefix="strata-hostile-", dir=SCRATCH))
    limit = _address_space() + AS_HEADROOM
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_fd)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            _child(steps, scratch, write_fd)
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks: list[bytes] = []
    hung = False
    try:
        while True:
            left = TIME_LIMIT_S - (time.monotonic() - started)
            if left <= 0:
                hung = True
                os.kill(pid, signal.SIGKILL)
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if ready:
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, wait_status, usage = os.wait4(pid, 0)
        seconds = time.monotonic() - started
        shutil.rmtree(scratch, ignore_errors=True)
    rss = usage.ru_maxrss * 1024
    if hung:
        return Outcome("hang", seconds, seconds, rss, (), (), f"killed after {TIME_LIMIT_S} s")
    try:
        result = json.loads(b"".join(chunks))
    except ValueError:
        return Outcome("crash", seconds, 0.0, rss, (), (), f"child died: wait status {wait_status}")
    status = result["status"]
    if status == "ok" and rss > RSS_LIMIT:
        status = "memory"
    return Outcome(
        status,
        seconds,
        float(result.get("doctor_seconds", 0.0)),
        rss,
        tuple(result.get("errors", ())),
        tuple(result.get("codes", ())),
        result.get("detail", ""),
    )


def encode_steps(steps: tuple[Step, ...]) -> str:
    """A case's steps as one line for the zygote's stdin (JSON escapes every newline)."""
    return json.dumps(steps)


def decode_steps(line: str) -> list[Step]:
    return [(kind, target, arg) for kind, target, arg in json.loads(line)]


def serve() -> int:
    """The zygote: read one case (a JSON list of steps) per line, answer one outcome per line."""
    from strataml import schemas
    from strataml.doctor.engine import run_doctor

    with tempfile.TemporaryDirectory(dir=SCRATCH) as warm:  # schemas compiled, modules loaded
        run_doctor(shutil.copytree(BASE, Path(warm) / "repo"), strict=True)
    for schema in (REPO / "schemas").glob("*.schema.json"):  # and the reference validators,
        schemas.validate(schema.name.removesuffix(".schema.json"), {"": None})  # built on error
    gc.freeze()  # the children's collector leaves the inherited objects (and their pages) alone
    for line in sys.stdin:
        outcome = run_case(decode_steps(line))
        sys.stdout.write(json.dumps(dataclasses.astuple(outcome)) + "\n")
        sys.stdout.flush()
    return 0


class Zygote:
    """A fresh process that has imported doctor, forking one bounded child per case."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )

    def run(self, steps: tuple[Step, ...]) -> Outcome:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(encode_steps(steps) + "\n")
        self.proc.stdin.flush()
        fields = json.loads(self.proc.stdout.readline())
        return Outcome(*fields)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        self.proc.wait(timeout=60)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def verdict(case: Case, outcome: Outcome) -> str | None:
    """What is wrong with an outcome, or None."""
    if outcome.status not in ("ok", "refused"):
        return outcome.status
    if case.expect_error and not outcome.errors:
        return "undetected"
    code = expected_codes().get(case.id)
    if code is not None and code not in outcome.errors:
        return f"missing {code}"
    return None


@dataclass
class Tally:
    tried: int = 0
    problems: dict[str, int] | None = None
    tampering: int = 0
    max_seconds: float = 0.0
    max_rss: int = 0

    def add(self, case: Case, outcome: Outcome, problem: str | None) -> None:
        self.problems = self.problems or defaultdict(int)
        self.tried += 1
        self.tampering += case.tamper
        self.max_seconds = max(self.max_seconds, outcome.seconds)
        self.max_rss = max(self.max_rss, outcome.max_rss)
        if problem:
            self.problems[problem.split()[0]] += 1

    def summary(self) -> str:
        p = self.problems or {}
        return (
            f"hostile corpus: {self.tried} cases tried, {p.get('crash', 0)} crashes, "
            f"{p.get('hang', 0)} hangs, {p.get('memory', 0)} over memory, "
            f"{self.tampering} tampering cases, {p.get('undetected', 0)} undetected, "
            f"{p.get('missing', 0) + p.get('harness', 0)} other; "
            f"max {self.max_seconds:.1f} s, max {self.max_rss >> 20} MiB per case"
        )


def run_all(cases: list[Case], jobs: int = 2) -> Iterator[tuple[Case, Outcome]]:
    """Every case, `jobs` at a time (one zygote each), yielded in order."""
    from concurrent.futures import ThreadPoolExecutor

    zygotes = [Zygote() for _ in range(max(1, jobs))]
    free = list(zygotes)
    lock = threading.Lock()

    def one(case: Case) -> Outcome:
        with lock:
            zygote = free.pop()
        try:
            return zygote.run(case.steps)
        finally:
            with lock:
                free.append(zygote)

    try:
        with ThreadPoolExecutor(len(zygotes)) as pool:
            yield from zip(cases, pool.map(one, cases), strict=True)
    finally:
        for zygote in zygotes:
            zygote.close()


def kind_of(case: Case) -> str:
    kind, _, arg = case.steps[0]
    return f"{kind}:{arg}" if kind in ("add", "listing", "content") else kind


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"]:
        return serve()
    verbose = "-v" in argv
    tally = Tally()
    per_kind: dict[str, set[str]] = defaultdict(set)
    started = time.monotonic()
    every = int(argv[argv.index("--every") + 1]) if "--every" in argv else 1  # a quick sample
    for case, outcome in run_all(corpus()[::every], JOBS):
        problem = verdict(case, outcome)
        tally.add(case, outcome, problem)
        per_kind[kind_of(case)].update(outcome.errors)
        if problem or verbose:
            print(f"{problem or 'ok':<10} {case.id[:150]}  {' '.join(outcome.errors)}", flush=True)
            if problem and outcome.detail:
                print("    " + outcome.detail.strip().replace("\n", "\n    ")[-2000:])
    for kind in sorted(per_kind):
        print(f"{kind:<40} {' '.join(sorted(per_kind[kind]))}")
    print(f"\n{tally.summary()}; {time.monotonic() - started:.0f} s in all")
    return 0 if not tally.problems else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
