"""Files read beside the checks (TFC-0006 R20): forked workers hash a batch's files while doctor
goes on, and the findings are exactly those of reading them when the check asks; a worker that
dies leaves its files unverified, never verified."""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import RunCli, settle
from strataml.doctor.engine import Report, run_doctor
from strataml.integrity import hashjob
from strataml.integrity.hashing import LARGE_FILE, hash_file
from strataml.integrity.hashjob import HashJob, WorkerLostError

ARRAYS = "datasets/arrays/v1"


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many files each HashJob started in this test was given."""
    started: list[int] = []
    real = HashJob.__init__

    def counting(self: HashJob, groups: dict[str, list[tuple[str, int]]], workers: int) -> None:
        started.append(sum(len(files) for files in groups.values()))
        real(self, groups, workers)

    monkeypatch.setattr(HashJob, "__init__", counting)
    return started


@pytest.fixture
def another_thread() -> Iterator[None]:
    """A thread running beside doctor: forking is not safe then, and files are read as asked."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    yield
    stop.set()
    thread.join()


def arrays(template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dataset version of 600 small files and one over LARGE_FILE, added by `strata`."""
    data = template.parent / "arrays"
    for n in range(600):
        path = data / "train" / f"part{n // 100}" / f"x{n:03d}.dat"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(n.to_bytes(4, "little") * (n + 1))
    (data / "test").mkdir()
    (data / "test" / "big.dat").write_bytes(bytes(range(256)) * ((LARGE_FILE + 4096) // 256))
    monkeypatch.chdir(template)
    code, _, err = strata(
        "dataset", "add", "arrays", str(data), "--license", "CC0-1.0", "--source", "generated"
    )
    assert (code, err) == (0, "")
    return template


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def findings(repo: Path) -> tuple[tuple[str, str, str], ...]:
    report = run_doctor(repo, strict=True)
    assert isinstance(report, Report)
    return tuple((d.code, d.path, d.message) for d in report.diagnostics)


def test_first_run_and_a_later_one_find_what_reading_on_demand_finds(
    template: Path, strata: RunCli, monkeypatch: pytest.MonkeyPatch, jobs: list[int]
) -> None:
    repo = arrays(template, strata, monkeypatch)
    flip(repo / ARRAYS / "train/part3/x345.dat", 2)
    flip(repo / ARRAYS / "test/big.dat", LARGE_FILE)  # in the part one worker reads mapped
    files = 600 + 1 + 1 + 1  # the data, metadata.yaml, datasheet.md, and iris's files below
    settle(repo)  # the cache may remember what is read (TFC-0008 R13)
    shutil.rmtree(repo / ".strata", ignore_errors=True)
    first = findings(repo)  # no cache: the workers start before the verdict is looked for
    assert [(c, p) for c, p, _ in first if c == "CHK005"] == [
        ("CHK005", f"{ARRAYS}/test/big.dat"),
        ("CHK005", f"{ARRAYS}/train/part3/x345.dat"),
    ]
    assert len(jobs) == 1 and jobs[0] >= files
    # The same tree read when each check asks (a thread beside doctor: no worker is forked).
    shutil.rmtree(repo / ".strata")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert findings(repo) == first
    finally:
        stop.set()
        thread.join()
    assert len(jobs) == 1
    # A run with a cache (which holds the two changed files' digests as read, not as listed):
    # one file more changed, so no stored verdict answers, and only that one is read, here (one
    # file is not worth a worker).
    assert findings(repo) == first
    flip(repo / ARRAYS / "train/part0/x007.dat", 1)
    later = findings(repo)
    assert [p for c, p, _ in later if c == "CHK005"] == [
        f"{ARRAYS}/test/big.dat",
        f"{ARRAYS}/train/part0/x007.dat",
        f"{ARRAYS}/train/part3/x345.dat",
    ]
    assert [m for c, p, m in later if p.endswith("x007.dat")] == [
        f"content does not match CHECKSUMS.txt line {listed_line(repo, 'train/part0/x007.dat')}"
        f" (blake3 {hash_file(repo / ARRAYS / 'train/part0/x007.dat')[:12]}…,"
        f" listed {listed(repo, 'train/part0/x007.dat')[:12]}…)"
    ]
    assert len(jobs) == 1
    # Many changed at once, with a cache: the workers start once no stored verdict answers.
    changed = [f"train/part{n // 100}/x{n:03d}.dat" for n in range(50, 600)]
    for rel in changed:
        flip(repo / ARRAYS / rel, 0)
    many = findings(repo)
    assert len(jobs) == 2 and jobs[1] == len(changed) + 1  # and x007, still within the racy window
    assert [p for c, p, _ in many if c == "CHK005"] == sorted(
        [f"{ARRAYS}/{rel}" for rel in [*changed, "train/part0/x007.dat", "test/big.dat"]]
    )


def listed(repo: Path, rel: str) -> str:
    for line in (repo / ARRAYS / "CHECKSUMS.txt").read_text().splitlines():
        digest, _, path = line.partition("  ")
        if path == rel:
            return digest
    raise AssertionError(rel)


def listed_line(repo: Path, rel: str) -> int:
    lines = (repo / ARRAYS / "CHECKSUMS.txt").read_text().splitlines()
    return next(n for n, line in enumerate(lines, start=1) if line.endswith(f"  {rel}"))


def test_a_worker_that_dies_leaves_its_files_unverified(tmp_path: Path) -> None:
    """A worker blocked on a FIFO (its open waits for a writer) is killed: neither the FIFO nor
    the regular file after it in its share gets a digest, and both say why."""
    fifo, plain = tmp_path / "fifo", tmp_path / "plain"
    os.mkfifo(fifo)
    plain.write_bytes(b"plain")
    job = HashJob({"group": [(str(fifo), 0), (str(plain), 5)]}, workers=1)
    try:
        (worker,) = job._workers
        os.kill(worker.pid, signal.SIGKILL)
        results = job.take("group")
    finally:
        job.close()
    assert [type(r) for r in results] == [WorkerLostError, WorkerLostError]
    assert [str(r) for r in results] == [
        "a hashing worker ended before it read these files (group)"
    ] * 2


def test_workers_hand_back_digests_and_errors_in_order(tmp_path: Path) -> None:
    files = []
    for n in range(40):
        path = tmp_path / f"f{n:02d}"
        path.write_bytes(bytes([n]) * (n * 1000))
        files.append((str(path), n * 1000))
    gone = str(tmp_path / "gone")
    job = HashJob({"a": files[:20], "b": [*files[20:], (gone, 0)]}, workers=3)
    try:
        b, a = job.take("b"), job.take("a")
        with pytest.raises(KeyError):
            job.take("a")  # taken once
    finally:
        job.close()
    assert a == [hash_file(Path(p)) for p, _ in files[:20]]
    assert b[:-1] == [hash_file(Path(p)) for p, _ in files[20:]]
    assert isinstance(b[-1], FileNotFoundError) and b[-1].errno == 2


def test_no_worker_is_forked_beside_another_thread(another_thread: None) -> None:
    assert not HashJob.worth_it({"a": [("x", hashjob.hashing.LARGE_FILE)]})
