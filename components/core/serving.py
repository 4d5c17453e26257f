"""The pyfunc base of every family: one artifact, pinned requirements, signature, input
example, logging and loading; and HTTP 400 errors."""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Sequence
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel, PythonModelContext

from components.core.contract import LoggedModel
from components.core.persistence import Saveable, load_fitted

ARTIFACT = "fitted_model"  # the artifact folder of every family's fitted model


def bad_request(message: str) -> MlflowException:
    """An error MLflow's scoring server answers with HTTP 400 rather than 500."""
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


def check_work(amount: int, limit: int, what: str, breakdown: str, advice: str) -> None:
    """Refuse (HTTP 400) a request whose work, counted in ``what``, is over ``limit``: each of
    its settings may be in range while their product takes minutes and gigabytes."""
    if amount > limit:
        raise bad_request(
            f"{breakdown} is {amount:,} {what} in one request; at most {limit:,}: {advice}"
        )


class FamilyModel(PythonModel):
    """A fitted model (network, n-gram, forecaster, classifier...) served on raw inputs.

    The base logs and loads every family the same way: the fitted model's files
    (``components.core.persistence``) in the artifact folder ``ARTIFACT``, requirements
    pinned to the versions it was trained with (the core's and ``packages``), the signature
    of the input example and its output, with ``default_params`` as the params schema. A
    family's subclass keeps ``predict`` and its input checks.

    Args:
        model: the fitted model, ready to predict in memory.
    """

    packages: ClassVar[tuple[str, ...]] = ()  # the family's requirements besides the core's

    def __init__(self, model: Saveable) -> None:
        # Typed loosely: each family's wrapper calls its own model's methods (score, sample,
        # decode...), which the Saveable protocol does not name.
        self.model: Any = model

    def default_params(self) -> dict[str, Any] | None:
        """The inference parameters callers may pass to ``predict(..., params=...)`` (e.g. a
        temperature), with their defaults; None when the model takes none."""
        return None

    def input_example(self, sample: Any) -> Any:
        """The logged input example made of ``sample`` (raw test inputs)."""
        return sample

    def batches_requests(self) -> bool:
        """Whether ``predict_batch`` answers several requests much faster than one after
        another, so a server should gather concurrent requests: true of networks, whose
        every call costs far more than each row it holds."""
        return False

    def max_rows_per_call(self, params: dict[str, Any] | None) -> int | None:
        """The most rows one call of ``predict`` may hold with ``params`` (None: no bound):
        a family that bounds a request's work bounds a stacked batch's the same way."""
        return None

    def predict_batch(
        self, inputs: Sequence[Any], params: dict[str, Any] | None = None
    ) -> list[Any]:
        """The answers to several requests with the same ``params``, one per input.

        By default the requests become few: tables of the same columns, or lists of values,
        are stacked into calls of at most ``max_rows_per_call`` rows, each predicted at once
        and its answer split back by rows (right for models that answer each row on its
        own); other inputs are predicted one after another.
        """
        if not stackable(inputs):
            return [self.predict(None, data, params) for data in inputs]
        answers: list[Any] = []
        for call in calls_within([len(data) for data in inputs], self.max_rows_per_call(params)):
            rows, counts = stack_rows([inputs[index] for index in call])
            answers += split_rows(self.predict(None, rows, params), counts)
        return answers

    def log(self, sample: Any) -> LoggedModel:
        """Log the model to the active run; its example's output is a request with the
        default params (what the served model answers to the example alone)."""
        example = self.input_example(sample)
        output = self.predict(None, example)
        params = self.default_params()
        # The fitted model travels as its saved files, not inside the pickled wrapper.
        shell = copy.copy(self)
        shell.model = None
        with tempfile.TemporaryDirectory() as scratch:
            directory = Path(scratch) / ARTIFACT
            self.model.save(directory)
            info = mlflow.pyfunc.log_model(
                name=logged_model_name(),
                python_model=shell,
                artifacts={ARTIFACT: str(directory)},
                signature=mlflow.models.infer_signature(example, output, params=params),
                input_example=example,
                pip_requirements=pinned_requirements(self.packages),
            )
        return LoggedModel(info.model_uri, example, output)

    def load_context(self, context: PythonModelContext) -> None:
        # Only a class of the wrapper's own package may read the files (a family defined
        # outside ``components`` brings its own).
        package = type(self).__module__.partition(".")[0]
        self.model = load_fitted(Path(context.artifacts[ARTIFACT]), package)


