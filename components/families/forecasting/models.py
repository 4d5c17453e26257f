"""Forecasting models by name: the naive seasonal and statsmodels forecasters, gradient
boosting, the SARIMA order search and the networks of ``networks.KERAS_BUILDERS`` (Keras
loaded only when one is built), all behind one fit/predict shape."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from components.families.forecasting.boosting import GradientBoostingForecaster
from components.families.forecasting.config import ForecastRun
from components.families.forecasting.features import SplitPositions
from components.families.forecasting.order_search import SarimaSearch
from components.families.forecasting.statistical import NaiveSeasonal, StateSpaceForecaster

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

    horizon: int

    @property
    def min_history(self) -> int:
        """Rows of history needed to forecast."""

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


def _state_space(run: ForecastRun, window: int, seasonal_period: int) -> StateSpaceForecaster:
    order, (p, d, q, period) = STATISTICAL_ORDERS[run.name]
    seasonal = (p, d, q, seasonal_period if period == "s" else int(period))
    if seasonal_period < 2:  # yearly data: no season to model
        seasonal = (0, 0, 0, 0)
    return StateSpaceForecaster(
        run.architecture.order or order, run.architecture.seasonal_order or seasonal, run.horizon
    )


# Name -> the untrained forecaster of a run (its window and the data's seasonal period); the
# networks are ``networks.KERAS_BUILDERS``.
FORECASTERS: dict[str, Callable[[ForecastRun, int, int], Forecaster]] = {
    "naive_seasonal": lambda run, window, period: NaiveSeasonal(period, run.horizon),
    "gbm": lambda run, window, period: GradientBoostingForecaster.for_run(run, period),
    **dict.fromkeys(STATISTICAL_ORDERS, _state_space),
    "sarima_search": lambda run, window, period: SarimaSearch(
        run.order_search, period, run.horizon
    ),
}


# The names of ``networks.KERAS_BUILDERS`` and the architecture fields each builder reads: a
# config is checked without loading Keras (seconds of every run, one on unchanged data
# included, that trains nothing), and a run logs only the settings its own network uses.
NETWORK_ARCHITECTURE: dict[str, tuple[str, ...]] = {
    "bn_rnn": ("units", "layers"),
    "conv_gru": ("units", "layers", "filters", "kernel_size"),
    "deep_rnn": ("units", "layers", "dropout"),
    "gru": ("units", "layers", "dropout"),
    "linear": ("lookback",),
    "ln_rnn": ("units", "layers"),
    "lstm": ("units", "layers", "dropout"),
    "simple_rnn": ("units",),
    "wavenet": ("filters", "dilation_rates"),
}
NETWORK_NAMES = tuple(NETWORK_ARCHITECTURE)


def forecaster_names() -> list[str]:
    """Every forecasting model's name, the networks' included."""
    return sorted([*FORECASTERS, *NETWORK_NAMES])


class NetworkSpecification:
    """A network as configured, before Keras builds it: the history it needs and the
    specification its run logs (``networks.KerasForecaster`` is one, with its model)."""

    def __init__(self, name: str, run: ForecastRun, window: int, output: str | None = None):
        if name not in NETWORK_NAMES:
            raise ValueError(f"unknown Keras model {name!r}; valid names: {list(NETWORK_NAMES)}")
        self.name = name
        self.run = run
        self.window = window
        self.horizon = run.horizon
        self.output = output or run.output
        self.min_history = window

    def describe(self) -> dict[str, Any]:
        """The specification, as logged on the run."""
        return {
            "window": self.window,
            "output": self.output,
            # The section holds every model's settings: a run logs its own network's.
            "architecture": self.run.architecture.model_dump(
                mode="json", include=set(NETWORK_ARCHITECTURE[self.name])
            ),
            "training": self.run.training.model_dump(mode="json"),
        }


def specification(run: ForecastRun, window: int, seasonal_period: int) -> Any:
    """A run's forecaster as configured, untrained (a network's without loading Keras): what
    the checks and params before training read (``min_history``, ``describe()``)."""
    if run.name in NETWORK_NAMES:
        return NetworkSpecification(run.name, run, window)
    return make_forecaster(run, window, seasonal_period)


def make_forecaster(run: ForecastRun, window: int, seasonal_period: int) -> Forecaster:
    """The untrained forecaster a model run names.

    Raises:
        ValueError: if the name is not in the registry (the message lists valid names).
    """
    if run.name in FORECASTERS:
        return FORECASTERS[run.name](run, window, seasonal_period)
    from components.families.forecasting.networks import KERAS_BUILDERS, KerasForecaster

    if run.name not in KERAS_BUILDERS:
        raise ValueError(
            f"unknown forecasting model {run.name!r}; valid names: {forecaster_names()}"
        )
    return KerasForecaster(run.name, run, window)
