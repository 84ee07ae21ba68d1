"""Two forks of the template in different directories, the second declaring the first as
`upstream` and registering models/iris-classifier/v2 pinned to upstream's datasets/iris@v1
(issue 22: the federation's tests and its dashboard test build them alike)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import commit_all, fork_template
from strataml.integrity.stamp import stamp_directory

MODEL = "models/iris-classifier/v2"


def pin(provider: Path, name: str = "iris") -> str:
    """upstream:datasets/NAME@v1#<its content hash in the provider>."""
    metadata = (provider / f"datasets/{name}/v1/metadata.yaml").read_text("utf-8")
    digest = next(line for line in metadata.splitlines() if line.startswith("content_hash:"))
    return f"upstream:datasets/{name}@v1#{digest.split()[1]}"


def declare(consumer: Path, url: str) -> None:
    with (consumer / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write(
            '\n[tool.strataml.federation]\nname = "consumer"\n\n'
            f'[tool.strataml.federation.repositories]\nupstream = {{ url = "{url}" }}\n'
        )


def pinning_model(consumer: Path, pin: str) -> None:
    """models/iris-classifier/v2: v1 again, trained on the provider's dataset as well."""
    source, target = consumer / "models/iris-classifier/v1", consumer / MODEL
    shutil.copytree(source, target)
    (target / "SIGNATURE.asc").unlink(missing_ok=True)
    local = "- datasets/iris@v1"
    metadata = (target / "metadata.yaml").read_text("utf-8").replace("version: v1", "version: v2")
    metadata = metadata.replace(
        "  datasets:\n  - datasets/iris@v1#", f"  datasets:\n  - {pin}\n  - datasets/iris@v1#"
    )
    (target / "metadata.yaml").write_text(metadata, "utf-8")
    card = (
        (target / "card.md").read_text("utf-8").replace("iris-classifier@v1", "iris-classifier@v2")
    )
    card = card.replace(f"datasets:\n{local}\n", f"datasets:\n{local}\n- {pin.split('#')[0]}\n", 1)
    (target / "card.md").write_text(card, "utf-8")
    stamp_directory(target)


def forks(tmp_path: Path, url: str | None = None) -> tuple[Path, Path]:
    provider = fork_template(tmp_path / "first" / "provider")
    return provider, consumer_of(tmp_path, url or str(provider), pin(provider))


def consumer_of(tmp_path: Path, url: str, pinned: str) -> Path:
    """The second fork: `upstream` declared at `url`, models/iris-classifier/v2 pinning `pinned`."""
    consumer = fork_template(tmp_path / "second" / "consumer")
    declare(consumer, url)
    pinning_model(consumer, pinned)
    commit_all(consumer, f"v2 pins {pinned.split('#')[0]}")
    return consumer
