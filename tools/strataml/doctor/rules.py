from __future__ import annotations

from strataml.doctor.model import Rule, Severity

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N: note (info)

# fmt: off
# Layout and path safety (TFC-0001)
LAY001 = Rule("LAY001", "unexpected-top-level", W, "TFC-0001 R3", "Top-level entry not part of the layout")
LAY002 = Rule("LAY002", "missing-required-entry", E, "TFC-0001 R2", "Required top-level entry is missing")
LAY003 = Rule("LAY003", "invalid-artifact-name", E, "TFC-0001 R5", "Dataset or model name breaks the naming rule")
LAY004 = Rule("LAY004", "invalid-version-name", E, "TFC-0001 R6", "Version directory name is not v<N> or v<MAJOR>.<MINOR>.<PATCH>")
LAY005 = Rule("LAY005", "unexpected-entry", E, "TFC-0001 R4", "File where only artifact directories belong")
LAY006 = Rule("LAY006", "invalid-run-name", E, "TFC-0001 R7", "Run directory name is not run-YYYY-MM-DD-<suffix>")
LAY010 = Rule("LAY010", "symlink-escape", E, "TFC-0001 R8", "Symlink leaves the repository, dangles or loops")
LAY011 = Rule("LAY011", "symlink-in-artifact", E, "TFC-0001 R9", "Symlink inside an artifact directory")
LAY012 = Rule("LAY012", "special-file", E, "TFC-0001 R9", "FIFO, socket or device inside an artifact directory")
LAY013 = Rule("LAY013", "unsafe-metadata-path", E, "TFC-0001 R10", "Path in metadata is absolute or leaves its artifact")
LAY014 = Rule("LAY014", "unportable-file-name", E, "TFC-0001 R11", "File name is not portable UTF-8 without control characters or backslashes")
LAY016 = Rule("LAY016", "case-colliding-names", E, "TFC-0001 R11", "File names in an artifact differ only in letter case")
LAY015 = Rule("LAY015", "interrupted-write", E, "TFC-0001 R12", "Temporary file left by an interrupted write")
LAY017 = Rule("LAY017", "local-state-tracked", E, "TFC-0001 R13", "File under .strata/ is tracked by Git: local state is never repository content")

# YAML documents and schemas (TFC-0006)
SCH001 = Rule("SCH001", "yaml-syntax", E, "TFC-0006 R3", "YAML does not parse as a single safe document")
SCH002 = Rule("SCH002", "duplicate-key", E, "TFC-0006 R4", "Mapping has the same key twice")
SCH003 = Rule("SCH003", "schema-violation", E, "TFC-0006 R5", "Document does not validate against its schema")
SCH004 = Rule("SCH004", "not-utf8", E, "TFC-0006 R3", "Document is not UTF-8 text")
SCH005 = Rule("SCH005", "document-too-complex", E, "TFC-0006 R6", "Document exceeds the size or alias-expansion limits")

# Configuration (TFC-0006)
CFG001 = Rule("CFG001", "config-invalid", E, "TFC-0006 R10", "[tool.strataml] does not validate against its schema")
CFG002 = Rule("CFG002", "config-unreadable", E, "TFC-0006 R10", "pyproject.toml is not valid TOML")
CFG003 = Rule("CFG003", "config-unknown-code", W, "TFC-0006 R11", "Configuration names a rule code that does not exist")
CFG004 = Rule("CFG004", "rules-changed", W, "TFC-0006 R17", "The rules differ from the base revision's (doctor --base): not yet in force")

# Datasets (TFC-0004)
DAT001 = Rule("DAT001", "dataset-metadata-missing", E, "TFC-0004 R1", "Dataset version has no metadata.yaml")
DAT002 = Rule("DAT002", "dataset-name-mismatch", E, "TFC-0004 R3", "metadata name differs from the dataset directory")
DAT003 = Rule("DAT003", "dataset-version-mismatch", E, "TFC-0004 R3", "metadata version differs from the version directory")
DAT004 = Rule("DAT004", "dataset-split-mismatch", E, "TFC-0004 R4", "Declared split is missing or its file count or size differs")
DAT005 = Rule("DAT005", "dataset-datasheet-missing", N, "TFC-0004 R6", "Dataset version has no datasheet.md")

DAT006 = Rule("DAT006", "datasheet-section-unwritten", W, "TFC-0004 R6", "Committed datasheet section still holds the placeholder")

