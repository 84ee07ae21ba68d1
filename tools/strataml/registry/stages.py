"""models/<name>/stages.yaml: promotion with a transition table, aliases, history (TFC-0005 R8-R10)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from strataml import schemas
from strataml.atomic import write_text_atomic
from strataml.config import PYPROJECT, Config, load_config
from strataml.confine import confined
from strataml.doctor.intact import NotIntactError, findings
from strataml.errors import StrataError
from strataml.gitrepo import commit_paths, file_at, file_commits, not_committed, user_identity
from strataml.integrity.digest import Digest
from strataml.refs import Kind, is_run_id, is_version
from strataml.registry.lineage import upstream_directories
from strataml.registry.policy import Violation, evaluate_stage
from strataml.registry.stagestate import (
    TRANSITIONS,
    Evidence,
    StageEvent,
    Stages,
    is_reserved_alias,
    load_stages,
    stages_path,
)
from strataml.registry.store import RegistryError, check_name, load_mapping, locked, versions
from strataml.safeopen import read_regular
from strataml.yamlio import MAX_BYTES, parse_yaml
from strataml.yamltext import dump_yaml

KIND: Kind = "models"
TARGETS = ("staging", "production", "archived")
_MODELINE = "../../schemas/stages.schema.json"


def stage_of(root: Path, name: str, version: str) -> str:
    try:
        return load_stages(root, name).stage_of(version)
    except StrataError:
        return "unknown"


def check_version(root: Path, name: str, version: str) -> None:
    check_name(KIND, name)
    if not is_version(version):
        raise RegistryError(f"bad version {version!r}: write v<N> or v<MAJOR>.<MINOR>.<PATCH>")
    if version not in versions(root, KIND, name):
        available = versions(root, KIND, name)
        known = f"it has {', '.join(available)}" if available else f"there is no model {name!r}"
        raise RegistryError(f"models/{name}/{version} does not exist ({known})")


def evidence(root: Path, name: str, version: str) -> Evidence | None:
    """What a promotion rests on: the training run, the metrics, the digest of CHECKSUMS.txt."""
    directory = root / KIND / name / version
    run: str | None = None
    metrics: dict[str, float] = {}
    checksums: str | None = None
    with contextlib.suppress(StrataError):
        found = (load_mapping(directory / "metadata.yaml").get("training") or {}).get("run")
        if isinstance(found, str) and is_run_id(found):
            run = found
    with contextlib.suppress(StrataError):
        for entry in load_mapping(directory / "metrics.yaml").get("metrics") or []:
            dataset = str(entry["dataset"]).split("#", 1)[0].removeprefix("datasets/")
            metrics[f"{dataset}:{entry['split']}/{entry['name']}"] = entry["value"]
    with contextlib.suppress(OSError):
        checksums = str(Digest.of(read_regular(directory / "CHECKSUMS.txt")))
    if run is None and not metrics and checksums is None:
        return None
    return Evidence(run, tuple(metrics.items()) or None, checksums)


@dataclass(frozen=True)
class Promotion:
    name: str
    version: str
    to: str


@dataclass(frozen=True)
class PromotionResult:
    changed: tuple[str, ...]  # stages.yaml paths written
    entries: tuple[tuple[str, StageEvent], ...]  # (model name, history entry) in order
    commit: str | None


_VERIFIED = ("CHK", "LAY010", "LAY011", "LAY012", "SCH", "MOD")  # a version's own files


def verification_failures(root: Path, name: str, version: str) -> list[Violation]:
    """Doctor's errors on the version's own files: what stops it changing stage before any
    policy is read (promote stops at the first, `strata model check` lists them all)."""
    return [
        Violation("verify", d.path, f"{d.code} {d.message}")
        for d in findings(root, f"{KIND}/{name}/{version}", select=_VERIFIED)
    ]


def _verify(root: Path, name: str, version: str) -> None:
    """Fail closed: only a version that verifies may change stage."""
    path = f"{KIND}/{name}/{version}"
    failing = findings(root, path, select=_VERIFIED)
    if failing:
        raise NotIntactError(f"{path} does not verify", failing, path=path)


def _plan(
    root: Path,
    config: Config,
    stages: Stages,
    item: Promotion,
    *,
    reason: str | None,
    override: bool,
    at: str,
    by: str,
) -> list[StageEvent]:
    current = stages.stage_of(item.version)
    if current == item.to:
        raise RegistryError(f"models/{item.name}/{item.version} is already {item.to}")
    rule = TRANSITIONS.get((current, item.to), "refused")
    if rule == "refused":
        raise RegistryError(
            f"models/{item.name}/{item.version}: {current} -> {item.to} is not allowed (TFC-0005 R9)"
        )
    if rule == "override" and not override:
        raise RegistryError(
            f"models/{item.name}/{item.version}: {current} -> {item.to} needs --override and a --reason"
        )
    if rule == "override" and not reason:
        raise RegistryError("--override needs a --reason saying why")
    if item.to in ("staging", "production"):
        _verify(root, item.name, item.version)
        # Doctor's own evaluation of the stage (TFC-0005 R10, TFC-0008 R10-R11); no option skips it.
        failures = evaluate_stage(root, config, item.name, item.version, item.to)
        if failures:
            raise RegistryError(
                f"models/{item.name}/{item.version} breaks the {item.to} policy: {failures[0].message}"
                + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
            )
    entries: list[StageEvent] = []
    displaced = (
        stages.production
        if item.to == "production"
        else stages.staging
        if item.to == "staging"
        else None
    )
    if displaced is not None:
        fallback = "archived" if item.to == "production" else "experimental"
        stages.move(displaced, fallback)
        entries.append(
            StageEvent(displaced, item.to, fallback, at, by, f"replaced by {item.version}")
        )
    stages.move(item.version, item.to)
    entries.append(
        StageEvent(
            item.version, current, item.to, at, by, reason or f"promoted to {item.to}",
            evidence(root, item.name, item.version),
        )
    )  # fmt: skip
    return entries


def promote(
    root: Path,
    items: Sequence[Promotion],
    *,
    reason: str | None = None,
    override: bool = False,
    commit: bool = False,
    with_lineage: bool = False,
    now: dt.datetime | None = None,
) -> PromotionResult:
    """Change the stage of one or more model versions: all checked first, then all written.
    `with_lineage` commits each version and what its lineage needs with the stage files."""
    if not items:
        raise RegistryError("name at least one model version to promote")
    for item in items:
        if item.to not in TARGETS:
            raise RegistryError(f"--to {item.to!r}: choose one of {', '.join(TARGETS)}")
        check_version(root, item.name, item.version)
    if len({i.name for i in items}) != len(items):
        raise RegistryError("each model may appear once per promotion")
    lineage = _lineage_to_commit(root, items, commit=commit, with_lineage=with_lineage)
    config = policy_config(root)
    by = user_identity(root) or "unknown"
    at = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    names = sorted({i.name for i in items})
    with contextlib.ExitStack() as stack:
        for name in names:
            stack.enter_context(locked(root, f"stages-{name}"))
        planned: dict[str, Stages] = {}
        added: list[tuple[str, StageEvent]] = []
        for item in items:
            stages = load_stages(root, item.name)
            planned_entries = _plan(
                root, config, stages, item, reason=reason, override=override, at=at, by=by
            )
            for entry in planned_entries:
                stages.history.append(entry)
                added.append((item.name, entry))
            planned[item.name] = stages
        written = []
        for name, stages in planned.items():
            write_stages(root, name, stages)
            written.append(stages_path(name))
    sha = None
    if commit or with_lineage:
        summary = "; ".join(f"{i.name} {i.version} to {i.to}" for i in items)
        sha = commit_paths(
            root, [*written, *lineage], f"Promote {summary}" + (f"\n\n{reason}" if reason else "")
        )
    return PromotionResult(tuple(written), tuple(added), sha)


def _lineage_to_commit(
    root: Path, items: Sequence[Promotion], *, commit: bool, with_lineage: bool
) -> list[str]:
    """What a commit of stages.yaml must not name without (TFC-0005 R8): each version's
    directory, its training run, its datasets and parents, and theirs. With `with_lineage`
    they are committed together; with `commit` alone each must already be committed and clean,
    else every clone would fail STG002 or LIN001."""
    if not (commit or with_lineage):
        return []
    needed = sorted(
        {d for i in items for d in upstream_directories(root, f"{KIND}/{i.name}@{i.version}")}
    )
    absent = [d for d in needed if not (root / d).is_dir()]
    if with_lineage and absent:  # checked before stages.yaml is written, like the rest
        raise RegistryError(f"--with-lineage: {absent[0]} does not exist; restore it first")
    missing = [] if with_lineage else not_committed(root, needed)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise RegistryError(
            f"--commit: {missing[0]}{more} is not committed or has uncommitted changes, so the "
            "commit would name a version no clone can verify; commit it first, or add "
            "--with-lineage to commit it with the promotion"
        )
    return needed


def policy_config(root: Path) -> Config:
    """The policy promote enforces; a broken [tool.strataml] would read as no policy at all."""
    config = load_config(root)
    if config.problems and (root / PYPROJECT).exists():
        raise RegistryError(
            f"{PYPROJECT}: {config.problems[0].message}; fix it before promoting "
            f"(`strata doctor {PYPROJECT}`)"
        )
    return config


def write_stages(root: Path, name: str, stages: Stages) -> None:
    text = dump_yaml(stages.document(), modeline=_MODELINE)
    problems = schemas.validate("stages", parse_yaml(text.encode()).data)
    if problems:  # never write a file doctor would reject
        raise StrataError(f"internal: stages.yaml would not validate: {problems[0].message}")
    write_text_atomic(confined(root, root / stages_path(name)), text)


def set_alias(root: Path, name: str, alias: str, version: str | None) -> Stages:
    """Point `alias` at `version`, or remove it when version is None."""
    check_name(KIND, name)
    if is_reserved_alias(alias):
        raise RegistryError(
            f"alias {alias!r} is reserved (stage names, 'latest', and v followed by a digit)"
        )
    if not schemas.validate("stages", {**Stages().document(), "aliases": {alias: "v1"}}) == []:
        raise RegistryError(
            f"bad alias {alias!r}: a lower-case letter, then letters, digits, '_' or '-'"
        )
    if version is not None:
        check_version(root, name, version)
    with locked(root, f"stages-{name}"):
        stages = load_stages(root, name)
        if version is None:
            if alias not in stages.aliases:
                raise RegistryError(f"models/{name} has no alias {alias!r}")
            del stages.aliases[alias]
        else:
            stages.aliases[alias] = version
        write_stages(root, name, stages)
    return stages


# --- history ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StagesAt:
    commit: str | None  # None: no commit of stages.yaml yet at that time
    committed: dt.datetime | None
    stages: Stages


def parse_moment(text: str) -> dt.datetime:
    """RFC 3339 date-time, or a date (meaning the end of that day, UTC)."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RegistryError(f"--at {text!r}: expected YYYY-MM-DD or an ISO 8601 date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def stages_at(root: Path, name: str, moment: dt.datetime) -> StagesAt:
    """What stages.yaml said in the newest commit made at or before `moment` (Git history)."""
    check_name(KIND, name)
    if not (root / KIND / name).is_dir():
        raise RegistryError(f"there is no model {name!r}")
    limit = moment.timestamp()
    for sha, when in file_commits(root, stages_path(name)):
        if when <= limit:
            raw = file_at(root, sha, stages_path(name))
            committed = dt.datetime.fromtimestamp(when, dt.UTC)
            if raw is None:  # the commit deleted the file
                return StagesAt(sha, committed, Stages())
            document = parse_yaml(raw[: MAX_BYTES + 1])
            if not document.ok or not isinstance(document.data, dict):
                raise RegistryError(f"{stages_path(name)} at {sha[:12]} does not parse")
            return StagesAt(sha, committed, Stages.from_document(document.data, history=False))
    return StagesAt(None, None, Stages())


def history_entries(root: Path, name: str) -> Iterator[StageEvent]:
    check_name(KIND, name)
    if not (root / KIND / name).is_dir():
        raise RegistryError(f"there is no model {name!r}")
    yield from load_stages(root, name).history
