"""The README's command blocks, run as written on a fresh clone (tests/test_readme.py).

A ```sh block runs as one bash script from the repository's root (`set -e`: every command must
succeed). A ```console block is a transcript: each `$ ` line runs from the root, and what it
prints (standard output and error together, as a terminal shows them) must match the lines below
it. Other fences (```text synopses with placeholders, ```toml, ```yaml) are not commands.

Matching a transcript: run ids, durations and dates are normalised on both sides; `…` inside a
line stands for any text on that line; a line that begins and ends with `…` stands for any number
of lines (none included).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

COMMAND_FENCES = ("sh", "console")
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
_NORMAL = (
    (re.compile(r"\brun-\d{4}-\d{2}-\d{2}-[0-9a-z]{6}\b"), "run-<id>"),
    (re.compile(r"\b\d+(?:\.\d+)? s\b"), "<n> s"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<date>"),
)


@dataclass(frozen=True, slots=True)
class Block:
    lang: str
    line: int  # of the opening fence, 1-based
    text: str

    @property
    def where(self) -> str:
        return f"README.md:{self.line}"


def blocks(readme: str) -> list[Block]:
    """Every fenced block at the left margin (indented ones belong to a list item's prose)."""
    found, lines = [], readme.splitlines()
    number = 0
    while number < len(lines):
        opening = _FENCE.match(lines[number])
        if opening is None:
            number += 1
            continue
        end = next(
            i for i in range(number + 1, len(lines)) if lines[i].strip() == "```"
        )  # an unclosed fence is a broken README: StopIteration fails the test
        if not opening["indent"]:
            found.append(Block(opening["lang"], number + 1, "\n".join(lines[number + 1 : end])))
        number = end + 1
    return found


def command_blocks(readme: str) -> list[Block]:
    return [b for b in blocks(readme) if b.lang in COMMAND_FENCES]


def normalise(text: str) -> str:
    for pattern, replacement in _NORMAL:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True, slots=True)
class Step:
    command: str
    expected: tuple[str, ...]


def transcript(block: Block) -> list[Step]:
    steps: list[Step] = []
    command, expected = None, list[str]()
    for line in block.text.splitlines():
        if line.startswith("$ "):
            if command is not None:
                steps.append(Step(command, tuple(expected)))
            command, expected = line[2:], []
        elif command is None:
            raise ValueError(f"{block.where}: a transcript begins with a `$ ` line")
        else:
            expected.append(line)
    if command is not None:
        steps.append(Step(command, tuple(expected)))
    return steps


def _line_pattern(expected: str) -> re.Pattern[str]:
    parts = [re.escape(normalise(p)) for p in expected.split("…")]
    return re.compile(".*".join(parts))


def _spans_lines(expected: str) -> bool:
    return expected.startswith("…") and expected.endswith("…")  # `…` alone, or `…what it is…`


def matches(expected: tuple[str, ...], actual: list[str]) -> bool:
    """Whether the printed lines fit the transcript's lines (see the module's docstring)."""
    actual = [normalise(line) for line in actual]
    memo: dict[tuple[int, int], bool] = {}

    def fit(i: int, j: int) -> bool:
        if (i, j) not in memo:
            if i == len(expected):
                memo[i, j] = j == len(actual)
            elif _spans_lines(expected[i]):
                memo[i, j] = any(fit(i + 1, k) for k in range(j, len(actual) + 1))
            else:
                memo[i, j] = j < len(actual) and bool(
                    _line_pattern(expected[i]).fullmatch(actual[j])
                ) and fit(i + 1, j + 1)  # fmt: skip
        return memo[i, j]

    return fit(0, 0)


@dataclass(frozen=True, slots=True)
class Outcome:
    block: Block
    command: str
    code: int
    printed: str
    problem: str | None  # None when the block did what the README says


def run_block(block: Block, root: Path, env: dict[str, str], timeout: float = 600) -> list[Outcome]:
    if block.lang == "sh":
        done = _bash(f"set -e\n{block.text}", root, env, timeout)
        problem = None if done.returncode == 0 else f"exit {done.returncode}"
        return [Outcome(block, block.text, done.returncode, done.stdout, problem)]
    outcomes = []
    for step in transcript(block):
        done = _bash(step.command, root, env, timeout)
        printed = done.stdout.splitlines()
        problem = None if matches(step.expected, printed) else "printed otherwise"
        outcomes.append(Outcome(block, step.command, done.returncode, done.stdout, problem))
    return outcomes


def _bash(
    script: str, root: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], cwd=root, env=env, text=True, timeout=timeout,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
