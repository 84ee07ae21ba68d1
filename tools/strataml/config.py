"""[tool.strataml] in pyproject.toml, read leniently: problems are reported, defaults used."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strataml import schemas
from strataml.jsonio import MAX_INT_BITS, MAX_INT_DIGITS
from strataml.safeopen import read_regular

PYPROJECT = "pyproject.toml"
MAX_DEPTH = 64  # as for YAML (yamlio.MAX_DEPTH)
_LONG_DIGITS = re.compile(rf"[0-9_]{{{MAX_INT_DIGITS + 1},}}")


@dataclass(frozen=True, slots=True)
class DoctorConfig:
    ignore: tuple[str, ...] = ()
    per_path_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    allow_top_level: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    unreadable: bool  # not TOML at all, rather than a schema violation
    line: int | None
    message: str


DEFAULT_MAX_PLAIN_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class SigningRequirement:
    path: str  # a repository-relative glob
    signers: int  # distinct trusted signers it needs


@dataclass(frozen=True, slots=True)
class MetricRule:
    name: str
    dataset: str  # datasets/<name>@v<N>, unpinned
    split: str
    minimum: float | None
    maximum: float | None

    def describe(self) -> str:
        bounds = []
        if self.minimum is not None:
            bounds.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        return f"{self.name} on {self.dataset} {self.split} {' and '.join(bounds)}"


@dataclass(frozen=True, slots=True)
class StageRequirements:
    """One stage table of [tool.strataml.policy]: what a version needs to hold that stage."""

    card_sections: tuple[str, ...] = ()
    metrics: tuple[MetricRule, ...] = ()
    signatures: int = 0  # distinct trusted signers

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> StageRequirements:
        return cls(
            tuple(table.get("card-sections", ())),
            tuple(
                MetricRule(m["name"], m["dataset"], m["split"], m.get("min"), m.get("max"))
                for m in table.get("metrics", ())
            ),
            int(table.get("signatures", 0)),
        )


def _stage_table(table: Mapping[str, Any], stage: str) -> StageRequirements | None:
    entry = table.get(stage)
    return StageRequirements.from_table(entry) if isinstance(entry, dict) else None


@dataclass(frozen=True, slots=True)
class StageTables:
    """The staging and production tables of [tool.strataml.policy] or of one models entry."""

    staging: StageRequirements | None = None
    production: StageRequirements | None = None

    def stage(self, stage: str) -> StageRequirements | None:
        return {"staging": self.staging, "production": self.production}.get(stage)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> StageTables:
        return cls(_stage_table(table, "staging"), _stage_table(table, "production"))


@dataclass(frozen=True, slots=True)
class ModelPolicy:
    """A [[tool.strataml.policy.models]] entry: the stage tables of the models `match` fits."""

    match: str  # fnmatch glob over the whole model name
    tables: StageTables


@dataclass(frozen=True, slots=True)
class PromotionPolicy:
    """[tool.strataml.policy] (TFC-0005 R10): a default table per stage, then per-model entries."""

    default: StageTables = field(default_factory=StageTables)
    models: tuple[ModelPolicy, ...] = ()

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> PromotionPolicy:
        """A schema-valid [tool.strataml.policy] table."""
        return cls(
            StageTables.from_table(table),
            tuple(
                ModelPolicy(str(entry["match"]), StageTables.from_table(entry))
                for entry in table.get("models", ())
            ),
        )


@dataclass(frozen=True, slots=True)
class Config:
    doctor: DoctorConfig = field(default_factory=DoctorConfig)
    problems: tuple[ConfigProblem, ...] = ()
    policy: dict[str, Any] = field(default_factory=dict)  # [tool.strataml.policy], schema-valid
    # (read through promotion_policy; doctor's configuration diff compares the raw tables)
    signing: dict[str, Any] = field(default_factory=dict)  # [tool.strataml.signing], schema-valid
    lfs: dict[str, Any] = field(default_factory=dict)  # [tool.strataml.lfs], schema-valid
    federation: dict[str, Any] = field(default_factory=dict)  # [tool.strataml.federation]

    @property
    def federation_name(self) -> str | None:
        """[tool.strataml.federation] name: this repository's own name (TFC-0001 R16)."""
        name = self.federation.get("name")
        return name if isinstance(name, str) else None

    @property
    def federation_urls(self) -> tuple[tuple[str, str], ...]:
        """(name, url) of every repository [tool.strataml.federation.repositories] declares."""
        table = self.federation.get("repositories", {})
        return tuple((name, str(entry["url"])) for name, entry in sorted(table.items()))

    @property
    def max_plain_bytes(self) -> int:
        """[tool.strataml.lfs] max-plain-bytes: larger artifact files need LFS (TFC-0008 R12)."""
        return int(self.lfs.get("max-plain-bytes", DEFAULT_MAX_PLAIN_BYTES))

    @property
    def promotion_policy(self) -> PromotionPolicy:
        """[tool.strataml.policy]: the stage tables promote and doctor enforce (TFC-0005 R10)."""
        return PromotionPolicy.from_table(self.policy)

    @property
    def signing_requirements(self) -> tuple[SigningRequirement, ...]:
        """[[tool.strataml.signing.require]]: artifact globs and the signers each needs (R11)."""
        return tuple(
            SigningRequirement(str(entry["path"]), int(entry["signers"]))
            for entry in self.signing.get("require", [])
        )

    @property
    def trusted_list(self) -> list[str]:
        """[tool.strataml.signing] trusted, upper-cased, in the file's order."""
        return [str(f).upper() for f in self.signing.get("trusted", [])]

    @property
    def trusted(self) -> frozenset[str]:
        """The trusted primary fingerprints: whose signatures count (TFC-0008 R9)."""
        return frozenset(self.trusted_list)