# Models (TFC-0005)
MOD001 = Rule("MOD001", "model-metadata-missing", E, "TFC-0005 R1", "Model version has no metadata.yaml")
MOD002 = Rule("MOD002", "model-name-mismatch", E, "TFC-0005 R3", "metadata name differs from the model directory")
MOD003 = Rule("MOD003", "model-version-mismatch", E, "TFC-0005 R3", "metadata version differs from the version directory")
MOD004 = Rule("MOD004", "model-file-missing", E, "TFC-0005 R1", "Model version lacks card.md, metrics.yaml or a declared artifact")

# Checksums (TFC-0008)
CHK001 = Rule("CHK001", "checksums-missing", E, "TFC-0008 R1", "Artifact directory has no CHECKSUMS.txt")
CHK002 = Rule("CHK002", "checksums-malformed", E, "TFC-0008 R2", "CHECKSUMS.txt line is not '<64 hex>  <path>'")
CHK003 = Rule("CHK003", "checksums-file-missing", E, "TFC-0008 R3", "Listed file does not exist")
CHK004 = Rule("CHK004", "checksums-file-unlisted", E, "TFC-0008 R3", "File is not listed in CHECKSUMS.txt")
CHK005 = Rule("CHK005", "checksums-mismatch", E, "TFC-0008 R4", "File content does not match its checksum")
CHK006 = Rule("CHK006", "content-hash-mismatch", E, "TFC-0008 R5", "metadata content_hash does not match the payload")
CHK007 = Rule("CHK007", "checksums-duplicate", E, "TFC-0008 R2", "Path listed more than once")
CHK008 = Rule("CHK008", "checksums-not-canonical", W, "TFC-0008 R2", "CHECKSUMS.txt is not sorted by path")
CHK009 = Rule("CHK009", "checksums-lists-excluded", E, "TFC-0008 R3", "CHECKSUMS.txt lists itself or SIGNATURE.asc")
CHK010 = Rule("CHK010", "checksums-unsafe-path", E, "TFC-0008 R2", "Listed path is absolute or leaves the directory")

# Runs (TFC-0002, TFC-0003)
RUN001 = Rule("RUN001", "run-file-missing", E, "TFC-0003 R1", "Run lacks a file its status requires")
RUN002 = Rule("RUN002", "run-unexpected-entry", E, "TFC-0003 R1", "Entry that is not part of a run record")
RUN003 = Rule("RUN003", "run-id-mismatch", E, "TFC-0003 R2", "config.yaml run_id differs from the directory")
RUN004 = Rule("RUN004", "run-status-inconsistent", E, "TFC-0002 R7", "Status contradicts the exit code, end time or seal")
RUN005 = Rule("RUN005", "run-not-sealed", E, "TFC-0003 R7", "Finished run has no CHECKSUMS.txt")
RUN006 = Rule("RUN006", "run-abandoned", E, "TFC-0002 R9", "Run is marked running but its runner is gone")
RUN007 = Rule("RUN007", "run-in-progress", N, "TFC-0002 R9", "Run is still running on this machine")
RUN008 = Rule("RUN008", "run-running-elsewhere", W, "TFC-0002 R9", "Run is marked running on another host")
RUN009 = Rule("RUN009", "run-output-missing", E, "TFC-0003 R6", "Succeeded run lacks a declared output")
RUN010 = Rule("RUN010", "run-input-missing", E, "TFC-0003 R11", "Input version of a run no longer exists")
RUN011 = Rule("RUN011", "run-input-changed", E, "TFC-0003 R11", "Input version's content_hash differs from the run's pin")
RUN018 = Rule("RUN018", "run-input-request-mismatch", E, "TFC-0003 R11", "Reference a run's input asked for cannot have resolved to the version it records")
RUN012 = Rule("RUN012", "run-commit-unknown", E, "TFC-0003 R12", "Recorded code commit does not exist in the repository")
RUN013 = Rule("RUN013", "run-commit-unverifiable", N, "TFC-0003 R12", "Recorded code commit cannot be checked in a shallow clone")
RUN030 = Rule("RUN030", "run-facts-missing", E, "TFC-0003 R14", "Run that was not imported lacks host, python or git facts")
RUN020 = Rule("RUN020", "run-reproduction-inconsistent", E, "TFC-0002 R14", "Reproduction verdict disagrees with the run records")
RUN015 = Rule("RUN015", "run-record-secret", W, "TFC-0003 R9", "Run record holds a value shaped like a credential")
RUN016 = Rule("RUN016", "run-metrics-history-mismatch", E, "TFC-0003 R15", "metrics.json's summary disagrees with the history in metrics.csv")
RUN017 = Rule("RUN017", "run-log-over-cap", W, "TFC-0003 R16", "logs.txt is over the size cap")
RUN031 = Rule("RUN031", "run-origin-mismatch", E, "TFC-0003 R17", "Run started from Python names a script or notebook its record contradicts")

