"""Runs started from Python: `with start_run(...) as run:` records what tools/run.py records
(TFC-0002 R17, TFC-0003 R17); inside tools/run.py it writes into the run being made."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from strataml import tracking
from strataml.credentials import iter_secrets
from strataml.errors import StrataError
from strataml.refs import ArtifactRef, Reference
from strataml.runner import rundir
from strataml.runner.artifactcopy import copy_artifact
from strataml.runner.execute import Outcome
from strataml.runner.experiment import SpecError, experiment_from_spec
from strataml.runner.fingerprint import CodeState, code_state
from strataml.runner.inputs import ResolvedInput, resolve_inputs
from strataml.runner.origin import command_of, find_origin
from strataml.runner.outcome import clip
from strataml.runner.record import (
    OpenRun,
    Origin,
    PlannedRun,
    RunResult,
    begin_run,
    finish_run,
    planned_run,
    refuse_secrets,
)
from strataml.safeopen import read_regular
from strataml.schemas import validate
from strataml.tracking import TrackingError, not_json
from strataml.workspace import find_root
from strataml.yamlio import MAX_BYTES, parse_yaml

_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # experiment.schema.json param_name
_active: list[ActiveRun] = []  # the run this process is inside, if any


class _Terminated(BaseException):
    """SIGTERM during the body of a run: recorded `interrupted`, like Ctrl-C (TFC-0002 R8)."""


def start_run(
    experiment: str, *, params: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str] | None = None, tags: Sequence[str] = (), name: str | None = None,
    code: str | os.PathLike[str] | None = None,
) -> ActiveRun:  # fmt: skip
    """Resolve everything before anything is created (TFC-0002 R4); `with` claims the run."""
    if _active:
        raise TrackingError(f"a run is already active in this process: {_active[-1].run_id}")
    if isinstance(tags, str):  # a str is a Sequence[str] of its letters
        raise SpecError(f"start_run: tags is a list of strings, not the string {tags!r}")
    if os.environ.get("STRATA_RUN_DIR"):
        return JoinedRun(experiment, params or {}, inputs or {})
    root = find_root(Path.cwd())
    origin = find_origin(root, code)
    plain = _json_params(params or {})
    spec: dict[str, Any] = {
        "schema_version": 1,
        "name": experiment,
        "command": command_of(origin),
        **({"params": plain} if plain else {}),
        **({"inputs": dict(inputs)} if inputs else {}),
        **({"tags": list(tags)} if tags else {}),
    }
    for violation in validate("experiment", spec):
        raise SpecError(f"start_run: {violation.message}")
    if name is not None and (not isinstance(name, str) or not 0 < len(name) <= 100):
        raise SpecError("start_run: name must be a string of 1 to 100 characters")
    # The runner's own path from a spec to verified, pinned inputs: every reference it takes.
    resolved = resolve_inputs(root, experiment_from_spec(origin.path, spec).inputs)
    run = StandaloneRun(root, origin, spec, resolved, code_state(root), name)
    refuse_secrets(run.plan())
    return run


def _json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as STRATA_PARAMS carries them: JSON, finite numbers."""
    try:
        plain = json.loads(json.dumps(dict(params), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"start_run: params: not JSON-compatible: {not_json(exc)}") from exc
    assert isinstance(plain, dict)
    return plain


class ActiveRun:
    """What the body of `with start_run(...) as run:` talks to."""

    def __init__(self, root: Path, params: dict[str, Any], tags: list[str]) -> None:
        self.root = root
        self._params = params
        self._tags = tags
        self.result: RunResult | None = None  # once the block has ended

    @property
    def run_id(self) -> str:
        raise NotImplementedError

    @property
    def path(self) -> Path:
        """The run directory."""
        raise NotImplementedError

    @property
    def output_dir(self) -> Path:
        return self.path / rundir.ARTIFACTS

    @property
    def params(self) -> dict[str, Any]:
        return _json_params(self._params)  # a copy: the record holds what was logged

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self._tags)

    def input_path(self, name: str) -> Path:
        raise NotImplementedError

    def _metrics_file(self) -> Path:
        raise NotImplementedError

    def log_metric(self, name: str, value: float, *, step: int | None = None) -> None:
        """With a step: a point of the metric's history. Without: its final value."""
        self.log_metrics({name: value}, step=step)

    def log_metrics(self, values: Mapping[str, float], *, step: int | None = None) -> None:
        tracking.append_metrics(self._metrics_file(), values, step=step)

    def log_param(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not _param_name(key):
            raise TrackingError(f"parameter {key!r}: a name is letters, digits and _ (at most 64)")
        try:
            plain = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise TrackingError(f"parameter {key!r}: not JSON-compatible: {not_json(exc)}") from exc
        if key in self._params:
            if self._params[key] != plain:
                raise TrackingError(
                    f"parameter {key!r} is already {self._params[key]!r}; a run's parameters "
                    "do not change while it runs"
                )
            return
        for _, kind in iter_secrets(plain):
            raise TrackingError(f"parameter {key!r} holds {kind}, which config.yaml would record")
        self._add_param(key, plain)

    def _add_param(self, key: str, value: Any) -> None:
        raise NotImplementedError

    def set_tag(self, tag: str) -> None:
        if not isinstance(tag, str) or not tag:
            raise TrackingError(f"tag {tag!r}: a tag is a non-empty string")
        if tag in self._tags:
            return
        for _, kind in iter_secrets(tag):
            raise TrackingError(f"a tag holds {kind}, which config.yaml would record")
        self._add_tag(tag)

    def _add_tag(self, tag: str) -> None:
        raise NotImplementedError

    def log_artifact(self, path: str | os.PathLike[str], *, name: str | None = None) -> Path:
        """Copy a file or directory of the repository into the run's artifacts/ (as `name`)."""
        return copy_artifact(self.root, path, self.output_dir, name)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:  # fmt: skip
        return None


def _param_name(key: str) -> bool:
    return _PARAM_NAME.fullmatch(key) is not None


class StandaloneRun(ActiveRun):
    """A run of its own, claimed and sealed as tools/run.py does (TFC-0002 R17)."""

    def __init__(
        self, root: Path, origin: Origin, spec: dict[str, Any],
        inputs: dict[str, ResolvedInput], code: CodeState, name: str | None,
    ) -> None:  # fmt: skip
        super().__init__(root, dict(spec.get("params", {})), list(spec.get("tags", ())))
        self.origin, self._spec, self._inputs, self._code, self._name = (
            origin, spec, inputs, code, name,
        )  # fmt: skip
        self._open: OpenRun | None = None
        self._changed = False
        self._previous_handler: Any = None

    def plan(self) -> PlannedRun:
        spec = {**self._spec, "params": self._params, "tags": self._tags}
        spec = {k: v for k, v in spec.items() if v or k not in ("params", "tags")}
        experiment = experiment_from_spec(self.origin.path, spec)
        return planned_run(
            experiment, dict(self._params), self._inputs, self._code, self._name,
            tuple(self._tags), origin=self.origin,
        )  # fmt: skip

    @property
    def _running(self) -> OpenRun:
        if self._open is None:
            raise TrackingError("the run has not started: use it as `with start_run(...) as run:`")
        return self._open

    @property
    def run_id(self) -> str:
        return self._running.run_id

    @property
    def path(self) -> Path:
        return self._running.run_dir

    def input_path(self, name: str) -> Path:
        if name not in self._inputs:
            raise TrackingError(f"no input {name!r}; the run's inputs: {sorted(self._inputs)}")
        return self.root / self._inputs[name].path

    def _metrics_file(self) -> Path:
        if self.result is not None:
            raise TrackingError(f"{self.result.run_id} has ended; its record is sealed")
        return self._running.metrics_file

    def log_artifact(self, path: str | os.PathLike[str], *, name: str | None = None) -> Path:
        self._metrics_file()  # only while running: a sealed run never changes
        return super().log_artifact(path, name=name)

    def _add_param(self, key: str, value: Any) -> None:
        self._metrics_file()  # only while running
        self._params[key] = value
        self._changed = True

    def _add_tag(self, tag: str) -> None:
        self._metrics_file()
        self._tags.append(tag)
        self._changed = True

    def __enter__(self) -> StandaloneRun:
        if self._open is not None or _active:
            raise TrackingError("a run is entered once, and one at a time")
        self._open = begin_run(self.root, self.plan())
        _active.append(self)
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGTERM, _terminate)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:  # fmt: skip
        run = self._running
        if threading.current_thread() is threading.main_thread():
            # None: a handler installed outside Python, which cannot be put back; the default.
            signal.signal(signal.SIGTERM, self._previous_handler or signal.SIG_DFL)
        _active.remove(self)
        outcome, failure = _ending(error)
        if failure is not None and error is not None:  # what the command would have printed
            with run.log_path.open("ab") as log:
                log.write("".join(traceback.format_exception(error)).encode(errors="replace"))
        planned = self.plan()
        if self._changed:  # parameters or tags logged while running: recorded before the end
            refuse_secrets(planned)
            rundir.write_config(run.run_dir, planned.config(run.run_id, run.created))
        self.result = finish_run(run, planned, outcome, failure=failure)
        if isinstance(error, _Terminated):  # recorded: now as the process would have without us
            signal.raise_signal(signal.SIGTERM)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(signum)


