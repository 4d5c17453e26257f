"""The pyfunc base of every family: logging with signature and pins, and HTTP 400 errors."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE


def bad_request(message: str) -> MlflowException:
    """An error MLflow's scoring server answers with HTTP 400 rather than 500."""
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


def log_pyfunc(
    python_model: mlflow.pyfunc.PythonModel,
    artifact: str,
    save: Callable[[Path], None],
    example: Any,
    output: Any,
    packages: tuple[str, ...] = (),
    params: Mapping[str, Any] | None = None,
) -> str:
    """Log a pyfunc whose state ``save`` writes into the artifact folder ``artifact``, with
    the signature of ``example`` -> ``output`` and requirements pinned to the versions it was
    trained with (the core's and the family's ``packages``); return its URI.

    ``params`` are the inference parameters callers may pass to ``predict(..., params=...)``
    (e.g. a temperature), with their defaults: they become the signature's params schema.
    """
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / artifact
        save(directory)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=python_model,
            artifacts={artifact: str(directory)},
            signature=mlflow.models.infer_signature(example, output, params=params),
            input_example=example,
            pip_requirements=pinned_requirements(packages),
        )
    return info.model_uri


# The wrappers also import this project's code, which is not a package on an index: a
# requirements.txt naming it could never be installed. Models are served from the project's
# environment (`seqpipe serve`, or `mlflow models serve --env-manager local`).
CORE_PACKAGES = ("mlflow", "pandas", "numpy")


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
