"""MLflow pyfunc wrappers: registered models take raw inputs and return outputs in real units."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
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
        return self.forecaster.predict(
            build_features(self.check_history(history), self.spec), origins
        )

    def check_history(self, model_input: Any) -> pd.DataFrame:
        """Validate served input; every problem is a 400 naming what is wrong."""
        if not isinstance(model_input, pd.DataFrame):
            raise bad_request(
                f"expected a table of recent history, got {type(model_input).__name__}"
            )
        spec = self.spec
        required = [spec.date_column, spec.target_column, *spec.covariates]
        missing = [name for name in required if name not in model_input.columns]
        if missing:
            raise bad_request(f"history is missing column(s) {missing}; required: {required}")
        needed = self.forecaster.min_history
        if len(model_input) < needed:
            raise bad_request(
                f"history has {len(model_input)} row(s); at least {needed} are needed"
            )
        history = model_input[required].copy()
        history[spec.date_column] = pd.to_datetime(history[spec.date_column], errors="coerce")
        values = history[required[1:]].apply(pd.to_numeric, errors="coerce")
        bad_columns = [name for name in required[1:] if values[name].isna().any()]
        if history[spec.date_column].isna().any() or bad_columns:
            raise bad_request(
                f"history has missing or non-numeric values in {bad_columns or [spec.date_column]}"
            )
        history[required[1:]] = values
        expected = pd.date_range(
            history[spec.date_column].iloc[0], periods=len(history), freq=spec.frequency
        )
        if not (pd.DatetimeIndex(history[spec.date_column]) == expected).all():
            raise bad_request(
                f"history dates must be consecutive at frequency {spec.frequency!r}, "
                "oldest first, without gaps"
            )
        return history.reset_index(drop=True)


def log_forecaster(forecaster: Any, spec: FeatureSpec, example: pd.DataFrame) -> str:
    """Log a fitted forecaster to the active run as a pyfunc model; return its ``models:/`` URI.

    The model carries its feature spec, a signature and ``example`` (raw recent history) as
    input example, so the registry can smoke-test it and users see what to send.
    """
    # Numbers travel as doubles: an integer column could not carry a missing value when served.
    integers = example.select_dtypes("integer").columns
    example = example.astype(dict.fromkeys(integers, "float64"))
    wrapper = ForecastingModel()
    wrapper.spec, wrapper.forecaster = spec, forecaster
    output = wrapper.predict(None, example)

    def save(directory: Path) -> None:
        forecaster.save(directory)
        (directory / "feature_spec.json").write_text(spec.to_json())

    return log_pyfunc(ForecastingModel(), "forecaster", save, example, output)


def log_pyfunc(
    python_model: mlflow.pyfunc.PythonModel,
    artifact: str,
    save: Callable[[Path], None],
    example: Any,
    output: Any,
) -> str:
    """Log a pyfunc whose state ``save`` writes into the artifact folder ``artifact``, with
    the signature of ``example`` -> ``output`` and pinned requirements; return its URI."""
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / artifact
        save(directory)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=python_model,
            artifacts={artifact: str(directory)},
            signature=mlflow.models.infer_signature(example, output),
            input_example=example,
            pip_requirements=pinned_requirements(),
        )
    return info.model_uri


def pinned_requirements() -> list[str]:
    """The packages a served model needs, pinned to the versions it was trained with."""
    packages = [
        "mlflow",
        "tensorflow-cpu",
        "keras",
        "statsmodels",
        "pandas",
        "numpy",
        "holidays",
        "seqpipe",
    ]
    return [f"{name}=={version(name)}" for name in packages]


class TextClassifierModel(mlflow.pyfunc.PythonModel):
    """Takes raw texts and returns each label's probability and the most likely label."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from components.models.textclf import load_text_classifier

        self.classifier = load_text_classifier(Path(context.artifacts["classifier"]))

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        """Columns ``label`` and ``probability_<label>``, one row per text."""
        texts = check_texts(model_input)
        probabilities = self.classifier.predict_proba(texts)
        return probability_table(probabilities, self.classifier.labels)


def check_texts(model_input: Any) -> list[str]:
    """The texts of a request: a list of strings, a Series, or a one-column table.

    Raises:
        MlflowException: (HTTP 400) if there is no text, or a value is not text or has no word.
    """
    if isinstance(model_input, str):
        model_input = [model_input]
    if isinstance(model_input, pd.DataFrame):
        if model_input.shape[1] != 1:
            raise bad_request(
                f"expected one column of texts, got columns {list(model_input.columns)}"
            )
        model_input = model_input.iloc[:, 0]
    if not isinstance(model_input, (list, tuple, pd.Series, np.ndarray)):
        raise bad_request(f"expected a list of texts, got {type(model_input).__name__}")
    values = list(model_input)
    if not values:
        raise bad_request("no text to classify: send a non-empty list of strings")
    not_text = [index for index, value in enumerate(values) if not isinstance(value, str)]
    if not_text:
        raise bad_request(
            f"value(s) at position(s) {not_text[:10]} are not text: "
            f"{[values[index] for index in not_text[:3]]!r}"
        )
    # Numbers sent as JSON arrive as strings once the signature is enforced: a text must
    # hold at least one letter to be classified.
    wordless = [
        index
        for index, value in enumerate(values)
        if not any(character.isalpha() for character in value)
    ]
    if wordless:
        raise bad_request(
            f"text(s) at position(s) {wordless[:10]} are empty or have no words: "
            f"{[values[index] for index in wordless[:3]]!r}"
        )
    return values


def probability_table(probabilities: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """The most likely label and every label's probability, one row per text."""
    table = pd.DataFrame(probabilities, columns=[f"probability_{label}" for label in labels])
    table.insert(0, "label", [labels[index] for index in probabilities.argmax(axis=1)])
    return table


def log_text_classifier(classifier: Any, example_texts: list[str]) -> str:
    """Log a fitted text classifier to the active run as a pyfunc model; return its URI.

    The signature is one unnamed string column, so a plain list of strings and a one-column
    table both fit it; the Keras model inside carries its vectorizer, so serving needs no
    other preprocessing.
    """
    wrapper = TextClassifierModel()
    wrapper.classifier = classifier
    example = list(example_texts)
    output = wrapper.predict(None, example)
    return log_pyfunc(TextClassifierModel(), "classifier", classifier.save, example, output)
