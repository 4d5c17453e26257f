"""Forecasting models: Keras builders and statistical forecasters behind one fit/predict shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import keras
import numpy as np
from keras import layers

from components.core.training import fit_model, make_loss, make_optimizer, seed_everything
from components.families.forecasting.config import Architecture, ForecastRun
from components.families.forecasting.features import SplitPositions, window_dataset


@dataclass(frozen=True)
class ForecastSpec:
    """Shapes and training-split statistics a Keras builder needs."""

    window: int
    n_features: int
    horizon: int
    output: str  # seq2vec: (batch, horizon); seq2seq: (batch, window, horizon)
    feature_mean: tuple[float, ...]
    feature_variance: tuple[float, ...]
    target_mean: float
    target_variance: float


@keras.saving.register_keras_serializable(package="seqpipe")
class LNSimpleRNNCell(layers.Layer):
    """A SimpleRNN cell whose pre-activation output is layer-normalized at every step."""

    def __init__(self, units: int, activation: str = "tanh", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units
        self.output_size = units
        self.simple_rnn_cell = layers.SimpleRNNCell(units, activation=None)
        self.layer_norm = layers.LayerNormalization()
        self.activation = keras.activations.get(activation)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.simple_rnn_cell.build(input_shape)
        self.layer_norm.build((input_shape[0], self.units))
        super().build(input_shape)

    def call(self, inputs, states, training=None):
        outputs, _ = self.simple_rnn_cell(inputs, states, training=training)
        normalized = self.activation(self.layer_norm(outputs))
        return normalized, [normalized]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
        }


Body = Callable[[Any], Any]
Builder = Callable[[Architecture, ForecastSpec], keras.Model]


def _assemble(spec: ForecastSpec, body: Body, name: str) -> keras.Model:
    """Wrap a body between input scaling and output unscaling, so the model speaks raw units."""
    inputs = keras.Input(shape=(spec.window, spec.n_features), name="history")
    scaled = layers.Normalization(
        mean=list(spec.feature_mean), variance=list(spec.feature_variance), name="scale_inputs"
    )(inputs)
    hidden = body(scaled)
    forecast = layers.Dense(spec.horizon, name="forecast_scaled")(hidden)
    outputs = layers.Normalization(
        mean=spec.target_mean, variance=spec.target_variance, invert=True, name="forecast"
    )(forecast)
    return keras.Model(inputs, outputs, name=name)


def _recurrent_stack(make_layer: Callable[..., Any], count: int, spec: ForecastSpec) -> Body:
    def body(hidden):
        for index in range(count):
            last = index == count - 1
            hidden = make_layer(return_sequences=not last or spec.output == "seq2seq")(hidden)
        return hidden

    return body


def _last_step_unless_seq2seq(spec: ForecastSpec, hidden):
    return hidden if spec.output == "seq2seq" else hidden[:, -1, :]


def build_linear(config: Architecture, spec: ForecastSpec) -> keras.Model:
    """One dense layer on the flattened window: the linear baseline of the neural models."""
    if spec.output == "seq2seq":
        raise ValueError("the linear model forecasts from the whole window: use output seq2vec")
    return _assemble(spec, layers.Flatten(), "linear")


def build_simple_rnn(config: Architecture, spec: ForecastSpec) -> keras.Model:
    """A single SimpleRNN layer."""
    return _assemble(
        spec,
        _recurrent_stack(lambda **kw: layers.SimpleRNN(config.units, **kw), 1, spec),
        "simple_rnn",
    )


def build_deep_rnn(config: Architecture, spec: ForecastSpec) -> keras.Model:
    """Stacked SimpleRNN layers."""
    make = lambda **kw: layers.SimpleRNN(config.units, dropout=config.dropout, **kw)
    return _assemble(spec, _recurrent_stack(make, config.layers, spec), "deep_rnn")


def build_lstm(config: Architecture, spec: ForecastSpec) -> keras.Model:
    """Stacked LSTM layers."""
    make = lambda **kw: layers.LSTM(config.units, dropout=config.dropout, **kw)
    return _assemble(spec, _recurrent_stack(make, config.layers, spec), "lstm")


def build_gru(config: Architecture, spec: ForecastSpec) -> keras.Model:
    """Stacked GRU layers."""
    make = lambda **kw: layers.GRU(config.units, dropout=config.dropout, **kw)
    return _assemble(spec, _recurrent_stack(make, config.layers, spec), "gru")


def build_conv_gru(config: Architecture, spec: ForecastSpec) -> keras.Model:
    """A causal Conv1D that extracts local patterns, then stacked GRU layers."""
    recurrent = _recurrent_stack(lambda **kw: layers.GRU(config.units, **kw), config.layers, spec)

    def body(hidden):
        hidden = layers.Conv1D(
            config.filters, config.kernel_size, padding="causal", activation="relu"
        )(hidden)
        return recurrent(hidden)

    return _assemble(spec, body, "conv_gru")


def build_wavenet(config: Architecture, spec: ForecastSpec) -> keras.Model:
    """Stacked causal Conv1D layers with growing dilation (WaveNet without gating)."""

    def body(hidden):
        for rate in config.dilation_rates:
            hidden = layers.Conv1D(
                config.filters, 2, padding="causal", dilation_rate=rate, activation="relu"
            )(hidden)
        return _last_step_unless_seq2seq(spec, hidden)

    return _assemble(spec, body, "wavenet")


def build_ln_rnn(config: Architecture, spec: ForecastSpec) -> keras.Model:
    """Stacked RNNs over a layer-normalized SimpleRNN cell."""
    make = lambda **kw: layers.RNN(LNSimpleRNNCell(config.units), **kw)
    return _assemble(spec, _recurrent_stack(make, config.layers, spec), "ln_rnn")


KERAS_BUILDERS: dict[str, Builder] = {
    "linear": build_linear,
    "simple_rnn": build_simple_rnn,
    "deep_rnn": build_deep_rnn,
    "lstm": build_lstm,
    "gru": build_gru,
    "conv_gru": build_conv_gru,
    "wavenet": build_wavenet,
    "ln_rnn": build_ln_rnn,
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
        target = features[:, 0]
        steps = np.arange(1, self.horizon + 1)
        lags = self.period * np.ceil(steps / self.period).astype(int)
        return target[origins[:, None] + steps[None, :] - lags[None, :]]

    def save(self, directory: Path) -> None:
        _write_manifest(
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
        series = features[positions.start : positions.train_end, 0].astype("float64")
        model = self._model(series)
        results = model.fit()
        self.params_ = dict(zip(results.param_names, map(float, results.params), strict=True))
        return {}

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
        _write_manifest(
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


class KerasForecaster:
    """A Keras model built by name from the registry, fitted on windows of the series."""

    kind = "keras"

    def __init__(
        self,
        name: str,
        run: ForecastRun,
        window: int,
        model: keras.Model | None = None,
        output: str | None = None,
    ) -> None:
        if name not in KERAS_BUILDERS:
            raise ValueError(f"unknown Keras model {name!r}; valid names: {sorted(KERAS_BUILDERS)}")
        self.name = name
        self.run = run
        self.window = window
        self.horizon = run.horizon
        self.output = output or run.output
        self.model_ = model
        self.min_history = window

    def describe(self) -> dict[str, Any]:
        """The specification, as logged on the run."""
        return {
            "window": self.window,
            "output": self.output,
            "architecture": self.run.architecture.model_dump(mode="json"),
            "training": self.run.training.model_dump(mode="json"),
        }

    def build(self, features: np.ndarray, positions: SplitPositions) -> keras.Model:
        """Build the network with scaling statistics of the training split only."""
        train = features[positions.start : positions.train_end]
        spec = ForecastSpec(
            window=self.window,
            n_features=features.shape[1],
            horizon=self.horizon,
            output=self.output,
            feature_mean=tuple(float(v) for v in train.mean(axis=0)),
            feature_variance=tuple(float(v) for v in train.var(axis=0)),
            target_mean=float(train[:, 0].mean()),
            target_variance=float(train[:, 0].var()),
        )
        return KERAS_BUILDERS[self.name](self.run.architecture, spec)

    def fit(self, features, targets, positions, callbacks=None, backup_dir=None):
        training = self.run.training
        seed_everything(training.seed)
        self.model_ = self.build(features, positions)
        self.model_.compile(
            optimizer=make_optimizer(training.optimizer),
            loss=make_loss(training.loss),
            metrics=["mae"],
        )
        datasets = {
            part: window_dataset(
                features,
                targets,
                positions.origins(part, self.horizon, self.window),
                self.window,
                self.output,
                training.batch_size,
                shuffle=part == "train",
                seed=training.seed,
            )
            for part in ("train", "validation")
        }
        return fit_model(
            self.model_,
            datasets["train"],
            datasets["validation"],
            training,
            backup_dir=backup_dir,
            callbacks=callbacks,
            verbose=0,
        )

    def predict(self, features: np.ndarray, origins: np.ndarray) -> np.ndarray:
        windows = np.lib.stride_tricks.sliding_window_view(features, self.window, axis=0)
        batch = np.transpose(windows[origins - self.window + 1], (0, 2, 1))
        predictions = np.asarray(self.model_.predict(batch, verbose=0, batch_size=256))
        return predictions[:, -1, :] if self.output == "seq2seq" else predictions

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.model_.save(directory / "model.keras")
        _write_manifest(
            directory,
            {
                "kind": self.kind,
                "name": self.name,
                "window": self.window,
                "output": self.output,
                "run": self.run.model_dump(mode="json"),
            },
        )

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> KerasForecaster:
        model = keras.models.load_model(directory / "model.keras")
        run = ForecastRun.model_validate(manifest["run"])
        return cls(manifest["name"], run, manifest["window"], model, manifest["output"])


def _write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "forecaster.json").write_text(json.dumps(manifest, indent=2))


LOADERS: dict[str, Callable[[Path, dict[str, Any]], Forecaster]] = {
    NaiveSeasonal.kind: NaiveSeasonal.load,
    StateSpaceForecaster.kind: StateSpaceForecaster.load,
    KerasForecaster.kind: KerasForecaster.load,
}


def load_forecaster(directory: Path) -> Forecaster:
    """Load a forecaster saved with ``save``."""
    manifest = json.loads((Path(directory) / "forecaster.json").read_text())
    return LOADERS[manifest["kind"]](Path(directory), manifest)


def _state_space(run: ForecastRun, window: int, seasonal_period: int) -> StateSpaceForecaster:
    order, seasonal = STATISTICAL_ORDERS[run.name]
    seasonal = tuple(seasonal_period if value == "s" else value for value in seasonal)
    return StateSpaceForecaster(
        run.architecture.order or order, run.architecture.seasonal_order or seasonal, run.horizon
    )


FORECASTERS: dict[str, Callable[[ForecastRun, int, int], Forecaster]] = {
    "naive_seasonal": lambda run, window, period: NaiveSeasonal(period, run.horizon),
    **{name: _state_space for name in STATISTICAL_ORDERS},
    **{
        name: lambda run, window, period: KerasForecaster(run.name, run, window)
        for name in KERAS_BUILDERS
    },
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
