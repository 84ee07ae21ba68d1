"""A Hugging Face `transformers` Trainer callback that writes into a run started with
`strataml.start_run` (TFC-0002 R17):

    with strataml.start_run(experiment="tiny-bert") as run:
        trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[StrataCallback(run)])
        trainer.train()

The training arguments that decide the computation (TRAINING_ARGS) become the run's parameters;
each logged value a point of its history at the global step; the summary `train()` logs last
(`train_loss`, `train_runtime`, ...) final values. The run's end stays start_run's."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from strataml.integrations.recording import Recorder
from strataml.runner.tracked import ActiveRun

# Not output_dir, logging or saving: where files go is no part of what was computed, and a
# temporary path would make every run's parameters differ.
TRAINING_ARGS = (
    "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size",
    "gradient_accumulation_steps", "weight_decay", "warmup_steps", "lr_scheduler_type",
    "optim", "max_grad_norm", "seed",
)  # fmt: skip
_SUMMARY = "train_runtime"  # a key of the logs Trainer.train() writes once, when it ends


class StrataCallback(TrainerCallback):
    def __init__(self, run: ActiveRun) -> None:
        self._recorder = Recorder(run)

    @property
    def run(self) -> ActiveRun:
        return self._recorder.run

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if state.is_world_process_zero:
            self._recorder.params({name: getattr(args, name) for name in TRAINING_ARGS})

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
        logs: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        if not state.is_world_process_zero or not logs:
            return
        step = None if _SUMMARY in logs else state.global_step
        self._recorder.metrics(logs, step=step)
