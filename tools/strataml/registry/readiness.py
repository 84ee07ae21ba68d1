"""What a model version still lacks for a stage: `strata model check`, a dry run of promote.

Nothing here judges twice: the version's own files through promote's verification, the stage
policy and signatures through the evaluation doctor and promote share (TFC-0005 R10), then what
a clone needs: everything the version's lineage rests on committed and clean (TFC-0005 R8)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from strataml.gitrepo import head_commit, uncommitted_later
from strataml.registry.lineage import upstream_directories
from strataml.registry.policy import STAGES, Violation, evaluate_stage
from strataml.registry.stages import check_version, policy_config, verification_failures
from strataml.registry.store import RegistryError
from strataml.wording import counted


@dataclass(frozen=True, slots=True)
class Readiness:
    """`strata model check`'s answer: one line per lack, then the verdict; exit code 1 if any."""

    ref: str  # models/NAME@vN
    stage: str
    missing: tuple[Violation, ...]

    def text(self) -> str:
        lines = [f"{lack.path}: {lack.message}\n" for lack in self.missing]
        if self.missing:
            plural = "s" if len(self.missing) > 1 else ""
            return "".join(lines) + (
                f"{self.ref}: {len(self.missing)} thing{plural} missing for {self.stage}\n"
            )
        return f"{self.ref}: ready for {self.stage}\n"

    def document(self) -> dict[str, object]:
        """schemas/model-check.schema.json."""
        return {
            "schema_version": 1,
            "model": self.ref,
            "stage": self.stage,
            "ready": not self.missing,
            "missing": [
                {"kind": lack.kind, "path": lack.path, "message": lack.message}
                for lack in self.missing
            ],
        }


def readiness(root: Path, name: str, version: str, stage: str) -> Readiness:
    found = missing_for_stage(root, name, version, stage)
    return Readiness(f"models/{name}@{version}", stage, tuple(found))


def missing_for_stage(root: Path, name: str, version: str, stage: str) -> list[Violation]:
    """Everything `models/<name>/<version>` lacks to be promoted to `stage`; [] when ready."""
    if stage not in STAGES:
        raise RegistryError(f"--stage {stage!r}: choose one of {', '.join(STAGES)}")
    check_version(root, name, version)
    config = policy_config(root)
    found = verification_failures(root, name, version)
    found += evaluate_stage(root, config, name, version, stage)
    return found + uncommitted(root, name, version)


def uncommitted(root: Path, name: str, version: str) -> list[Violation]:
    """Each directory a committed promotion must name committed and clean (the version, its
    training run, its datasets and parents, and theirs: what `promote --commit` requires,
    TFC-0005 R8), as one finding unless it is: stages.yaml naming anything less fails every
    clone (STG002, LIN001)."""
    trees = upstream_directories(root, f"models/{name}@{version}")
    if head_commit(root) is None:
        return [Violation("commit", tree, "not committed (no Git commit yet)") for tree in trees]
    status = uncommitted_later(root, trees)() or []
    found = []
    for tree in trees:
        inside = [path for _, path in status if path == tree or path.startswith(f"{tree}/")]
        if inside:
            message = f"not committed: {counted(len(inside), 'file')} new or changed"
            found.append(Violation("commit", tree, message))
    return found
