"""MLflow pyfunc wrappers: registered models take raw inputs and return outputs in real units."""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from components.preprocessing.series import FeatureSpec, build_features


def bad_request(message: str) -> MlflowException:
    """An error MLflow's scoring server answers with HTTP 400 rather than 500."""
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


class ForecastingModel(mlflow.pyfunc.PythonModel):
    """Takes the recent raw history (date, target, covariates) and forecasts the next periods."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from components.models.forecasting import load_forecaster

        directory = Path(context.artifacts["forecaster"])
        self.spec = FeatureSpec.from_json((directory / "feature_spec.json").read_text())
        self.forecaster = load_forecaster(directory)

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        """Forecast ``horizon`` periods after the last row of ``model_input``."""
        history = self.check_history(model_input)
        features = build_features(history, self.spec)
        forecast = self.forecaster.predict(features, np.array([len(history) - 1]))[0]
        last = pd.Timestamp(history[self.spec.date_column].iloc[-1])
        offset = pd.tseries.frequencies.to_offset(self.spec.frequency)
        dates = [last + step * offset for step in range(1, len(forecast) + 1)]
        return pd.DataFrame({self.spec.date_column: dates, "forecast": forecast.astype("float64")})

    def forecast_origins(self, history: pd.DataFrame, origins: np.ndarray) -> np.ndarray:
        """Forecasts made at each origin row of a long history (for rolling evaluation)."""
        return self.forecaster.predict(build_features(self.check_history(history), self.spec), origins)

    def check_history(self, model_input: Any) -> pd.DataFrame:
        """Validate served input; every problem is a 400 naming what is wrong."""
        if not isinstance(model_input, pd.DataFrame):
            raise bad_request(f"expected a table of recent history, got {type(model_input).__name__}")
        spec = self.spec
        required = [spec.date_column, spec.target_column, *spec.covariates]
        missing = [name for name in required if name not in model_input.columns]
        if missing:
            raise bad_request(f"history is missing column(s) {missing}; required: {required}")
        needed = self.forecaster.min_history
        if len(model_input) < needed:
            raise bad_request(f"history has {len(model_input)} row(s); at least {needed} are needed")
        history = model_input[required].copy()
        history[spec.date_column] = pd.to_datetime(history[spec.date_column], errors="coerce")
        values = history[required[1:]].apply(pd.to_numeric, errors="coerce")
        bad_columns = [name for name in required[1:] if values[name].isna().any()]
        if history[spec.date_column].isna().any() or bad_columns:
            raise bad_request(
                f"history has missing or non-numeric values in {bad_columns or [spec.date_column]}"
            )
        history[required[1:]] = values
        expected = pd.date_range(history[spec.date_column].iloc[0], periods=len(history),
                                 freq=spec.frequency)
        if not (pd.DatetimeIndex(history[spec.date_column]) == expected).all():
            raise bad_request(f"history dates must be consecutive at frequency {spec.frequency!r}, "
                              "oldest first, without gaps")
        return history.reset_index(drop=True)


def log_forecaster(forecaster: Any, spec: FeatureSpec, example: pd.DataFrame) -> str:
    """Log a fitted forecaster to the active run as a pyfunc model; return its ``models:/`` URI.

    The model carries its feature spec, a signature and ``example`` (raw recent history) as
    input example, so the registry can smoke-test it and users see what to send.
    """
    wrapper = ForecastingModel()
    wrapper.spec, wrapper.forecaster = spec, forecaster
    output = wrapper.predict(None, example)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "forecaster"
        forecaster.save(directory)
        (directory / "feature_spec.json").write_text(spec.to_json())
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=ForecastingModel(),
            artifacts={"forecaster": str(directory)},
            signature=mlflow.models.infer_signature(example, output),
            input_example=example,
            pip_requirements=pinned_requirements(),
        )
    return info.model_uri


def pinned_requirements() -> list[str]:
    """The packages a served model needs, pinned to the versions it was trained with."""
    packages = ["mlflow", "tensorflow-cpu", "keras", "statsmodels", "pandas", "numpy", "holidays",
                "seqpipe"]
    return [f"{name}=={version(name)}" for name in packages]
