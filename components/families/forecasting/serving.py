"""The forecasting pyfunc: raw recent history in, forecasts in the series' units out."""

from __future__ import annotations

from collections.abc import Sequence
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
        return self.forecast_table(history, forecast)

    def batches_requests(self) -> bool:
        # A network forecasts many windows in one call; a state-space model filters each
        # history on its own, so only networks gain from gathering requests.
        return callable(getattr(self.forecaster, "predict_windows", None))

    def predict_batch(
        self, inputs: Sequence[Any], params: dict[str, Any] | None = None
    ) -> list[pd.DataFrame]:
        """One forecast per history, the network run once over every history's last window."""
        if not self.batches_requests():
            return [self.predict(None, data, params) for data in inputs]
        histories = [self.check_history(data) for data in inputs]
        features = [build_features(history, self.spec) for history in histories]
        forecasts = self.forecaster.predict_windows(features)
        return [
            self.forecast_table(history, forecast)
            for history, forecast in zip(histories, forecasts, strict=True)
        ]

    def check_covariate_ranges(self, values: pd.DataFrame) -> None:
        """A 400 naming the first covariate with a value outside its served range."""
        ranges = self.spec.covariate_ranges
        if not ranges:
            return
        names = [name for name, _, _ in ranges]
        columns = values[names].to_numpy(dtype="float64")
        lowest = np.array([low for _, low, _ in ranges])
        highest = np.array([high for _, _, high in ranges])
        outside = ~np.isfinite(columns) | (columns < lowest) | (columns > highest)
        for index in np.flatnonzero(outside.any(axis=0))[:1]:
            rows = np.flatnonzero(outside[:, index])
            raise bad_request(
                f"history {names[index]!r} must be within {lowest[index]:.6g} to "
                f"{highest[index]:.6g} (its range in the model's data and a margin): not at "
                f"row(s) {rows[:10].tolist()}: {columns[rows[:3], index].tolist()}"
            )

    def forecast_table(self, history: pd.DataFrame, forecast: np.ndarray) -> pd.DataFrame:
        """The forecast dated from the period after the history's last row."""
        last = pd.Timestamp(history[self.spec.date_column].iloc[-1])
        offset = frequencies.to_offset(self.spec.frequency)
        # In nanoseconds whatever the history's resolution: a request answers the same alone
        # (its dates parsed against the signature) or batched with others.
        dates = pd.DatetimeIndex([last + step * offset for step in range(1, len(forecast) + 1)])
        return pd.DataFrame(
            {self.spec.date_column: dates.as_unit("ns"), "forecast": forecast.astype("float64")}
        )

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
        values = history[required[1:]]
        if not all(pd.api.types.is_numeric_dtype(dtype) for dtype in values.dtypes):
            values = values.apply(pd.to_numeric, errors="coerce")
        missing_values = values.isna().to_numpy().any(axis=0)
        bad_columns = [name for name, bad in zip(required[1:], missing_values, strict=True) if bad]
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
        self.check_covariate_ranges(values)
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