def _ending(error: BaseException | None) -> tuple[Outcome, str | None]:
    """How the body ended, as the runner records a command's end (TFC-0002 R7, R16)."""
    if isinstance(error, SystemExit) and isinstance(error.__context__, KeyboardInterrupt):
        error = error.__context__  # Lightning's fit() turns Ctrl-C into sys.exit(1): still Ctrl-C
    if error is None:
        return Outcome(0, None, False, None, None), None
    if isinstance(error, KeyboardInterrupt | _Terminated):
        signum = signal.SIGINT if isinstance(error, KeyboardInterrupt) else signal.SIGTERM
        return Outcome(-signum, signum, False, None, None), None
    if isinstance(error, SystemExit) and error.code in (0, None):
        return Outcome(0, None, False, None, None), None
    if isinstance(error, SystemExit) and isinstance(error.code, int):
        return Outcome(error.code, None, False, None, None), None
    text = str(error)
    return Outcome(1, None, False, None, None), clip(
        f"{type(error).__name__}: {text}" if text else type(error).__name__
    )


class JoinedRun(ActiveRun):
    """Inside tools/run.py: the run is the runner's, its record fixed when it started."""

    def __init__(
        self, experiment: str, params: Mapping[str, Any], inputs: Mapping[str, str]
    ) -> None:
        recorded = tracking.params()
        config = _recorded_config(tracking.run_dir())
        tags = config.get("tags") if isinstance(config.get("tags"), list) else []
        super().__init__(find_root(Path.cwd()), recorded, list(tags or []))
        for key in _json_params(params):
            if key not in recorded:
                raise TrackingError(
                    f"parameter {key!r} is not one of this run's; inside tools/run.py the "
                    "experiment declares the parameters"
                )
        listed = config.get("inputs")
        recorded_inputs: dict[str, Any] = listed if isinstance(listed, dict) else {}
        for name, asked in inputs.items():
            self.input_path(name)
            if not _fits(asked, recorded_inputs.get(name)):
                raise TrackingError(
                    f"input {name}: {asked} is not what this run reads; inside tools/run.py the "
                    "experiment declares the inputs"
                )

    @property
    def run_id(self) -> str:
        return os.environ.get("STRATA_RUN_ID") or tracking.run_dir().name

    def __enter__(self) -> JoinedRun:
        if _active:
            raise TrackingError("a run is entered once, and one at a time")
        _active.append(self)
        return self

    @property
    def path(self) -> Path:
        return tracking.run_dir()

    @property
    def output_dir(self) -> Path:
        return tracking.output_dir()

    def input_path(self, name: str) -> Path:
        if not os.environ.get(f"STRATA_INPUT_{name.upper()}"):
            raise TrackingError(
                f"no input {name!r} in this run; inside tools/run.py the experiment declares "
                "the inputs"
            )
        return tracking.input_path(name)

    def log_metrics(self, values: Mapping[str, float], *, step: int | None = None) -> None:
        tracking.log_metrics(values, step=step)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:  # fmt: skip
        # tools/run.py ends and seals the run when the command exits: until then it runs.
        if self in _active:
            _active.remove(self)
        self.result = RunResult(self.run_id, self.path, "running", 0, None)

    def _add_param(self, key: str, value: Any) -> None:
        raise TrackingError(
            f"parameter {key!r}: inside tools/run.py config.yaml is written before the command "
            "starts; declare it in the experiment's params"
        )

    def _add_tag(self, tag: str) -> None:
        raise TrackingError(
            f"tag {tag!r}: inside tools/run.py config.yaml is written before the command "
            "starts; give it in the experiment's tags or with --tag"
        )


def _fits(asked: object, recorded: object) -> bool:
    """Does the reference start_run was given name what the run recorded for that input?"""
    if not isinstance(asked, str) or not isinstance(recorded, dict):
        return False
    try:
        return Reference.parse(asked).can_name(ArtifactRef.parse(str(recorded.get("ref"))))
    except ValueError:
        return False


def _recorded_config(run_dir: Path) -> dict[str, Any]:
    try:
        document = parse_yaml(read_regular(run_dir / rundir.CONFIG, MAX_BYTES + 1))
    except OSError as exc:
        raise StrataError(f"{run_dir}/{rundir.CONFIG}: {exc.strerror or exc}") from exc
    return document.data if isinstance(document.data, dict) else {}
