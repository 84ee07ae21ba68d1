"""The only module that imports jsonschema: schemas compiled once, errors made readable."""

from __future__ import annotations

import functools
import json
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strataml.errors import StrataError
from strataml.jsonio import first_non_finite
from strataml.suggest import did_you_mean

if TYPE_CHECKING:  # imported when a document fails the fast path: jsonschema costs ~40 ms to load
    import jsonschema
    import jsonschema_rs
    from jsonschema.exceptions import ValidationError

# schemata/ links to the repository's schemas/ and a wheel holds copies, so that an installed
# package (a pre-commit hook's environment) validates too; a checkout without symlinks has only
# the repository's copy.
_PACKAGED = Path(__file__).resolve().parent / "schemata"
_SOURCE = Path(__file__).resolve().parents[2] / "schemas"
RELATIVE_PATH = "relative-path"

_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


def is_safe_relative_path(value: str) -> bool:
    # A leading '~' is a home directory to any shell or tool that expands it (TFC-0001 R10).
    if not value or value.startswith(("/", "~")) or _CONTROL.search(value):
        return False
    parts = value.split("/")
    return ".." not in parts and posixpath.normpath(value) not in {".", ""}


def _check_relative_path(value: object) -> bool:
    return not isinstance(value, str) or is_safe_relative_path(value)


@functools.cache
def _format_checker() -> Any:
    import jsonschema

    # A checker of our own: registering on the validator's shared FORMAT_CHECKER would change
    # every other jsonschema user in the process.
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = {**jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers}
    checker.checks(RELATIVE_PATH)(_check_relative_path)
    return checker


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    path: tuple[str | int, ...]
    message: str
    unsafe_path: bool  # a `relative-path` field holding an absolute or escaping path


class Schemas:
    """The schemas of one directory, each loaded and compiled once, on first use. Doctor with
    --base validates with a trusted revision's (its own instance); everything else with
    `PACKAGED`."""

    __slots__ = ("_fast", "_loaded", "_reference", "directory")

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: dict[str, dict[str, Any]] = {}
        self._reference: dict[str, jsonschema.Draft202012Validator] = {}
        self._fast: dict[str, jsonschema_rs.Validator | None] = {}

    def load(self, name: str) -> dict[str, Any]:
        if name not in self._loaded:
            path = self.directory / f"{name}.schema.json"
            try:
                schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise StrataError(f"cannot load schema {path}: {exc}") from exc
            self._loaded[name] = schema
        return self._loaded[name]

    def validate(self, name: str, document: object) -> list[SchemaViolation]:
        """Violations of a schema, each with its path. Valid documents take the compiled fast
        path; any doubt goes to the reference validator, whose messages are the ones reported."""
        unrepresentable = _non_finite(document) if name in FINITE_ONLY else []
        fast = self._fast_validator(name)
        if fast is not None:
            try:
                if fast.is_valid(document):
                    return unrepresentable
            except ValueError:  # what it cannot take (e.g. a non-string key): the reference judges
                pass
        errors = sorted(
            self._validator(name).iter_errors(document),
            key=lambda e: list(map(str, e.absolute_path)),
        )
        return unrepresentable + [_violation(_leaf(error)) for error in errors]

    def _validator(self, name: str) -> jsonschema.Draft202012Validator:
        if name not in self._reference:
            import jsonschema

            self._reference[name] = jsonschema.Draft202012Validator(
                self.load(name), format_checker=_format_checker()
            )
        return self._reference[name]

    def _fast_validator(self, name: str) -> jsonschema_rs.Validator | None:
        """A compiled Rust validator for the common case (a valid document); None where
        unavailable."""
        if name not in self._fast:
            try:
                import jsonschema_rs
            except ImportError:
                self._fast[name] = None
            else:
                self._fast[name] = jsonschema_rs.validator_for(
                    self.load(name),
                    validate_formats=True,
                    formats={RELATIVE_PATH: lambda value: is_safe_relative_path(value)},
                )
        return self._fast[name]


PACKAGED = Schemas(_PACKAGED.resolve() if _PACKAGED.is_dir() else _SOURCE)


# Specs written by hand, whose parameters become JSON (run records, fingerprints): a YAML .nan
# or .inf there is a number no JSON document holds, so the spec does not validate (TFC-0006 R5).
FINITE_ONLY = frozenset({"experiment", "pipeline"})


def _non_finite(document: object) -> list[SchemaViolation]:
    """The first NaN or infinity in `document`, as a violation."""
    found = first_non_finite(document)
    if found is None:
        return []
    path, shown = found
    return [SchemaViolation(path, f"{shown} is not a number JSON can hold: write a finite number",
                            unsafe_path=False)]  # fmt: skip


def validate(name: str, document: object) -> list[SchemaViolation]:
    """`Schemas.validate` with the package's own schemas."""
    return PACKAGED.validate(name, document)


def _leaf(error: ValidationError) -> ValidationError:
    # Under anyOf/oneOf the top error says nothing useful; pick the branch that came closest.
    from jsonschema.exceptions import best_match

    while error.context:
        error = best_match(error.context)
    return error


def _violation(error: ValidationError) -> SchemaViolation:
    path = tuple(error.absolute_path)
    unsafe = error.validator == "format" and error.validator_value == RELATIVE_PATH
    schema = error.schema
    if (
        error.validator == "additionalProperties"
        and isinstance(error.instance, dict)
        and isinstance(schema, dict)
    ):
        extra = sorted(_unexpected_keys(error.instance, schema), key=str)
        if extra:
            path = (*path, extra[0])
            known = schema.get("properties", {})
            names = ", ".join(repr(str(k)) + did_you_mean(str(k), known) for k in extra)
            return SchemaViolation(path, f"{_where(path[:-1])}unexpected key {names}", False)
    if unsafe:
        message = f"{error.instance!r} is absolute, has '..' or control characters, or is empty"
        return SchemaViolation(path, _where(path) + _shorten(message), True)
    return SchemaViolation(path, _where(path) + _shorten(error.message), False)


def _unexpected_keys(instance: dict[Any, Any], schema: dict[str, Any]) -> Iterable[Any]:
    known = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    for key in instance:
        if key not in known and not any(p.search(str(key)) for p in patterns):
            yield key


def _where(path: tuple[str | int, ...]) -> str:
    if not path:
        return ""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") + ": "


def _shorten(message: str, limit: int = 160) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"
