"""The statistical forecasters: the naive seasonal forecast and statsmodels' state-space
ARIMA family, fitted once and forecasting by filtering new data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from components.core.persistence import read_settings, write_manifest


class NaiveSeasonal:
    """Forecasts each period with the value one season earlier (lag 7 on daily data)."""

    def __init__(self, period: int, horizon: int) -> None:
        self.period = period
        self.horizon = horizon
        self.min_history = period

    def describe(self) -> dict[str, Any]:
        """The specification, as logged on the run."""
        return {"seasonal_period": self.period}

    def fit(self, features, targets, positions, callbacks=None, backup_dir=None):
        return {}

    def predict(self, features: np.ndarray, origins: np.ndarray) -> np.ndarray:
        return seasonal_naive(features[:, 0], origins, self.horizon, self.period)

    def save(self, directory: Path) -> None:
        write_manifest(directory, self, {"period": self.period, "horizon": self.horizon})

    @classmethod
    def load(cls, directory: Path) -> NaiveSeasonal:
        settings = read_settings(directory)
        return cls(settings["period"], settings["horizon"])


class StateSpaceForecaster:
    """statsmodels' state-space ARIMA; forecasts by filtering new data with fitted parameters.

    Rolling forecasts never refit: the Kalman filter runs over the history with the parameters
    learned on the training split, and ``extend`` adds each new day in O(1). What is saved is
    the specification and the fitted parameters (a few hundred bytes), not the results object,
    which holds the training data and smoother output (168 MB for SARIMA on 5,000 days).
    """

    def __init__(
        self,
        order: tuple[int, int, int],
        seasonal_order: tuple[int, int, int, int],
        horizon: int,
        trend: str | None = None,
        params: dict[str, float] | None = None,
    ) -> None:
        self.order = tuple(order)
        self.seasonal_order = tuple(seasonal_order)
        self.horizon = horizon
        # statsmodels' default: a constant without differencing, none with it.
        self.trend = trend or ("c" if self.order[1] + self.seasonal_order[1] == 0 else "n")
        self.params_ = params  # parameter name -> fitted value
        self.min_history = max(2 * seasonal_order[3], 10) + sum(order)

    def describe(self) -> dict[str, Any]:
        """The specification, as logged on the run."""
        return {
            "order": list(self.order),
            "seasonal_order": list(self.seasonal_order),
            "trend": self.trend,
        }

    def _model(self, series: np.ndarray):
        from statsmodels.tsa.arima.model import ARIMA

        return ARIMA(series, order=self.order, seasonal_order=self.seasonal_order, trend=self.trend)

    def fit(self, features, targets, positions, callbacks=None, backup_dir=None):
        self.fit_series(features[positions.start : positions.train_end, 0])
        return {}

    def fit_series(self, series: np.ndarray) -> Any:
        """Fit the parameters on ``series``; return statsmodels' results (AIC, convergence)."""
        # Only the parameters are kept: skipping the smoother output and the parameters'
        # covariance saves a quarter of the fit time and changes no estimate.
        results = self._model(series.astype("float64")).fit(low_memory=True, cov_type="none")
        self.params_ = dict(zip(results.param_names, map(float, results.params), strict=True))
        return results

    def filtered(self, series: np.ndarray):
        """The fitted parameters applied to ``series``: results to forecast from its end."""
        if self.params_ is None:
            raise ValueError("the model is not fitted")
        model = self._model(series.astype("float64"))
        return model.filter(np.array([self.params_[name] for name in model.param_names]))

    def predict(self, features: np.ndarray, origins: np.ndarray) -> np.ndarray:
        series = features[:, 0].astype("float64")
        if self.horizon == 1:
            filtered = self.filtered(series[: origins.max() + 1])
            one_step = filtered.predict(start=0, end=origins.max() + 1)
            return np.asarray(one_step)[origins + 1][:, None]
        forecasts = np.empty((len(origins), self.horizon))
        order = np.argsort(origins)
        current = self.filtered(series[: origins[order[0]] + 1])
        position = origins[order[0]]
        for index in order:
            if origins[index] > position:
                current = current.extend(series[position + 1 : origins[index] + 1])
                position = origins[index]
            forecasts[index] = current.forecast(self.horizon)
        return forecasts

    def save(self, directory: Path) -> None:
        settings = {"horizon": self.horizon, "params": self.params_} | self.describe()
        write_manifest(directory, self, settings)

    @classmethod
    def load(cls, directory: Path) -> StateSpaceForecaster:
        settings = read_settings(directory)
        return cls(
            settings["order"],
            settings["seasonal_order"],
            settings["horizon"],
            settings["trend"],
            settings["params"],
        )


def seasonal_naive(
    target: np.ndarray, origins: np.ndarray, horizon: int, period: int
) -> np.ndarray:
    """Each of the next ``horizon`` values forecast as the latest observed value one or more
    whole seasons earlier: (origins, horizon)."""
    steps = np.arange(1, horizon + 1)
    lags = period * np.ceil(steps / period).astype(int)
    return target[origins[:, None] + steps[None, :] - lags[None, :]]
