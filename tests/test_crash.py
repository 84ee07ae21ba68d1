"""SIGKILL at random moments: files are whole, old or new, and doctor says what needs attention."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from conftest import doctor_script

TRIALS = 24


def killed_at_random(repo: Path, argv: list[str], rng: random.Random, span: float) -> int:
    proc = subprocess.Popen([sys.executable, "-m", "strataml", *argv], cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    time.sleep(rng.uniform(0, span))
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait(timeout=60)


def span_of(repo: Path, argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "strataml", *argv], cwd=repo, capture_output=True, check=False
    )
    return time.perf_counter() - started


def test_promote_killed_at_random_leaves_the_old_or_the_new_stages(template: Path) -> None:
    rng = random.Random(9)
    stages = template / "models/iris-classifier/stages.yaml"
    argv_up = ["model", "promote", "iris-classifier", "v1", "--to", "staging"]
    argv_down = ["model", "promote", "iris-classifier", "v1", "--to", "production"]
    span = span_of(template, argv_up) * 1.2
    span_of(template, argv_down)
    outcomes = {"before": 0, "after": 0}
    for _ in range(TRIALS):
        before = stages.read_bytes()
        state = yaml.safe_load(before)
        argv = argv_up if state["production"] == "v1" else argv_down
        killed_at_random(template, argv, rng, span)
        after = stages.read_bytes()
        document = yaml.safe_load(after)  # always whole YAML
        assert document["production"] in ("v1", None) and document["staging"] in ("v1", None)
        outcomes["before" if after == before else "after"] += 1
        leftovers = [p.name for p in stages.parent.iterdir() if p.name.startswith(".stages.yaml.")]
        for name in leftovers:  # a killed atomic write leaves at most its temporary file
            assert name.endswith(".tmp"), name
            (stages.parent / name).unlink()
    report = doctor_script(template, "--select", "STG,SCH")
    assert report.returncode == 0, report.stdout
    assert outcomes["before"] + outcomes["after"] == TRIALS


def test_checksum_killed_at_random_leaves_a_listing_that_verifies(template: Path) -> None:
    rng = random.Random(11)
    version = template / "datasets/iris/v1"
    listing = version / "CHECKSUMS.txt"
    original = listing.read_bytes()
    span = span_of(template, ["checksum", "datasets/iris/v1"]) * 1.2
    for _ in range(TRIALS):
        killed_at_random(template, ["checksum", "datasets/iris/v1"], rng, span)
        assert listing.read_bytes() == original  # same content: rewritten whole or not at all
        for leftover in version.glob(".CHECKSUMS.txt.*"):
            leftover.unlink()
        for leftover in version.glob(".metadata.yaml.*"):
            leftover.unlink()
    report = doctor_script(template, "datasets/iris/v1")
    assert (report.returncode, report.stdout.splitlines()[-1]) == (
        0, "OK: 0 errors, 0 warnings, 0 info; 1 artifact checked under datasets/iris/v1, 5 files hashed",
    )  # fmt: skip


def test_sign_killed_at_random_leaves_a_whole_signature_file(template: Path) -> None:
    from test_signing import MODEL, make_key, trust, user_home_dir

    home = user_home_dir()
    alice = make_key(home, "Alice <alice@example.org>")
    trust(template, alice)
    (template / MODEL / "SIGNATURE.asc").unlink()  # the example signer's
    rng = random.Random(13)
    span = span_of(template, ["sign", MODEL]) * 1.2
    (template / MODEL / "SIGNATURE.asc").unlink()
    states = set()
    for _ in range(TRIALS // 2):
        killed_at_random(template, ["sign", MODEL], rng, span)
        path = template / MODEL / "SIGNATURE.asc"
        if path.exists():
            text = path.read_text()
            assert (
                text.count("-----BEGIN PGP SIGNATURE-----")
                == text.count("-----END PGP SIGNATURE-----")
                == 1
            )
            states.add("signed")
            path.unlink()
        else:
            states.add("unsigned")
        for leftover in (template / MODEL).glob(".SIGNATURE.asc.*.tmp"):
            leftover.unlink()
    assert states  # every trial left one of the two whole states
