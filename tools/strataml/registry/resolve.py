"""One resolver for every reference a user writes: the CLI, experiment inputs, `strataml.fetch`.

A moving reference (`@latest`, a stage, an alias) is resolved once, at use, to the version that
holds it then, and recorded pinned (TFC-0001 "Artifact references", TFC-0005 R15)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from strataml.confine import symlink_on_the_way
from strataml.errors import StrataError
from strataml.integrity.digest import shown
from strataml.refs import SELECTORS, ArtifactRef, Kind, Reference, is_version, version_key
from strataml.registry.stagestate import Stages, is_reserved_alias, load_stages, stages_path
from strataml.registry.store import (
    RegistryError,
    artifact_dir,
    existing,
    load_mapping,
    parse_versions,
    versions,
)
from strataml.workspace import find_root

Via = Literal["version", "latest", "stage", "alias", "pin"]
Problem = Literal["malformed", "dangling", "ambiguous", "pin-mismatch"]


class ResolveError(RegistryError):
    """A reference that names no version, or more than one: one line, exit 2.

    `code` is the doctor rule that reports the same defect in the repository, where one does."""

    def __init__(self, problem: Problem, message: str, *, code: str | None = None) -> None:
        self.problem = problem
        self.code = code
        self.detail = message  # without the code, for a diagnostic that has its own
        super().__init__(f"{code} {message}" if code else message)


@dataclass(frozen=True, slots=True)
class Resolution:
    requested: Reference  # what was asked
    ref: ArtifactRef  # what it got: version and content hash
    via: Via

    @property
    def path(self) -> str:
        return self.ref.path

    def text(self) -> str:
        return f"{self.requested} -> {self.ref}\n"

    def document(self) -> dict[str, object]:
        """schemas/resolve.schema.json."""
        return {
            "requested": str(self.requested),
            "ref": str(self.ref),
            "kind": self.ref.kind,
            "name": self.ref.name,
            "version": self.ref.version,
            "content_hash": self.ref.pin,
            "path": self.path,
            "via": self.via,
        }


def parse_reference(text: str) -> Reference:
    try:
        return Reference.parse(text)
    except ValueError as exc:
        raise ResolveError("malformed", str(exc)) from None


def resolve(reference: Reference | str, *, root: Path | None = None) -> Resolution:
    """The version `reference` names now, pinned to its content hash, or ResolveError.

    `root`: the repository (default: the one holding the working directory)."""
    root = find_root(root if root is not None else Path.cwd())
    asked = parse_reference(reference) if isinstance(reference, str) else reference
    way = symlink_on_the_way(root, root / asked.kind / asked.name)
    if way is not None:  # another artifact's bytes, or bytes from outside, under this name
        raise ResolveError(
            "dangling",
            f"{asked}: {way} is a symlink; a reference names real folders only",
            code="LAY011",
        )
    found = versions(root, asked.kind, asked.name)
    if not found:
        folder = f"{asked.kind}/{asked.name}"
        missing = (
            f"{folder} holds no version"
            if (root / folder).is_dir()
            else f"there is no {asked.kind[:-1]} {asked.name!r}"
        )
        raise ResolveError("dangling", f"{asked}: {missing}", code="LIN001")
    version, via = _select(root, asked, found)
    try:
        pinned = existing(root, ArtifactRef(asked.kind, asked.name, version))  # its content hash
    except StrataError as exc:  # no metadata.yaml, or one that cannot say its content hash
        metadata = root / asked.kind / asked.name / version / "metadata.yaml"
        missing = "DAT001" if asked.kind == "datasets" else "MOD001"
        # Where the file is there, its reader's message says what is wrong (and doctor's code).
        code = None if metadata.is_file() else missing
        raise ResolveError("dangling", str(exc), code=code) from None
    if asked.pin is not None and asked.pin != pinned.pin:
        raise ResolveError(
            "pin-mismatch",
            f"{asked}: pinned to {shown(asked.pin)} but {pinned.path} holds {pinned.pin}",
            code="LIN002",
        )
    return Resolution(asked, pinned, via)


def resolve_as(root: Path, text: str, kind: Kind) -> ArtifactRef:
    """A reference as a command of one kind takes it: `kind/name@…`, or `name@…` alone."""
    return resolve(text if text.startswith(f"{kind}/") else f"{kind}/{text}", root=root).ref


def resolve_versions(root: Path, args: Sequence[str], kind: Kind) -> list[ArtifactRef]:
    """`NAME vN` pairs and `NAME@…` words, mixed (promote, check): moving ones resolved."""
    found: list[ArtifactRef] = []
    pending = list(args)
    while pending:
        head = pending.pop(0)
        if "#" in head or (
            "@" in head and not is_version(head.partition("@")[2].partition("#")[0])
        ):
            found.append(resolve_as(root, head, kind))  # e.g. iris-classifier@staging, a pin
            continue
        found += parse_versions(
            [head] if "@" in head or not pending else [head, pending.pop(0)], kind
        )
    return found


def settle(root: Path, text: str) -> str:
    """`text` with a moving reference replaced by the version it names now; else unchanged."""
    try:
        asked = Reference.parse(text)
    except ValueError:
        return text  # a run id, a path, or a malformed reference its caller words the error for
    if asked.version is not None:
        return text
    ref = resolve(asked, root=root).ref
    return f"{ref.kind}/{ref.name}@{ref.version}"


def artifact_dirs(root: Path, refs: Sequence[str]) -> list[str]:
    """Artifact directories from references (moving ones too) or paths (run ids too)."""
    found = []
    for text in refs:
        if "@" in text or "#" in text:
            kind: Kind = "models" if text.startswith("models/") else "datasets"
            found.append(resolve_as(root, text, kind).path)
        else:
            found.append(artifact_dir(root, Path(text)))
    return found


def _select(root: Path, asked: Reference, found: list[str]) -> tuple[str, Via]:
    selector = asked.selector
    if selector is None:
        assert asked.pin is not None  # the grammar: a pin alone, then
        return _by_pin(root, asked, found), "pin"
    stages = _stages(root, asked, needed=not is_version(selector) and selector != "latest")
    if selector in stages.aliases and is_reserved_alias(selector):
        raise ResolveError(
            "ambiguous",
            f"{asked}: {selector!r} is both a {'version' if is_version(selector) else 'stage'} "
            f"and an alias in {stages_path(asked.name)}; rename the alias",
            code="STG007",
        )
    if is_version(selector):
        if selector not in found:
            same = [v for v in found if version_key(v) == version_key(selector)]
            hint = f"; did you mean {same[0]}?" if same else f" (it has {', '.join(found)})"
            raise ResolveError("dangling", f"{asked}: no version {selector}{hint}", code="LIN001")
        return selector, "version"
    if selector == "latest":
        return _latest(asked, found), "latest"
    if asked.kind == "datasets":
        raise ResolveError(
            "dangling",
            f"{asked}: datasets have no stages or aliases; write @v<N> or @latest",
        )
    if selector in SELECTORS:
        return _stage(asked, stages, selector, found), "stage"
    target = stages.aliases.get(selector)
    if target is None:
        known = ", ".join(sorted(stages.aliases)) or "none"
        raise ResolveError(
            "dangling",
            f"{asked}: no alias {selector!r} in {stages_path(asked.name)} (aliases: {known})",
        )
    if target not in found:
        raise ResolveError(
            "dangling",
            f"{asked}: alias {selector!r} names {target}, which does not exist",
            code="STG002",
        )
    return target, "alias"


def _stages(root: Path, asked: Reference, *, needed: bool) -> Stages:
    """The model's stages; a version or @latest does not need them, so a broken stages.yaml
    (doctor reports it) only hides the aliases that could have made such a reference ambiguous."""
    if asked.kind != "models":
        return Stages()
    try:
        return load_stages(root, asked.name)
    except StrataError:
        if needed:
            raise
        return Stages()


def _latest(asked: Reference, found: list[str]) -> str:
    top = [v for v in found if version_key(v) == version_key(found[-1])]
    if len(top) > 1:
        raise ResolveError(
            "ambiguous",
            f"{asked}: {' and '.join(top)} are the same version in order (TFC-0001 R6); "
            "name one of them",
        )
    return found[-1]


def _stage(asked: Reference, stages: Stages, stage: str, found: list[str]) -> str:
    held = stages.archived if stage == "archived" else [getattr(stages, stage)]
    held = [v for v in held if v is not None]
    if not held:
        raise ResolveError("dangling", f"{asked}: no version of {asked.name} is in {stage}")
    if len(held) > 1:
        raise ResolveError(
            "ambiguous",
            f"{asked}: {len(held)} versions are {stage} ({', '.join(held)}); name one of them",
        )
    if held[0] not in found:
        raise ResolveError(
            "dangling", f"{asked}: {stage} names {held[0]}, which does not exist", code="STG002"
        )
    return held[0]


def _by_pin(root: Path, asked: Reference, found: list[str]) -> str:
    matches = [v for v in found if _content_hash(root, asked, v) == asked.pin]
    if not matches:
        raise ResolveError(
            "dangling", f"{asked}: no version of {asked.name} has that content hash", code="LIN002"
        )
    if len(matches) > 1:
        raise ResolveError(
            "ambiguous",
            f"{asked}: {', '.join(matches)} have that content hash; name one of them",
        )
    return matches[0]


def _content_hash(root: Path, asked: Reference, version: str) -> object:
    try:
        return load_mapping(root / asked.kind / asked.name / version / "metadata.yaml").get(
            "content_hash"
        )
    except StrataError:
        return None  # a version that cannot say its hash is not the one pinned