# Lineage, stages, policy, immutability (TFC-0004, TFC-0005)
LIN001 = Rule("LIN001", "reference-unresolved", E, "TFC-0005 R5", "Referenced dataset, model or run does not exist")
LIN002 = Rule("LIN002", "pin-mismatch", E, "TFC-0005 R5", "Pinned reference no longer matches the version's content_hash")
LIN003 = Rule("LIN003", "lineage-cycle", E, "TFC-0005 R5", "Lineage (derived_from or parents) forms a cycle")
LIN004 = Rule("LIN004", "producing-run-not-succeeded", E, "TFC-0005 R4", "Run that produced a version did not succeed")
LIN005 = Rule("LIN005", "metric-split-unknown", E, "TFC-0005 R7", "Metric names a split its dataset version does not declare")
LIN006 = Rule("LIN006", "experiment-input-unresolved", W, "TFC-0002 R4", "Experiment input names no version the registry holds now")
LIN007 = Rule("LIN007", "stage-upstream-mismatch", E, "TFC-0002 R20", "Pipeline stage run pins an upstream output its producing run does not hold")
LIN008 = Rule("LIN008", "stage-claim-mismatch", E, "TFC-0004 R12", "Version names a pipeline stage its producing run did not execute")
MOD005 = Rule("MOD005", "card-disagrees", E, "TFC-0005 R6", "Model card front matter missing or disagreeing with metadata")
MOD006 = Rule("MOD006", "metrics-disagree-with-run", E, "TFC-0005 R13", "metrics.yaml claims a value its source run did not record")
MOD007 = Rule("MOD007", "artifact-not-from-run", E, "TFC-0005 R14", "Model file is not what its training run wrote under artifacts/")
MOD008 = Rule("MOD008", "card-section-unwritten", W, "TFC-0005 R6", "Committed model card section still holds the placeholder")
MOD009 = Rule("MOD009", "production-card-unwritten", E, "TFC-0005 R6", "Production version's card section still holds the placeholder")
STG001 = Rule("STG001", "stage-multiple-versions", E, "TFC-0005 R8", "More than one version in production or staging")
STG002 = Rule("STG002", "stage-version-missing", E, "TFC-0005 R8", "stages.yaml names a version that does not exist")
STG003 = Rule("STG003", "version-in-two-stages", E, "TFC-0005 R8", "A version holds two stages at once")
STG004 = Rule("STG004", "stages-history-mismatch", E, "TFC-0005 R8", "Current stages differ from what the history replays to")
STG005 = Rule("STG005", "transition-not-allowed", E, "TFC-0005 R9", "History records a transition the table does not allow")
STG006 = Rule("STG006", "history-rewritten", E, "TFC-0005 R8", "Stage history was changed, not appended to")
STG007 = Rule("STG007", "alias-reserved", E, "TFC-0005 R8", "Alias uses a stage name, 'latest' or a version's spelling")
POL001 = Rule("POL001", "policy-card-section", E, "TFC-0005 R10", "Version in a stage lacks a card section its policy requires")
POL002 = Rule("POL002", "policy-metric", E, "TFC-0005 R10", "Version in a stage misses a metric threshold of its policy")
IMM001 = Rule("IMM001", "committed-version-changed", E, "TFC-0005 R11", "A later commit changed a committed version")
IMM002 = Rule("IMM002", "committed-version-edited", E, "TFC-0005 R11", "Uncommitted edit inside a committed version")

# Signatures (TFC-0008)
SIG001 = Rule("SIG001", "signature-missing", E, "TFC-0008 R11", "Artifact needs signatures and has no SIGNATURE.asc")
SIG002 = Rule("SIG002", "signature-mismatch", E, "TFC-0008 R10", "Signature is not over this CHECKSUMS.txt")
SIG003 = Rule("SIG003", "signature-unverifiable", E, "TFC-0008 R10", "Signature could not be verified")
SIG004 = Rule("SIG004", "signature-unknown-key", E, "TFC-0008 R10", "Signed by a key that is not in keys/")
SIG005 = Rule("SIG005", "signature-untrusted", E, "TFC-0008 R9", "Good signature by a key outside the trust list")
SIG006 = Rule("SIG006", "signature-expired", E, "TFC-0008 R10", "Signing key or signature has expired")
SIG007 = Rule("SIG007", "signature-revoked", E, "TFC-0008 R10", "Signing key is revoked")
SIG008 = Rule("SIG008", "signature-malformed", E, "TFC-0008 R7", "SIGNATURE.asc is not clean ASCII-armored signatures")
SIG009 = Rule("SIG009", "signers-too-few", E, "TFC-0008 R11", "Fewer distinct trusted signers than required")
SIG010 = Rule("SIG010", "key-file-invalid", E, "TFC-0008 R8", "File in keys/ is not one clean public key")
SIG011 = Rule("SIG011", "trusted-key-missing", W, "TFC-0008 R9", "Trusted fingerprint has no public key in keys/")

