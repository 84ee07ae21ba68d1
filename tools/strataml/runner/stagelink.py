"""What a pipeline stage's run records beside an ordinary run (TFC-0002 R20): its pipeline, its
stage, the code files it ran and, per upstream input, the producing run and the output's hash."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Upstream:
    """An input that another stage's run produced, pinned by its bytes."""

    stage: str
    output: str
    run_id: str
    content_hash: str  # blake3 of the file, or of a directory's listing (TFC-0008 R5)

    def record(self) -> dict[str, str]:
        return {
            "stage": self.stage,
            "output": self.output,
            "run": self.run_id,
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True, slots=True)
class PinnedFile:
    path: str
    content_hash: str

    def record(self) -> dict[str, str]:
        return {"path": self.path, "content_hash": self.content_hash}


@dataclass(frozen=True, slots=True)
class StageLink:
    pipeline: str  # the spec's repository-relative path
    stage: str
    code: dict[str, str]  # code file -> blake3
    upstream: dict[str, Upstream]  # input name -> what produced it
    files: dict[str, PinnedFile]  # input name -> a file under experiments/

    def document(self) -> dict[str, object]:
        return {
            "path": self.pipeline,
            "stage": self.stage,
            "code": dict(sorted(self.code.items())),
            "upstream": {n: u.record() for n, u in sorted(self.upstream.items())},
            "files": {n: f.record() for n, f in sorted(self.files.items())},
        }

    def input_hashes(self) -> dict[str, str]:
        """What the fingerprint counts of these inputs: bytes, never which run made them."""
        hashes = {n: u.content_hash for n, u in self.upstream.items()}
        hashes.update({n: f.content_hash for n, f in self.files.items()})
        return hashes
