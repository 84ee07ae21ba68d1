"""Framework integrations (strataml.integrations), each trained for real on the CPU with a tiny
model: a Lightning logger, a transformers Trainer callback, scikit-learn models in the skops
format. Their runs are recorded by start_run (TFC-0002 R17) and must read like tools/run.py's.

The frameworks come from the `integrations` extra (`pip install -e '.[test,integrations]'`).
Without it these tests skip with the reason, except under CI=true, where they fail: .ci/run
installs the extra for the README's suite. The other Pythons of .ci/versions run without it (no
PyTorch build for them there) and set STRATA_WITHOUT_INTEGRATIONS=1, which makes the tests skip
under CI=true as well. `import strataml` never needs a framework, and a test proves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, RunCli, commit_all, doctor_script, git, require_tool, write_prose
from runkit import assert_valid_record, load_record, run_py, runs
from strataml.yamlio import parse_yaml

FRAMEWORKS = ("torch", "lightning", "transformers", "skops", "sklearn")


def framework(name: str) -> Any:
    """A module of the `integrations` extra: skip without it, fail under CI=true unless this
    suite is one that runs without the extra (STRATA_WITHOUT_INTEGRATIONS=1, .ci/versions)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        message = f"{name} (integrations extra) is not installed"
        if os.environ.get("STRATA_WITHOUT_INTEGRATIONS") == "1":
            pytest.skip(f"{message}: this suite runs without the extra")
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}, and CI must provide it (.ci/run installs it)")
        pytest.skip(message)


