from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Literal

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
VERSION_RE = re.compile(r"v(?:([1-9][0-9]*)|(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*))")
RUN_ID_RE = re.compile(r"run-([0-9]{4})-([0-9]{2})-([0-9]{2})-([0-9a-z]{3,})")
_REF_RE = re.compile(
    rf"(datasets|models)/({NAME_RE.pattern})@(v(?:[0-9.]+))"
    r"(?:#(blake3:[0-9a-f]{64}))?"
)

Kind = Literal["datasets", "models"]


def is_name(text: str) -> bool:
    return NAME_RE.fullmatch(text) is not None


def is_version(text: str) -> bool:
    return VERSION_RE.fullmatch(text) is not None


def version_key(text: str) -> tuple[int, int, int]:
    """Sort key: v2 < v10, and v1 == v1.0.0 in order."""
    match = VERSION_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a version: {text!r}")
    simple, major, minor, patch = match.groups()
    if simple is not None:
        return (int(simple), 0, 0)
    return (int(major), int(minor), int(patch))


def is_run_id(text: str) -> bool:
    match = RUN_ID_RE.fullmatch(text)
    return match is not None and _is_date(text[4:14])


@functools.lru_cache(maxsize=1024)  # 10,000 runs are made on a few hundred days
def _is_date(text: str) -> bool:
    """Is YYYY-MM-DD (digits, as RUN_ID_RE matched them) a day of the calendar?"""
    try:
        dt.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    kind: Kind
    name: str
    version: str
    pin: str | None = None

    @classmethod
    def parse(cls, text: str) -> ArtifactRef:
        match = _REF_RE.fullmatch(text)
        if match is None:
            raise ValueError(
                f"not an artifact reference: {text!r} (expected e.g. datasets/iris@v1)"
            )
        kind, name, version, pin = match.groups()
        if not is_version(version):
            raise ValueError(f"not an artifact reference: {text!r} (bad version {version!r})")
        return cls(kind, name, version, pin)  # type: ignore[arg-type]

    def __str__(self) -> str:
        pin = f"#{self.pin}" if self.pin else ""
        return f"{self.kind}/{self.name}@{self.version}{pin}"

    @property
    def path(self) -> str:
        return f"{self.kind}/{self.name}/{self.version}"


SELECTORS = ("latest", "production", "staging", "archived")  # moving selectors with fixed names
_SELECTOR_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}|v[0-9][0-9.]*")  # an alias, a stage, a version
_REQUEST_RE = re.compile(
    rf"(datasets|models)/({NAME_RE.pattern})(?:@([^#@]+))?(?:#(blake3:[0-9a-f]{{64}}))?"
)


@dataclass(frozen=True, slots=True)
class Reference:
    """What a user may ask for (TFC-0001): `kind/name@selector[#pin]` or `kind/name#pin`.

    The selector is a version, `latest`, a stage or an alias; only a version is fixed."""

    kind: Kind
    name: str
    selector: str | None  # None: the pin alone names the version
    pin: str | None = None

    @classmethod
    def parse(cls, text: str) -> Reference:
        match = _REQUEST_RE.fullmatch(text)
        if match is None or (match.group(3) is None and match.group(4) is None):
            raise ValueError(
                f"not an artifact reference: {text!r} (expected e.g. datasets/iris@v1, "
                "models/iris-classifier@production or models/iris-classifier#blake3:<hex>)"
            )
        kind, name, selector, pin = match.groups()
        if selector is not None and (
            _SELECTOR_RE.fullmatch(selector) is None
            or (selector.startswith("v") and selector[1:2].isdigit() and not is_version(selector))
        ):
            raise ValueError(f"not an artifact reference: {text!r} (bad version {selector!r})")
        return cls(kind, name, selector, pin)  # type: ignore[arg-type]

    def __str__(self) -> str:
        at = f"@{self.selector}" if self.selector is not None else ""
        pin = f"#{self.pin}" if self.pin else ""
        return f"{self.kind}/{self.name}{at}{pin}"

    @property
    def version(self) -> str | None:
        """The version it names outright, if any."""
        return self.selector if self.selector is not None and is_version(self.selector) else None

    @property
    def moving(self) -> bool:
        """Resolves to whatever version holds the selector when it is used."""
        return self.selector is not None and self.version is None

    def can_name(self, ref: ArtifactRef) -> bool:
        """Could this have resolved to the pinned `ref`: the same artifact, and the same version
        and pin wherever it states one (a run's `requested` beside its `ref`, TFC-0003 R11)?"""
        return (
            (self.kind, self.name) == (ref.kind, ref.name)
            and self.version in (None, ref.version)
            and self.pin in (None, ref.pin)
        )


# A repository of the federation (TFC-0001 R15): a short lower-case name, never a path.
REPOSITORY_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")
LOCAL_REPOSITORY = "local"  # what the catalogue calls this repository when it declares no name


def is_repository_name(text: str) -> bool:
    return REPOSITORY_RE.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class ForeignRef:
    """`REPO:datasets/NAME@vN#blake3:<hex>`: a version in another repository of the federation,
    always pinned (TFC-0001 R15)."""

    repository: str
    ref: ArtifactRef

    @classmethod
    def parse(cls, text: str) -> ForeignRef:
        repository, colon, rest = text.partition(":")
        if not colon or not is_repository_name(repository):
            raise ValueError(f"not a repository-qualified reference: {text!r} (expected REPO:…)")
        ref = ArtifactRef.parse(rest)
        if ref.pin is None:
            raise ValueError(f"a reference into another repository must be pinned: {text!r}")
        return cls(repository, ref)

    def __str__(self) -> str:
        return f"{self.repository}:{self.ref}"

    @property
    def node(self) -> str:
        """Its lineage node: `REPO:kind/name@version`, unpinned."""
        return f"{self.repository}:{self.ref.kind}/{self.ref.name}@{self.ref.version}"


def is_foreign(text: object) -> bool:
    """Does a reference text name another repository (`REPO:` before `datasets/` or `models/`)?"""
    return (
        isinstance(text, str)
        and REPOSITORY_RE.match(text) is not None
        and ":" in text.split("/", 1)[0]
    )