def logged_model_name() -> str:
    """A logged model is named after the model its run trained (the run's name), so MLflow's
    list of logged models tells them apart."""
    run = mlflow.active_run()
    name = run.info.run_name if run is not None and run.info.run_name else "model"
    # MLflow refuses / : . % " ' in a logged model's name.
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "model"


# The wrappers also import this project's code, which is not a package on an index: a
# requirements.txt naming it could never be installed. Models are served from the project's
# environment (`seqpipe serve`, or `mlflow models serve --env-manager local`).
CORE_PACKAGES = ("mlflow", "pandas", "numpy")


def stackable(inputs: Sequence[Any]) -> bool:
    """Whether the requests stack into one input: tables of the same columns, or 1-d lists."""
    if all(isinstance(data, pd.DataFrame) for data in inputs):
        return all(list(data.columns) == list(inputs[0].columns) for data in inputs)
    one_dimensional = (list, tuple, pd.Series, np.ndarray)
    return all(isinstance(data, one_dimensional) and np.ndim(data) == 1 for data in inputs)


def stack_rows(inputs: Sequence[Any]) -> tuple[Any, list[int]]:
    """Stackable requests as one input, and each one's number of rows."""
    counts = [len(data) for data in inputs]
    if all(isinstance(data, pd.DataFrame) for data in inputs):
        return pd.concat(inputs, ignore_index=True), counts
    return np.asarray([value for data in inputs for value in data], dtype=object), counts


def calls_within(rows: list[int], limit: int | None) -> list[list[int]]:
    """Consecutive requests (their indices) grouped into calls of at most ``limit`` rows; a
    request over the limit alone goes in a call of its own, to be refused on its own."""
    calls: list[list[int]] = []
    held = 0
    for index, count in enumerate(rows):
        if not calls or (limit is not None and held + count > limit):
            calls.append([])
            held = 0
        calls[-1].append(index)
        held += count
    return calls


def split_rows(answer: pd.DataFrame, rows: list[int]) -> list[pd.DataFrame]:
    """``answer`` cut into consecutive tables of ``rows`` rows, each indexed from 0."""
    if len(answer) != sum(rows):
        raise ValueError(f"{len(answer)} answer rows for {sum(rows)} request rows")
    bounds = np.cumsum([0, *rows])
    return [answer.iloc[start:end].reset_index(drop=True) for start, end in pairwise(bounds)]


def pinned_requirements(packages: tuple[str, ...] = ()) -> list[str]:
    """The packages a served model needs, pinned to the versions it was trained with."""
    return [f"{name}=={version(name)}" for name in (*CORE_PACKAGES, *packages)]


def input_strings(model_input: Any, noun: str, purpose: str) -> list[str]:
    """The strings of a request: one string, a list, a Series or a one-column table.

    ``noun`` and ``purpose`` word the errors ("no prompt to continue: ...").

    Raises:
        MlflowException: (HTTP 400) if there is no string, or a value is not one.
    """
    if isinstance(model_input, str):
        model_input = [model_input]
    if isinstance(model_input, pd.DataFrame):
        if model_input.shape[1] != 1:
            raise bad_request(
                f"expected one column of {noun}s, got columns {list(model_input.columns)}"
            )
        model_input = model_input.iloc[:, 0]
    if not isinstance(model_input, (list, tuple, pd.Series, np.ndarray)):
        raise bad_request(f"expected a list of {noun}s, got {type(model_input).__name__}")
    values = list(model_input)
    if not values:
        raise bad_request(f"no {noun} to {purpose}: send a non-empty list of strings")
    not_text = [index for index, value in enumerate(values) if not isinstance(value, str)]
    if not_text:
        raise bad_request(
            f"value(s) at position(s) {not_text[:10]} are not text: "
            f"{[values[index] for index in not_text[:3]]!r}"
        )
    return values
