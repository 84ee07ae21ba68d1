"""A Lightning logger that writes into a run started with `strataml.start_run` (TFC-0002 R17):

    with strataml.start_run(experiment="mnist-mlp") as run:
        trainer = lightning.Trainer(logger=StrataLogger(run), max_epochs=2)
        trainer.fit(model, data)

The module's hyperparameters (`save_hyperparameters()`) become the run's parameters, each logged
metric a point of its history at the trainer's global step; checkpoints go to the run's
artifacts/checkpoints/. The run's end stays start_run's: an exception out of `fit` records it
`failed`, Ctrl-C `interrupted`."""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from lightning.fabric.utilities.logger import _convert_params
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from strataml.integrations.recording import Recorder
from strataml.runner.tracked import ActiveRun


class StrataLogger(Logger):
    def __init__(self, run: ActiveRun) -> None:
        super().__init__()
        self._recorder = Recorder(run)

    @property
    def run(self) -> ActiveRun:
        return self._recorder.run

    # Lightning puts checkpoints in save_dir/name/version/checkpoints: here the run's
    # artifacts/checkpoints/, sealed with the run (and *.ckpt there travels through Git LFS).
    @property
    def save_dir(self) -> str:
        return str(self.run.output_dir)

    @property
    def name(self) -> str:
        return ""

    @property
    def version(self) -> str:
        return ""

    @rank_zero_only
    def log_hyperparams(
        self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        converted: Mapping[str, Any] = _convert_params(params) or {}
        self._recorder.params(converted)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._recorder.metrics(metrics, step=step)
