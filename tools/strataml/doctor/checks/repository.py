"""Repository-wide checks: configuration and the top-level layout (TFC-0001, TFC-0006)."""

from __future__ import annotations

from collections.abc import Iterator

from strataml import gitrepo
from strataml.config import PYPROJECT
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.doctor.rules import CFG001, CFG002, CFG003, LAY001, LAY002, LAY017, RULES

REQUIRED = ("pyproject.toml", "datasets", "models", "runs")
KNOWN = frozenset(
    {
        ".ci", ".git", ".github", ".gitattributes", ".gitignore", ".gitlab-ci.yml",
        ".pre-commit-config.yaml", ".pre-commit-hooks.yaml", ".strata", ".vscode",
        "README.md", "benchmarks", "datasets", "experiments", "keys", "models",
        "pipelines", "pyproject.toml", "runs", "schemas", "site", "tests", "tfc", "tools",
    }
)  # fmt: skip
KNOWN_PREFIXES = ("LICENSE", "CHANGELOG")
SKIPPED = (
    "see schemas/strataml-config.schema.json; until it is fixed, doctor skips what reads it"
    " (signature trust and requirements, policy, allow-top-level, the LFS size limit)"
)


def check_config(ctx: Context) -> Iterator[Diagnostic]:
    if not ctx.whole_repository:
        return
    declared = ctx.declared or ctx.config  # the working tree's file, whichever rules apply
    for problem in declared.problems:
        rule = CFG002 if problem.unreadable else CFG001
        yield rule.at(
            PYPROJECT,
            problem.message,
            line=problem.line,
            hint=SKIPPED if declared is ctx.config else "see schemas/strataml-config.schema.json",
        )
    doctor = declared.doctor
    named = [*doctor.ignore, *(code for _, codes in doctor.per_path_ignores for code in codes)]
    for code in sorted(set(named)):
        if not any(known.startswith(code) for known in RULES):
            yield CFG003.at(
                PYPROJECT,
                f"[tool.strataml.doctor] names unknown rule code {code}",
                hint="list codes with `strata doctor --explain CODE`",
            )


def check_top_level(ctx: Context) -> Iterator[Diagnostic]:
    if not ctx.whole_repository:
        return
    for name in REQUIRED:
        if not (ctx.root / name).exists():
            yield LAY002.at(
                name,
                f"required top-level entry {name} is missing",
                hint="every StrataML repository has pyproject.toml, datasets/, models/ and runs/ (a .gitkeep keeps an empty one in Git)",
            )
    allowed = KNOWN | set(ctx.config.doctor.allow_top_level)
    names = sorted(p.name for p in ctx.root.iterdir())
    unknown = [
        n
        for n in names
        if n not in allowed and not n.startswith(KNOWN_PREFIXES) and not n.endswith(".egg-info")
    ]
    for name in sorted(set(unknown) - gitrepo.ignored(ctx.root, unknown)):
        yield LAY001.at(
            name,
            f"{name} is not part of the repository layout",
            hint=f"write generated files under out/ (ignored by Git) or outside the repository; if {name} belongs here, add it to allow-top-level in [tool.strataml.doctor]",
        )


def check_local_state(ctx: Context) -> Iterator[Diagnostic]:
    """.strata/ is the tools' own cache and scratch space; a tracked file there is someone else's,
    and could change what the cache says once restored (TFC-0001 R13)."""
    if not ctx.whole_repository:
        return
    for path in ctx.tracked_state:
        yield LAY017.at(
            path,
            "tracked by Git, so every clone and CI job receives it; the hash cache is not used",
            hint="git rm --cached -r -- .strata (and keep `.strata/` in .gitignore)",
        )
