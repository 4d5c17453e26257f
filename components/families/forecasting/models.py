"""Forecasting models by name: the naive seasonal and statsmodels forecasters, the networks
(``networks.py``, Keras loaded only when one is built), all behind one fit/predict shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from components.families.forecasting.config import ForecastRun
from components.families.forecasting.features import SplitPositions

# Network name -> its builder in networks.py.
NETWORKS: dict[str, str] = {
    "linear": "build_linear",
    "simple_rnn": "build_simple_rnn",
    "deep_rnn": "build_deep_rnn",
    "lstm": "build_lstm",
    "gru": "build_gru",
    "conv_gru": "build_conv_gru",
    "wavenet": "build_wavenet",
    "ln_rnn": "build_ln_rnn",
    "bn_rnn": "build_bn_rnn",
}

# (order, seasonal_order) defaults; "s" in a seasonal order is the dataset's seasonal period.
STATISTICAL_ORDERS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int, str | int]]] = {
    "ar": ((1, 0, 0), (0, 0, 0, 0)),
    "ma": ((0, 0, 1), (0, 0, 0, 0)),
    "arma": ((1, 0, 1), (0, 0, 0, 0)),
    "arima": ((1, 1, 1), (0, 0, 0, 0)),
    "sarima": ((1, 0, 0), (0, 1, 1, "s")),
}


class Forecaster(Protocol):
    """What every forecasting model offers, neural or statistical."""

    kind: str
    horizon: int
    min_history: int  # rows of history needed to forecast

    def fit(
        self,
        features: np.ndarray,
        targets: np.ndarray,
        positions: SplitPositions,
        callbacks: list[Any] | None = None,
        backup_dir: Path | None = None,
    ) -> dict[str, list[float]]: ...

    def predict(self, features: np.ndarray, origins: np.ndarray) -> np.ndarray: ...

    def describe(self) -> dict[str, Any]: ...

    def save(self, directory: Path) -> None: ...


class NaiveSeasonal:
    """Forecasts each period with the value one season earlier (lag 7 on daily data)."""

    kind = "naive_seasonal"

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
        write_manifest(
            directory, {"kind": self.kind, "period": self.period, "horizon": self.horizon}
        )

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> NaiveSeasonal:
        return cls(manifest["period"], manifest["horizon"])


class StateSpaceForecaster:
    """statsmodels' state-space ARIMA; forecasts by filtering new data with fitted parameters.

    Rolling forecasts never refit: the Kalman filter runs over the history with the parameters
    learned on the training split, and ``extend`` adds each new day in O(1). What is saved is
    the specification and the fitted parameters (a few hundred bytes), not the results object,
    which holds the training data and smoother output (168 MB for SARIMA on 5,000 days).
    """

    kind = "state_space"

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
        write_manifest(
            directory,
            {"kind": self.kind, "horizon": self.horizon, "params": self.params_} | self.describe(),
        )

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> StateSpaceForecaster:
        return cls(
            manifest["order"],
            manifest["seasonal_order"],
            manifest["horizon"],
            manifest["trend"],
            manifest["params"],
        )


def seasonal_naive(
    target: np.ndarray, origins: np.ndarray, horizon: int, period: int
) -> np.ndarray:
    """Each of the next ``horizon`` values forecast as the latest observed value one or more
    whole seasons earlier: (origins, horizon)."""
    steps = np.arange(1, horizon + 1)
    lags = period * np.ceil(steps / period).astype(int)
    return target[origins[:, None] + steps[None, :] - lags[None, :]]


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "forecaster.json").write_text(json.dumps(manifest, indent=2))


def _load_network(directory: Path, manifest: dict[str, Any]) -> Forecaster:
    from components.families.forecasting.networks import KerasForecaster

    return KerasForecaster.load(directory, manifest)


def _load_boosting(directory: Path, manifest: dict[str, Any]) -> Forecaster:
    from components.families.forecasting.boosting import GradientBoostingForecaster

    return GradientBoostingForecaster.load(directory, manifest)


LOADERS: dict[str, Callable[[Path, dict[str, Any]], Forecaster]] = {
    NaiveSeasonal.kind: NaiveSeasonal.load,
    StateSpaceForecaster.kind: StateSpaceForecaster.load,
    "keras": _load_network,
    "gradient_boosting": _load_boosting,
}


def load_forecaster(directory: Path) -> Forecaster:
    """Load a forecaster saved with ``save``."""
    manifest = json.loads((Path(directory) / "forecaster.json").read_text())
    return LOADERS[manifest["kind"]](Path(directory), manifest)


def _state_space(run: ForecastRun, window: int, seasonal_period: int) -> StateSpaceForecaster:
    order, seasonal = STATISTICAL_ORDERS[run.name]
    seasonal = tuple(seasonal_period if value == "s" else value for value in seasonal)
    if seasonal_period < 2:  # yearly data: no season to model
        seasonal = (0, 0, 0, 0)
    return StateSpaceForecaster(
        run.architecture.order or order, run.architecture.seasonal_order or seasonal, run.horizon
    )


def _network(run: ForecastRun, window: int, seasonal_period: int) -> Forecaster:
    from components.families.forecasting.networks import KerasForecaster

    return KerasForecaster(run.name, run, window)


def _boosting(run: ForecastRun, window: int, seasonal_period: int) -> Forecaster:
    from components.families.forecasting.boosting import GradientBoostingForecaster

    return GradientBoostingForecaster.for_run(run, seasonal_period)


def _sarima_search(run: ForecastRun, window: int, seasonal_period: int) -> Forecaster:
    from components.families.forecasting.order_search import SarimaSearch

    return SarimaSearch(run.order_search, seasonal_period, run.horizon)


FORECASTERS: dict[str, Callable[[ForecastRun, int, int], Forecaster]] = {
    "naive_seasonal": lambda run, window, period: NaiveSeasonal(period, run.horizon),
    "gbm": _boosting,
    **{name: _state_space for name in STATISTICAL_ORDERS},
    "sarima_search": _sarima_search,
    **dict.fromkeys(NETWORKS, _network),
}


def make_forecaster(run: ForecastRun, window: int, seasonal_period: int) -> Forecaster:
    """The untrained forecaster a model run names.

    Raises:
        ValueError: if the name is not in the registry (the message lists valid names).
    """
    if run.name not in FORECASTERS:
        raise ValueError(
            f"unknown forecasting model {run.name!r}; valid names: {sorted(FORECASTERS)}"
        )
    return FORECASTERS[run.name](run, window, seasonal_period)