def has_strataml_table(pyproject: Path) -> bool:
    try:
        text = read_regular(pyproject).decode("utf-8", errors="replace")
    except OSError:
        return False
    return any(line.strip().startswith("[tool.strataml") for line in text.splitlines())


def load_config(root: Path) -> Config:
    try:
        raw = read_regular(root / PYPROJECT)
    except OSError as exc:
        return Config(problems=(ConfigProblem(True, None, _one_line(exc)),))
    return parse_config(raw)


def parse_config(raw: bytes) -> Config:
    """The configuration a pyproject.toml's bytes hold (the working tree's, or a commit's)."""
    try:
        text = raw.decode("utf-8")
        table = _table(parse_toml(text), "tool", "strataml")
    except ValueError as exc:  # UnicodeDecodeError and TOMLDecodeError are ValueErrors
        return Config(problems=(ConfigProblem(True, _toml_error_line(exc), _one_line(exc)),))
    violations = schemas.validate("strataml-config", table)
    if violations:
        problems = tuple(
            ConfigProblem(False, _key_line(text, v.path), f"tool.strataml.{v.message}")
            for v in violations
        )
        return Config(problems=problems)
    doctor: dict[str, Any] = table.get("doctor", {})
    return Config(
        DoctorConfig(
            ignore=tuple(doctor.get("ignore", ())),
            per_path_ignores=tuple(
                (glob, tuple(codes)) for glob, codes in doctor.get("per-path-ignores", {}).items()
            ),
            allow_top_level=tuple(doctor.get("allow-top-level", ())),
        ),
        policy=table.get("policy", {}),
        signing=table.get("signing", {}),
        lfs=table.get("lfs", {}),
        federation=table.get("federation", {}),
    )


def parse_toml(text: str) -> dict[str, Any]:
    """tomllib.loads, bounded: every way a text can fail, hostile ones too, is a ValueError."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except ValueError:  # int() past its 4,300-digit limit, the one other ValueError
        found = _LONG_DIGITS.search(text)
        where = f" (at line {text.count(chr(10), 0, found.start()) + 1})" if found else ""
        raise ValueError(f"an integer of more than {MAX_INT_DIGITS} digits{where}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    problem = _too_complex(document)
    if problem is not None:
        raise ValueError(problem)
    return document


def _too_complex(document: dict[str, Any]) -> str | None:
    """Why a parsed document is past what later readers (schemas, messages) can take."""
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            return f"an integer of more than {MAX_INT_DIGITS} digits"
    return None


def _table(document: dict[str, Any], *keys: str) -> Any:
    """document[k1][k2]…, {} where a level is missing or is not a table."""
    value: Any = document
    for key in keys:
        if not isinstance(value, dict):
            return {}
        value = value.get(key, {})
    return value


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _toml_error_line(exc: Exception) -> int | None:
    # tomllib reports "(at line N, column M)" in the message only.
    text = str(exc)
    marker = "at line "
    if marker in text:
        digits = text.split(marker, 1)[1].split(",", 1)[0].rstrip(")")
        if digits.isdigit():
            return int(digits)
    return None


def _key_line(text: str, path: tuple[str | int, ...]) -> int | None:
    """Best-effort line of a key under [tool.strataml…]; TOML parsers keep no positions."""
    tables = [str(p) for p in path if isinstance(p, str)]
    header_line = None
    lines = text.splitlines()
    for depth in range(len(tables), -1, -1):
        header = "[" + ".".join(["tool", "strataml", *tables[:depth]]) + "]"
        for number, line in enumerate(lines, start=1):
            if line.strip() == header:
                header_line = number
                key = tables[depth] if depth < len(tables) else None
                if key is None:
                    return header_line
                for offset, body in enumerate(lines[number:], start=number + 1):
                    stripped = body.strip()
                    if stripped.startswith("["):
                        break
                    if stripped.split("=", 1)[0].strip().strip('"') == key:
                        return offset
                return header_line
    return header_line
