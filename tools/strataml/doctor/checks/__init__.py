from __future__ import annotations

from collections.abc import Callable, Iterator

from strataml.doctor.checks import (
    artifacts,
    checksums,
    claims,
    documents,
    federation,
    history,
    layout,
    lfs,
    lineage,
    pipelines,
    prose,
    registry,
    repository,
    reproduction,
    runmetrics,
    runorigin,
    runs,
    signatures,
)
from strataml.doctor.context import Context
from strataml.doctor.model import Diagnostic
from strataml.workspace import Artifact

RepositoryCheck = Callable[[Context], Iterator[Diagnostic]]
ArtifactCheck = Callable[[Context, Artifact], Iterator[Diagnostic]]

# Run once per doctor invocation; each filters by ctx.target itself.
REPOSITORY_CHECKS: dict[str, RepositoryCheck] = {
    "config": repository.check_config,
    "top-level": repository.check_top_level,
    "local-state": repository.check_local_state,
    "layout": layout.check_layout,
    "experiments": layout.check_experiments_tree,
    "leftovers": layout.check_leftovers,
    "shared-documents": documents.check_shared_documents,
    "experiment-inputs": documents.check_experiment_inputs,
    "stages": registry.check_stages,
    "stages-kept": registry.check_stages_kept,
    "lineage-cycles": lineage.check_lineage_cycles,
    "pipelines": pipelines.check_pipelines,
    "immutability": history.check_immutability,
    "signatures": signatures.check_signatures,
    "federation": federation.check_federation,
}

# Run for every selected artifact.
ARTIFACT_CHECKS: dict[str, ArtifactCheck] = {
    "tree": layout.check_artifact_tree,
    "documents": documents.check_artifact_documents,
    "identity": artifacts.check_identity,
    "dataset": artifacts.check_dataset,
    "model": artifacts.check_model,
    "run": runs.check_run,
    "run-origin": runorigin.check_run_origin,
    "run-metrics": runmetrics.check_run_metrics,
    "reproduction": reproduction.check_reproduction,
    "lineage": lineage.check_lineage,
    "stage-upstream": pipelines.check_stage_upstream,
    "card": registry.check_card,
    "unwritten": prose.check_unwritten,
    "claimed-metrics": claims.check_claimed_metrics,
    "artifacts-from-run": claims.check_artifacts_from_run,
    "checksums": checksums.check_checksums,
    "lfs": lfs.check_lfs,
}
