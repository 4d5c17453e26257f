"""The forecasting pyfunc: raw recent history in, forecasts in the series' units out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.core.serving import FamilyModel, bad_request
from components.families.forecasting import frequency as frequencies
from components.families.forecasting.features import FeatureSpec, build_features


class ForecastingModel(FamilyModel):
    """Takes the recent raw history (date, target, covariates) and forecasts the next periods.

    The model carries its feature spec, a signature and raw recent history as input example,
    so the registry can smoke-test it and users see what to send.

    Args:
        forecaster: a fitted forecaster (``models.Forecaster``).
        spec: how raw history becomes its features.
    """

    packages = ("tensorflow-cpu", "keras", "statsmodels", "scikit-learn", "holidays")

    def __init__(self, forecaster: Any, spec: FeatureSpec) -> None:
        super().__init__(forecaster)
        self.spec = spec

    @property
    def forecaster(self) -> Any:
        return self.model

    def input_example(self, sample: pd.DataFrame) -> pd.DataFrame:
        """Recent history with numbers as doubles: an integer column could not carry a missing
        value when served."""
        integers = sample.select_dtypes("integer").columns
        return sample.astype(dict.fromkeys(integers, "float64"))

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        """Forecast ``horizon`` periods after the last row of ``model_input``."""
        history = self.check_history(model_input)
        features = build_features(history, self.spec)
        forecast = self.forecaster.predict(features, np.array([len(history) - 1]))[0]
        last = pd.Timestamp(history[self.spec.date_column].iloc[-1])
        offset = frequencies.to_offset(self.spec.frequency)
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
        target = values[spec.target_column]
        low = -np.inf if spec.target_min is None else spec.target_min
        high = np.inf if spec.target_max is None else spec.target_max
        outside = np.flatnonzero(~np.isfinite(target) | (target < low) | (target > high))
        if outside.size:
            bounds = [
                f"at least {spec.target_min}" if spec.target_min is not None else "",
                f"at most {spec.target_max}" if spec.target_max is not None else "",
            ]
            expected = " and ".join(bound for bound in bounds if bound) or "finite"
            raise bad_request(
                f"history {spec.target_column!r} must be {expected} (the model's "
                f"dataset.target_min / dataset.target_max): not at row(s) "
                f"{outside[:10].tolist()}: {target.iloc[outside[:3]].tolist()}"
            )
        for name, lowest, highest in spec.covariate_ranges:
            column = values[name]
            outside = np.flatnonzero(~np.isfinite(column) | (column < lowest) | (column > highest))
            if outside.size:
                raise bad_request(
                    f"history {name!r} must be within {lowest:.6g} to {highest:.6g} (its "
                    f"range in the model's data and a margin): not at row(s) "
                    f"{outside[:10].tolist()}: {column.iloc[outside[:3]].tolist()}"
                )
        expected = pd.date_range(
            history[spec.date_column].iloc[0],
            periods=len(history),
            freq=frequencies.to_offset(spec.frequency),
        )
        if not (pd.DatetimeIndex(history[spec.date_column]) == expected).all():
            raise bad_request(
                f"history dates must be consecutive at frequency {spec.frequency!r}, "
                "oldest first, without gaps"
            )
        return history.reset_index(drop=True)
