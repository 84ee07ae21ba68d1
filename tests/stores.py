"""Source stores the importers read (TFC-0003 R14), built file by file as MLflow and DVC write them."""

from __future__ import annotations

from pathlib import Path

T0 = 1_764_000_000_000  # tests/fixtures/make_mlruns.py's start time, ms
RUN = "0123456789abcdef0123456789abcdef"


def mlflow_store(base: Path) -> Path:
    store = base / "mlruns"
    run = store / "7" / RUN
    (run / "metrics").mkdir(parents=True)
    (run / "params").mkdir()
    (run / "artifacts").mkdir()
    (store / "7" / "meta.yaml").write_text(
        "experiment_id: '7'\nname: hand\nlifecycle_stage: active\n"
    )
    (run / "meta.yaml").write_text(
        f"run_id: {RUN}\nexperiment_id: '7'\nstatus: 3\nstart_time: {T0}\nend_time: {T0 + 2000}\n"
        "lifecycle_stage: active\n"
    )
    (run / "params" / "lr").write_text("0.5")
    (run / "metrics" / "loss").write_text(f"{T0 + 1} 0.5 0\n{T0 + 2} 0.25 1\n")
    (run / "artifacts" / "w.bin").write_bytes(b"\x00\x01")
    return store


def dvc_project(base: Path) -> Path:
    project = base / "proj"
    (project / "dvclive" / "plots" / "metrics" / "train").mkdir(parents=True)
    (project / "params.yaml").write_text("train:\n  lr: 0.01\n  epochs: 2\nseed: 7\n")
    (project / "extra.json").write_text('{"augment": true}')
    (project / "dvc.yaml").write_text(
        "params:\n- extra.json\n"
        "stages:\n  train:\n    cmd: python train.py\n    deps: [data.csv, train.py]\n"
        "    params: [train.lr, train.epochs]\n"
        "    outs: [model.pkl]\n"
        "    metrics:\n    - eval.json:\n        cache: false\n"
    )
    (project / "eval.json").write_text('{"test": {"acc": 0.93}, "ok": true}')
    (project / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n"
        "    - path: data.csv\n      hash: md5\n      md5: 3f1b2c0e7d5a4b9c8e6f1a2b3c4d5e6f\n      size: 120\n"
        "    outs:\n    - path: model.pkl\n      hash: md5\n      md5: 0a1b2c3d4e5f60718293a4b5c6d7e8f9\n"
        "      size: 2048\n"
    )
    (project / "dvclive" / "metrics.json").write_text(
        '{\n    "train": {\n        "loss": 0.4\n    },\n    "acc": 0.75,\n    "step": 1\n}'
    )
    (project / "dvclive" / "plots" / "metrics" / "train" / "loss.tsv").write_text(
        f"timestamp\tstep\tloss\n{T0}\t0\t0.9\n{T0 + 4000}\t1\t0.4\n"
    )
    (project / "dvclive" / "plots" / "metrics" / "acc.tsv").write_text(
        "step\tacc\n0\t0.5\n1\t0.75\n"
    )
    return project