# Git LFS (TFC-0008 R12)
LFS001 = Rule("LFS001", "large-file-not-lfs", E, "TFC-0008 R12", "Large artifact file not covered by an LFS attribute")
LFS002 = Rule("LFS002", "lfs-content-not-pulled", N, "TFC-0008 R12", "LFS pointer whose content is not pulled: not verified")
LFS003 = Rule("LFS003", "lfs-pointer-malformed", E, "TFC-0008 R12", "File looks like an LFS pointer but is malformed")
LFS004 = Rule("LFS004", "lfs-size-mismatch", E, "TFC-0008 R12", "LFS pointer sizes disagree with the metadata")
LFS005 = Rule("LFS005", "lfs-content-mismatch", E, "TFC-0008 R12", "Pulled content does not match its LFS pointer")
LFS006 = Rule("LFS006", "lfs-stored-raw", E, "TFC-0008 R12", "LFS attribute covers the file but Git stored it raw")

# Pipelines (TFC-0002 R19)
PIP001 = Rule("PIP001", "pipeline-path-missing", E, "TFC-0002 R19", "Pipeline names a code or input file that is not a file of the repository")
PIP002 = Rule("PIP002", "pipeline-cycle", E, "TFC-0002 R19", "Pipeline stages consume each other's outputs in a cycle")
PIP003 = Rule("PIP003", "pipeline-producer-missing", E, "TFC-0002 R19", "Stage input names a stage or an output that does not exist")
PIP004 = Rule("PIP004", "pipeline-duplicate-output", E, "TFC-0002 R19", "Stage declares the same output twice, or one inside another")
PIP005 = Rule("PIP005", "pipeline-name-taken", E, "TFC-0002 R19", "Two pipeline files give the same pipeline name")

# Federation: pins into other repositories (TFC-0001 R15-R16, TFC-0005 R18)
FED001 = Rule("FED001", "federation-declaration-invalid", E, "TFC-0001 R16", "[tool.strataml.federation] declares a repository wrongly")
FED002 = Rule("FED002", "federation-repository-unknown", E, "TFC-0005 R18", "Reference names a repository the federation does not declare")
FED003 = Rule("FED003", "federation-pin-not-verified", N, "TFC-0005 R18", "Pin into another repository not verified: that repository is not reachable here")
FED004 = Rule("FED004", "federation-pin-mismatch", E, "TFC-0005 R18", "Pin into another repository does not match what its committed HEAD holds")
FED005 = Rule("FED005", "federation-content-unavailable", N, "TFC-0005 R18", "Pinned version's LFS content is not in the other repository: not verified")
# fmt: on

RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        LAY001, LAY002, LAY003, LAY004, LAY005, LAY006,
        LAY010, LAY011, LAY012, LAY013, LAY014, LAY015, LAY016, LAY017,
        SCH001, SCH002, SCH003, SCH004, SCH005,
        CFG001, CFG002, CFG003, CFG004,
        DAT001, DAT002, DAT003, DAT004, DAT005, DAT006,
        MOD001, MOD002, MOD003, MOD004,
        CHK001, CHK002, CHK003, CHK004, CHK005, CHK006, CHK007, CHK008, CHK009, CHK010,
        RUN001, RUN002, RUN003, RUN004, RUN005, RUN006, RUN007, RUN008, RUN009, RUN010,
        RUN011, RUN012, RUN013, RUN015, RUN016, RUN017, RUN018, RUN020, RUN030, RUN031,
        LIN001, LIN002, LIN003, LIN004, LIN005, LIN006, LIN007, LIN008, MOD005, MOD006, MOD007, MOD008, MOD009,
        STG001, STG002, STG003, STG004, STG005, STG006, STG007,
        POL001, POL002, IMM001, IMM002,
        SIG001, SIG002, SIG003, SIG004, SIG005, SIG006, SIG007, SIG008, SIG009, SIG010, SIG011,
        LFS001, LFS002, LFS003, LFS004, LFS005, LFS006,
        PIP001, PIP002, PIP003, PIP004, PIP005,
        FED001, FED002, FED003, FED004, FED005,
    )
}  # fmt: skip
