"""Forecasting networks: Keras builders (Functional API) and the forecaster that fits them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from components.core.persistence import read_settings, write_manifest
from components.core.training import fit_model, make_loss, make_optimizer, seed_everything
from components.families.forecasting.config import Architecture, ForecastRun
from components.families.forecasting.features import SplitPositions, window_dataset
from components.families.forecasting.models import NetworkSpecification

PREDICT_IN_ONE_CALL = 256  # windows predicted without Keras' batching pipeline


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
    """One dense layer on the flattened last ``lookback`` days of the window: the linear
    baseline of the neural models."""
    if spec.output == "seq2seq":
        raise ValueError("the linear model forecasts from the whole window: use output seq2vec")
    lookback = config.lookback or spec.window
    if lookback > spec.window:
        raise ValueError(f"lookback {lookback} is longer than the window {spec.window}")
    # Cropped inside the model rather than a shorter window: every model is then scored and
    # served on the same origins and history.
    return _assemble(spec, lambda hidden: layers.Flatten()(hidden[:, -lookback:, :]), "linear")


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


def build_bn_rnn(config: Architecture, spec: ForecastSpec) -> keras.Model:
    """Stacked SimpleRNN layers with batch normalization between them: ln_rnn's counterpart."""

    def body(hidden):
        for index in range(config.layers):
            if index:
                # Between layers only: batch statistics cannot normalize the state step by
                # step inside the recurrence, which is what the layer-normalized cell does.
                hidden = layers.BatchNormalization()(hidden)
            last = index == config.layers - 1
            sequences = not last or spec.output == "seq2seq"
            hidden = layers.SimpleRNN(config.units, return_sequences=sequences)(hidden)
        return hidden

    return _assemble(spec, body, "bn_rnn")


# Network name -> its builder: the family's networks (models.FORECASTERS holds the others).
KERAS_BUILDERS: dict[str, Builder] = {
    "linear": build_linear,
    "simple_rnn": build_simple_rnn,
    "deep_rnn": build_deep_rnn,
    "lstm": build_lstm,
    "gru": build_gru,
    "conv_gru": build_conv_gru,
    "wavenet": build_wavenet,
    "ln_rnn": build_ln_rnn,
    "bn_rnn": build_bn_rnn,
}


class KerasForecaster(NetworkSpecification):
    """A Keras model built by name from the registry, fitted on windows of the series."""

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
        super().__init__(name, run, window, output)
        self.model_ = model

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
        return fit_model(self.model_, datasets, training, backup_dir, callbacks)

    def fitted_network(self) -> Any:
        """The trained Keras model.

        Raises:
            ValueError: before ``fit`` (a bug: nothing predicts or saves an untrained one).
        """
        if self.model_ is None:
            raise ValueError(f"the {self.name} forecaster is not fitted")
        return self.model_

    def predict(self, features: np.ndarray, origins: np.ndarray) -> np.ndarray:
        windows = np.lib.stride_tricks.sliding_window_view(features, self.window, axis=0)
        return self._forecast(np.transpose(windows[origins - self.window + 1], (0, 2, 1)))

    def predict_windows(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """The forecast after each history's last row, in one call of the network."""
        return self._forecast(np.stack([features[-self.window :] for features in histories]))

    def _forecast(self, windows: np.ndarray) -> np.ndarray:
        network = self.fitted_network()
        if len(windows) <= PREDICT_IN_ONE_CALL:
            # A served request's few windows: one call, without predict()'s tf.data pipeline,
            # which costs tens of milliseconds per call.
            predictions = np.asarray(network.predict_on_batch(windows))
        else:
            predictions = np.asarray(network.predict(windows, verbose=0, batch_size=256))
        return predictions[:, -1, :] if self.output == "seq2seq" else predictions

    def save(self, directory: Path) -> None:
        settings = {
            "name": self.name,
            "window": self.window,
            "output": self.output,
            "run": self.run.model_dump(mode="json"),
        }
        write_manifest(directory, self, settings)
        self.fitted_network().save(directory / "model.keras")

    @classmethod
    def load(cls, directory: Path) -> KerasForecaster:
        settings = read_settings(directory)
        model = keras.models.load_model(Path(directory) / "model.keras")
        run = ForecastRun.model_validate(settings["run"])
        return cls(settings["name"], run, settings["window"], model, settings["output"])