def train(repo: Path, rel: str, body: str, *, expect: int = 0) -> tuple[str, str]:
    """Write, commit and run a training script from the repository root: (run id, stdout)."""
    (repo / rel).write_text(body, encoding="utf-8")
    commit_all(repo, f"add {rel}")
    before = set(runs(repo))
    done = subprocess.run(
        [sys.executable, rel], cwd=repo, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == expect, done.stderr[-3000:]
    [made] = set(runs(repo)) - before
    return made, done.stdout


def cloned(repo: Path, where: Path) -> Path:
    """What a teammate gets: no empty dirs, no mtimes, no modes but +x."""
    commit_all(repo, "round trip")
    git(where, "clone", "-q", str(repo), str(where / "clone"))
    return where / "clone"


def history(metrics: dict[str, Any]) -> dict[str, list[int]]:
    """Metric name -> the steps of its history points."""
    return {name: [p["step"] for p in points] for name, points in metrics["history"].items()}


def compared(strata: RunCli, repo: Path, run_id: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`strata runs compare` of the run against a run of tools/run.py: its sections."""
    monkeypatch.chdir(repo)
    before = set(runs(repo))
    assert run_py(repo, "--experiment", "experiments/my_experiment.yaml").returncode == 0
    [other] = set(runs(repo)) - before
    code, out, err = strata("runs", "compare", run_id, other, "--format", "json")
    assert (code, err) == (0, "")
    return json.loads(out)["sections"]


def assert_clone_is_clean(repo: Path, tmp_path: Path, *, lfs: int = 0) -> Path:
    """Commit, clone, doctor --strict in the clone; with `lfs` files under Git LFS, pull their
    content from the origin and check again with content required (TFC-0008 R12)."""
    clone = cloned(repo, tmp_path)
    checked = doctor_script(clone, "--strict")
    assert checked.returncode == 0, checked.stdout
    summary = checked.stdout.splitlines()[-1]
    assert summary.startswith(f"OK (strict): 0 errors, 0 warnings, {lfs} info;"), checked.stdout
    if lfs:
        git(clone, "lfs", "install", "--local")
        git(clone, "lfs", "pull")
        checked = doctor_script(clone, "--strict", "--require-content")
        assert checked.stdout.startswith("OK (strict): 0 errors, 0 warnings, 0 info;"), (
            checked.stdout
        )
    return clone


# --- import strataml stays light ----------------------------------------------------------------


def test_import_strataml_loads_no_framework() -> None:
    probe = (
        "import sys, strataml, strataml.integrations, strataml.integrations.recording\n"
        "strataml.start_run\n"
        f"print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO / "tools")},
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr


# --- Lightning ----------------------------------------------------------------------------------

LIGHTNING = """\
import warnings

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

import strataml
from strataml.integrations.lightning import StrataLogger

warnings.simplefilter("ignore", FutureWarning)  # lightning 2.6 on torch 2.13: LeafSpec


class Regressor(L.LightningModule):
    def __init__(self, hidden=4, lr=0.1, fail_at=None):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(3, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def training_step(self, batch, index):
        if self.global_step == self.hparams.fail_at:
            raise RuntimeError(f"loss diverged at step {self.global_step}")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, index):
        x, y = batch
        self.log("val/loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


torch.manual_seed(0)
data = TensorDataset(torch.randn(16, 3), torch.randn(16, 1))
with strataml.start_run(experiment="lightning-regressor", tags=["lightning"]) as run:
    trainer = L.Trainer(
        max_epochs=2, logger=StrataLogger(run), log_every_n_steps=1, accelerator="cpu",
        devices=1, enable_checkpointing=CHECKPOINT, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0,
    )
    trainer.fit(Regressor(**MODEL), DataLoader(data, batch_size=4), DataLoader(data, batch_size=8))
print(run.run_id, run.result.status)
"""


def test_a_lightning_run_is_recorded_compared_and_survives_a_clone(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strata: RunCli
) -> None:
    framework("lightning")
    require_tool("git-lfs")
    git(template, "lfs", "install", "--local")  # the checkpoint travels through Git LFS
    script = LIGHTNING.replace("**MODEL", "hidden=4, lr=0.1").replace("CHECKPOINT", "True")
    run_id, out = train(template, "experiments/lightning_train.py", script)
    assert out.splitlines()[-1] == f"{run_id} succeeded"
    run_dir = template / "runs" / run_id
    assert_valid_record(run_dir)
    config, system, metrics = load_record(run_dir)
    # The module's save_hyperparameters(), as the run's parameters (fail_at: its default).
    assert config["params"] == {"hidden": 4, "lr": 0.1, "fail_at": None}
    assert config["experiment"]["spec"]["params"] == config["params"]
    assert config["tags"] == ["lightning"]
    assert (system["status"], system["exit_code"]) == ("succeeded", 0)
    # 16 rows in batches of 4, two epochs: global steps 0-7; validation after each epoch; the
    # epoch Lightning reports beside every metric, once per step.
    assert history(metrics) == {
        "epoch": [0, 1, 2, 3, 4, 5, 6, 7],
        "train/loss": [0, 1, 2, 3, 4, 5, 6, 7],
        "val/loss": [3, 7],
    }
    assert [p["value"] for p in metrics["history"]["epoch"]] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert metrics["final"] == {
        name: points[-1]["value"] for name, points in metrics["history"].items()
    }
    # Lightning's checkpoint of the last epoch, in the sealed record and under Git LFS.
    checkpoint = f"runs/{run_id}/artifacts/checkpoints/epoch=1-step=8.ckpt"
    assert sorted(p.name for p in (run_dir / "artifacts").rglob("*")) == [
        "checkpoints", "epoch=1-step=8.ckpt",
    ]  # fmt: skip
    assert checkpoint.removeprefix(f"runs/{run_id}/") in (run_dir / "CHECKSUMS.txt").read_text()
    assert git(template, "check-attr", "filter", "--", checkpoint) == f"{checkpoint}: filter: lfs\n"

    sections = compared(strata, template, run_id, monkeypatch)
    assert sections["run"]["experiment"] == ["lightning-regressor", "my_experiment"]
    assert sections["params"] == {
        "epochs": [None, 100], "fail_at": [None, None], "hidden": [4, None], "l2": [None, 0.001],
        "learning_rate": [None, 0.5], "lr": [0.1, None], "seed": [None, 0],
    }  # fmt: skip
    assert sorted(sections["metrics"]) == [
        "epoch", "test/accuracy", "train/loss", "val/accuracy", "val/loss",
    ]  # fmt: skip
    assert_clone_is_clean(template, tmp_path, lfs=1)


def test_a_failing_lightning_step_records_failed(template: Path) -> None:
    framework("lightning")
    script = LIGHTNING.replace("**MODEL", "hidden=4, lr=0.1, fail_at=2").replace(
        "CHECKPOINT", "False"
    )
    run_id, _ = train(template, "experiments/lightning_fail.py", script, expect=1)
    run_dir = template / "runs" / run_id
    assert_valid_record(run_dir)
    config, system, metrics = load_record(run_dir)
    assert config["params"] == {"hidden": 4, "lr": 0.1, "fail_at": 2}
    assert (system["status"], system["exit_code"], system["reason"]) == (
        "failed", 1, "RuntimeError: loss diverged at step 2",
    )  # fmt: skip
    assert history(metrics) == {"epoch": [0, 1], "train/loss": [0, 1]}
    log = (run_dir / "logs.txt").read_text().splitlines()
    assert log[-2] == "RuntimeError: loss diverged at step 2"
    assert log[-1].startswith(f"[strata] {run_id} failed (exit code 1) after ")
    checked = doctor_script(template, "--strict")
    assert checked.returncode == 0, checked.stdout


def test_ctrl_c_in_a_lightning_fit_records_interrupted(template: Path) -> None:
    framework("lightning")
    script = (
        LIGHTNING.replace("**MODEL", "hidden=4, lr=0.1, fail_at=2")
        .replace("CHECKPOINT", "False")
        .replace(
            'raise RuntimeError(f"loss diverged at step {self.global_step}")',
            "os.kill(os.getpid(), signal.SIGINT)",
        )
        .replace("import warnings\n", "import os\nimport signal\nimport warnings\n")
    )
    # Lightning catches the KeyboardInterrupt, shuts down and exits 1: the run says why.
    run_id, _ = train(template, "experiments/lightning_stop.py", script, expect=1)
    _, system, metrics = load_record(template / "runs" / run_id)
    assert (system["status"], system["exit_code"], "reason" in system) == (
        "interrupted", -2, False,
    )  # fmt: skip
    assert history(metrics) == {"epoch": [0, 1], "train/loss": [0, 1]}


# --- transformers -------------------------------------------------------------------------------

TRAINER = """\
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

import strataml
from strataml.integrations.transformers import StrataCallback

FAIL_AT = None  # a forward pass in training that raises, counted from 1


class TinyBert(BertForSequenceClassification):
    calls = 0

    def forward(self, input_ids=None, labels=None, **rest):
        if self.training:
            self.calls += 1
            if self.calls == FAIL_AT:
                raise ValueError(f"corrupt batch {self.calls}")
        return super().forward(input_ids=input_ids, labels=labels, **rest)


class Tokens(torch.utils.data.Dataset):
    def __init__(self, rows, seed):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 32, (rows, 8), generator=generator)
        self.labels = torch.randint(0, 2, (rows,), generator=generator)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        return {"input_ids": self.ids[index], "labels": self.labels[index]}


torch.manual_seed(0)
config = BertConfig(
    vocab_size=32, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
    intermediate_size=16, max_position_embeddings=16, num_labels=2,
)
with strataml.start_run(experiment="tiny-bert", tags=["transformers"]) as run:
    args = TrainingArguments(
        output_dir=str(run.output_dir / "trainer"), max_steps=4, per_device_train_batch_size=4,
        learning_rate=1e-3, logging_steps=1, eval_strategy="steps", eval_steps=2,
        save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True, seed=0,
    )
    trainer = Trainer(
        model=TinyBert(config), args=args, train_dataset=Tokens(16, 1),
        eval_dataset=Tokens(8, 2), callbacks=[StrataCallback(run)],
    )
    trainer.train()
print(run.run_id, run.result.status)
"""
TRAINER_PARAMS = {
    "learning_rate": 0.001, "num_train_epochs": 3.0, "max_steps": 4,
    "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1, "weight_decay": 0.0,
    "warmup_steps": 0, "lr_scheduler_type": "linear", "optim": "adamw_torch_fused",
    "max_grad_norm": 1.0, "seed": 0,
}  # fmt: skip


def test_a_trainer_run_is_recorded_compared_and_survives_a_clone(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strata: RunCli
) -> None:
    framework("transformers")
    framework("accelerate")
    run_id, out = train(template, "experiments/bert_train.py", TRAINER)
    assert out.splitlines()[-1] == f"{run_id} succeeded"
    run_dir = template / "runs" / run_id
    assert_valid_record(run_dir)
    config, system, metrics = load_record(run_dir)
    assert config["params"] == TRAINER_PARAMS
    assert (system["status"], system["exit_code"]) == ("succeeded", 0)
    # Logged every step, evaluated every second one; the summary train() logs last is final.
    assert history(metrics) == {
        "epoch": [1, 2, 3, 4],
        "eval_loss": [2, 4], "eval_runtime": [2, 4], "eval_samples_per_second": [2, 4],
        "eval_steps_per_second": [2, 4],
        "grad_norm": [1, 2, 3, 4], "learning_rate": [1, 2, 3, 4], "loss": [1, 2, 3, 4],
    }  # fmt: skip
    assert [p["value"] for p in metrics["history"]["epoch"]] == [0.25, 0.5, 0.75, 1.0]
    assert [p["value"] for p in metrics["history"]["learning_rate"]] == [
        0.001, 0.00075, 0.0005, 0.00025,
    ]  # fmt: skip
    assert sorted(set(metrics["final"]) - set(metrics["history"])) == [
        "total_flos", "train_loss", "train_runtime", "train_samples_per_second",
        "train_steps_per_second",
    ]  # fmt: skip
    assert metrics["final"]["epoch"] == 1.0

    sections = compared(strata, template, run_id, monkeypatch)
    assert sections["run"]["experiment"] == ["tiny-bert", "my_experiment"]
    assert sections["params"] == {  # seed: 0 in both, alike, so not shown
        **{name: [value, None] for name, value in TRAINER_PARAMS.items() if name != "seed"},
        "epochs": [None, 100], "l2": [None, 0.001], "learning_rate": [0.001, 0.5],
    }  # fmt: skip
    assert sorted(sections["metrics"]) == sorted(
        {*metrics["final"], "test/accuracy", "train/loss", "val/accuracy"}
    )
    assert sections["metrics"]["loss"] == [metrics["final"]["loss"], None]
    assert_clone_is_clean(template, tmp_path)


def test_a_failing_trainer_step_records_failed(template: Path) -> None:
    framework("transformers")
    framework("accelerate")
    script = TRAINER.replace("FAIL_AT = None", "FAIL_AT = 3")
    run_id, _ = train(template, "experiments/bert_fail.py", script, expect=1)
    run_dir = template / "runs" / run_id
    assert_valid_record(run_dir)
    config, system, metrics = load_record(run_dir)
    assert config["params"] == TRAINER_PARAMS
    assert (system["status"], system["exit_code"], system["reason"]) == (
        "failed", 1, "ValueError: corrupt batch 3",
    )  # fmt: skip
    assert history(metrics)["loss"] == [1, 2]
    assert history(metrics)["eval_loss"] == [2]
    checked = doctor_script(template, "--strict")
    assert checked.returncode == 0, checked.stdout


# --- scikit-learn in the skops format -----------------------------------------------------------

SKLEARN = """\
import csv
import operator

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import strataml
from strataml.integrations.sklearn import save_model


def read(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return np.array([[float(v) for k, v in r.items() if k != "species"] for r in rows]), [
        r["species"] for r in rows
    ]


with strataml.start_run(
    experiment="iris-skops", params={"C": 1.0}, inputs={"iris": "datasets/iris@v1"}
) as run:
    x, y = read(run.input_path("iris") / "train" / "iris.csv")
    model = make_pipeline(STEPS LogisticRegression(C=1.0, max_iter=500)).fit(x, y)
    tx, ty = read(run.input_path("iris") / "test" / "iris.csv")
    run.log_metrics({"test/accuracy": float(model.score(tx, ty))})
    save_model(model, run.output_dir / "model.skops")
print(run.run_id, run.result.status)
"""


def test_a_skops_model_registers_as_sklearn_travels_by_lfs_and_loads_trusted(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strata: RunCli
) -> None:
    framework("sklearn")
    framework("skops")
    from strataml.integrations.sklearn import load_model

    require_tool("git-lfs")
    git(template, "lfs", "install", "--local")
    script = SKLEARN.replace("STEPS", "StandardScaler(),")
    run_id, out = train(template, "experiments/iris_skops.py", script)
    assert out == f"{run_id} succeeded\n"
    assert_valid_record(template / "runs" / run_id)
    monkeypatch.chdir(template)
    code, _, err = strata(
        "model", "register", "iris-skops", "--from-run", run_id,
        "--task", "classification", "--license", "CC-BY-4.0",
    )  # fmt: skip
    assert (code, err) == (0, "")
    version = template / "models" / "iris-skops" / "v1"
    metadata = parse_yaml((version / "metadata.yaml").read_bytes()).data
    assert (metadata["framework"], metadata["artifacts"]) == (
        "sklearn", [{"path": "model.skops", "format": "skops"}],
    )  # fmt: skip
    # Both copies travel by Git LFS (.gitattributes), whatever their size.
    rule = git(template, "check-attr", "filter", "--", f"runs/{run_id}/artifacts/model.skops",
               "models/iris-skops/v1/model.skops")  # fmt: skip
    assert rule.splitlines() == [
        f"runs/{run_id}/artifacts/model.skops: filter: lfs",
        "models/iris-skops/v1/model.skops: filter: lfs",
    ]
    write_prose(version)  # the card's sections, as a person writes them before committing
    git(template, "add", "-A")
    assert git(template, "lfs", "ls-files", "--name-only").splitlines() == sorted(
        [f"runs/{run_id}/artifacts/model.skops", "models/iris-skops/v1/model.skops"]
    )
    model = load_model(version / "model.skops")  # only scikit-learn's own types: trusted
    assert type(model).__name__ == "Pipeline"
    assert model.predict([[5.1, 3.5, 1.4, 0.2]]).tolist() == ["setosa"]
    clone = assert_clone_is_clean(template, tmp_path, lfs=2)
    pulled = load_model(clone / "models" / "iris-skops" / "v1" / "model.skops")
    assert pulled.predict([[5.1, 3.5, 1.4, 0.2]]).tolist() == ["setosa"]


def test_a_skops_file_with_an_unknown_type_loads_only_when_named(
    template: Path, tmp_path: Path
) -> None:
    framework("sklearn")
    framework("skops")
    from strataml.integrations.sklearn import UntrustedTypesError, load_model

    script = SKLEARN.replace("STEPS", "FunctionTransformer(operator.pos),")
    run_id, _ = train(template, "experiments/iris_log.py", script)
    path = template / "runs" / run_id / "artifacts" / "model.skops"
    with pytest.raises(UntrustedTypesError) as refused:
        load_model(path)
    assert refused.value.untrusted == ("_operator.pos",)
    assert str(refused.value) == (
        f"{path}: holds types that are not trusted: _operator.pos; read the file's source, then "
        "pass the ones you trust as load_model(..., trusted=[...])"
    )
    with pytest.raises(UntrustedTypesError):  # naming another type trusts nothing it holds
        load_model(path, trusted=["_operator.neg"])
    with pytest.raises(TypeError) as wrong:  # a string would trust any part of its text
        load_model(path, trusted="x._operator.posx")
    assert str(wrong.value) == (
        "trusted is a list of type names, not the string 'x._operator.posx'"
    )
    model = load_model(path, trusted=["_operator.pos"])
    numpy = framework("numpy")
    assert model.predict(numpy.array([[5.1, 3.5, 1.4, 0.2]])).tolist() == ["setosa"]


def test_register_refuses_a_pickle_named_skops(
    template: Path, monkeypatch: pytest.MonkeyPatch, strata: RunCli
) -> None:
    body = (
        "import pickle, strataml\n"
        "with strataml.start_run(experiment='pickled', inputs={'iris': 'datasets/iris@v1'}) as run:\n"
        "    run.log_metrics({'test/accuracy': 0.9})\n"
        "    (run.output_dir / 'model.skops').write_bytes(pickle.dumps({'weights': [1, 2]}))\n"
    )
    run_id, _ = train(template, "experiments/pickled.py", body)
    before = sorted(p.name for p in (template / "models").iterdir())
    monkeypatch.chdir(template)
    code, _, err = strata(
        "model", "register", "pickled", "--from-run", run_id,
        "--task", "classification", "--license", "MIT",
    )  # fmt: skip
    assert code == 2
    assert err == (
        "strata: error: model.skops: not a skops file (a zip archive holding schema.json): "
        "File is not a zip file\n"
    )
    assert sorted(p.name for p in (template / "models").iterdir()) == before
