"""Every registered builder and statistical forecaster: builds, fits, predicts, round-trips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.core.persistence import load_fitted
from components.families.forecasting.config import (
    Architecture,
    Boosting,
    ForecastRun,
    ForecastTrainingConfig,
)
from components.families.forecasting.features import (
    FeatureSpec,
    SplitPositions,
    build_features,
    target_matrix,
)
from components.families.forecasting.models import (
    FORECASTERS,
    NaiveSeasonal,
    StateSpaceForecaster,
    forecaster_names,
    make_forecaster,
    specification,
)
from components.families.forecasting.networks import KERAS_BUILDERS, KerasForecaster

WINDOW, HORIZON = 8, 2
TINY = Architecture(units=4, layers=2, filters=4, kernel_size=2, dilation_rates=[1, 2])
ONE_STEP = ForecastTrainingConfig(epochs=1, batch_size=16, max_train_batches=2, patience=1)
SPEC = FeatureSpec("date", "ridership", ("temp",), HORIZON, "D", True, "US", "IL")
POSITIONS = SplitPositions(start=0, train_end=120, validation_end=160, test_end=200)


@pytest.fixture(scope="module")
def history(chicago: pd.DataFrame) -> pd.DataFrame:
    return chicago[["date", "ridership", "temp"]].iloc[:200].reset_index(drop=True)


@pytest.fixture(scope="module")
def features(history: pd.DataFrame) -> np.ndarray:
    return build_features(history, SPEC)


def run_of(name: str, output: str = "seq2vec") -> ForecastRun:
    return ForecastRun(
        name=name,
        horizon=HORIZON,
        features="multivariate",
        output=output,
        architecture=TINY,
        training=ONE_STEP,
    )


KERAS_CASES = [
    (name, output)
    for name in sorted(KERAS_BUILDERS)
    for output in ("seq2vec", "seq2seq")
    if not (name == "linear" and output == "seq2seq")
]


@pytest.mark.parametrize(("name", "output"), KERAS_CASES, ids=[f"{n}-{o}" for n, o in KERAS_CASES])
def test_keras_builder_fits_and_round_trips_through_mlflow(
    name: str, output: str, features: np.ndarray, history: pd.DataFrame, mlflow_store: str, tmp_path
) -> None:
    import mlflow

    from components.families.forecasting.serving import ForecastingModel

    forecaster = KerasForecaster(name, run_of(name, output), WINDOW)
    fitted = forecaster.fit(
        features, target_matrix(features[:, 0], HORIZON), POSITIONS, backup_dir=tmp_path / "backup"
    )
    assert np.isfinite(fitted["loss"]).all() and np.isfinite(fitted["val_loss"]).all()
    expected_shape = (None, WINDOW, HORIZON) if output == "seq2seq" else (None, HORIZON)
    assert tuple(forecaster.model_.output_shape) == expected_shape
    origins = POSITIONS.origins("test", HORIZON, WINDOW)
    predicted = forecaster.predict(features, origins)
    assert predicted.shape == (len(origins), HORIZON) and np.isfinite(predicted).all()

    with mlflow.start_run():
        example = history.iloc[-WINDOW:].reset_index(drop=True)
        model_uri = ForecastingModel(forecaster, SPEC).log(example).uri
    reloaded = mlflow.pyfunc.load_model(model_uri)
    np.testing.assert_allclose(
        reloaded.unwrap_python_model().forecast_origins(history, origins),
        predicted,
        rtol=1e-5,
        atol=1e-5,
    )
    served = reloaded.predict(history.iloc[-WINDOW:])
    latest = forecaster.predict(features, np.array([len(history) - 1]))[0]
    np.testing.assert_allclose(served["forecast"], latest, rtol=1e-5, atol=1e-5)
    assert list(served["date"]) == list(pd.date_range("2001-08-10", periods=HORIZON))

    # Requests batched together get what each gets alone, whatever their lengths.
    python_model = reloaded.unwrap_python_model()
    assert python_model.batches_requests()
    requests = [history.iloc[start:end] for start, end in ((0, 40), (100, 160), (190, 200))]
    for alone, batched in zip(
        map(reloaded.predict, requests), python_model.predict_batch(requests), strict=True
    ):
        pd.testing.assert_frame_equal(batched, alone, atol=1e-5)


def test_linear_refuses_seq2seq() -> None:
    with pytest.raises(ValueError, match="use output seq2vec"):
        KerasForecaster("linear", run_of("linear", "seq2seq"), WINDOW).build(
            np.ones((200, 3), "float32"), POSITIONS
        )


def test_bn_rnn_normalizes_between_recurrent_layers_only() -> None:
    import keras

    from components.families.forecasting.networks import ForecastSpec

    spec = ForecastSpec(WINDOW, 3, HORIZON, "seq2vec", (0.0,) * 3, (1.0,) * 3, 0.0, 1.0)
    model = KERAS_BUILDERS["bn_rnn"](TINY.model_copy(update={"layers": 3}), spec)
    kinds = [
        type(layer).__name__
        for layer in model.layers
        if isinstance(layer, keras.layers.SimpleRNN | keras.layers.BatchNormalization)
    ]
    assert kinds == ["SimpleRNN", "BatchNormalization"] * 2 + ["SimpleRNN"]
    batch = np.zeros((5, WINDOW, 3), "float32")
    assert model.predict(batch, verbose=0).shape == (5, HORIZON)


def test_linear_reads_only_the_last_lookback_days_and_round_trips(tmp_path) -> None:
    import keras

    from components.families.forecasting.networks import ForecastSpec

    spec = ForecastSpec(WINDOW, 3, HORIZON, "seq2vec", (0.0,) * 3, (1.0,) * 3, 0.0, 1.0)
    model = KERAS_BUILDERS["linear"](TINY.model_copy(update={"lookback": 3}), spec)
    assert tuple(model.get_layer("forecast_scaled").kernel.shape) == (3 * 3, HORIZON)
    batch = np.random.default_rng(0).normal(size=(4, WINDOW, 3)).astype("float32")
    earlier_changed = batch.copy()
    earlier_changed[:, :-3] += 10.0
    predicted = model.predict(batch, verbose=0)
    np.testing.assert_allclose(model.predict(earlier_changed, verbose=0), predicted, rtol=1e-6)
    model.save(tmp_path / "linear.keras")
    reloaded = keras.models.load_model(tmp_path / "linear.keras")
    np.testing.assert_allclose(reloaded.predict(batch, verbose=0), predicted, rtol=1e-6)
    with pytest.raises(ValueError, match="longer than the window"):
        KERAS_BUILDERS["linear"](TINY.model_copy(update={"lookback": WINDOW + 1}), spec)


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown forecasting model 'prophet'.*'sarima'"):
        make_forecaster(run_of("prophet"), WINDOW, 7)


def test_every_network_name_has_its_builder() -> None:
    assert {*KERAS_BUILDERS, *FORECASTERS} == set(forecaster_names())
    assert all(callable(builder) for builder in KERAS_BUILDERS.values())


def test_a_config_is_checked_without_loading_keras() -> None:
    # What a flow reads of its runs before any trains: a run on unchanged data trains none.
    check = """
import sys
from components.families import get_family
from components.families.forecasting.models import specification
config = get_family("forecasting").load_config(None, "quick")
assert all(specification(run, config.window, 7).min_history for run in config.runs())
assert "keras" not in sys.modules and "tensorflow" not in sys.modules
"""
    root = Path(__file__).resolve().parents[3]
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    subprocess.run(
        [sys.executable, "-c", check], check=True, cwd=root, env=os.environ | {"PYTHONPATH": path}
    )


def test_a_network_is_described_as_before_keras_builds_it() -> None:
    for name in KERAS_BUILDERS:
        run = run_of(name)
        built = KerasForecaster(name, run, WINDOW)
        described = specification(run, WINDOW, 7)
        assert (described.min_history, described.describe()) == (
            built.min_history,
            built.describe(),
        )


@pytest.mark.parametrize("name", sorted(KERAS_BUILDERS))
def test_a_network_run_logs_exactly_the_architecture_its_builder_reads(name: str) -> None:
    from components.families.forecasting.models import NETWORK_ARCHITECTURE
    from components.families.forecasting.networks import ForecastSpec
    from tests.architecture_reads import ReadRecorder

    recorder = ReadRecorder(TINY)
    spec = ForecastSpec(WINDOW, 3, HORIZON, "seq2vec", (0.0,) * 3, (1.0,) * 3, 0.0, 1.0)
    KERAS_BUILDERS[name](recorder, spec)  # type: ignore[arg-type]
    assert recorder.read == set(NETWORK_ARCHITECTURE[name])
    logged = specification(run_of(name), WINDOW, 7).describe()["architecture"]
    assert set(logged) == recorder.read  # an LSTM run logs no WaveNet dilation rates


def test_every_registered_name_makes_a_forecaster() -> None:
    for name in forecaster_names():
        assert make_forecaster(run_of(name), WINDOW, 7).horizon == HORIZON


def test_naive_seasonal_repeats_last_week() -> None:
    series = np.arange(30, dtype="float32")[:, None]
    forecast = NaiveSeasonal(period=7, horizon=9).predict(series, np.array([20]))
    # Days 21-27 take the same weekday last week; days 28-29 reach back two weeks (14, 15).
    np.testing.assert_array_equal(forecast[0], [14, 15, 16, 17, 18, 19, 20, 14, 15])


def test_sarima_rolling_forecast_matches_daily_forecasts_without_refit(chicago) -> None:
    from statsmodels.tsa.arima.model import ARIMA

    series = chicago["ridership"].to_numpy("float32")[:400, None]
    positions = SplitPositions(0, 300, 350, 400)
    one_step = StateSpaceForecaster((1, 0, 0), (0, 1, 1, 7), horizon=1)
    one_step.fit(series, None, positions)
    # statsmodels' own results, fitted on the same days, forecasting from each origin
    reference = ARIMA(
        series[:300, 0].astype("float64"), order=(1, 0, 0), seasonal_order=(0, 1, 1, 7)
    ).fit()
    origins = positions.origins("test", 1)
    rolled = one_step.predict(series, origins)
    daily = [
        reference.apply(series[: origin + 1, 0].astype("float64")).forecast(1)[0]
        for origin in origins
    ]
    np.testing.assert_allclose(rolled[:, 0], daily, rtol=1e-6)

    multi = StateSpaceForecaster(
        (1, 0, 0), (0, 1, 1, 7), horizon=3, trend=one_step.trend, params=one_step.params_
    )
    rolled = multi.predict(series, origins[:-2])
    daily = [
        reference.apply(series[: origin + 1, 0].astype("float64")).forecast(3)
        for origin in origins[:-2]
    ]
    np.testing.assert_allclose(rolled, np.stack(daily), rtol=1e-6)


def test_state_space_save_and_load_predict_the_same(chicago, tmp_path) -> None:
    series = chicago["ridership"].to_numpy("float32")[:300, None]
    model = StateSpaceForecaster((1, 0, 1), (0, 0, 0, 0), horizon=2)
    model.fit(series, None, SplitPositions(0, 200, 250, 300))
    model.save(tmp_path / "arma")
    loaded = load_fitted(tmp_path / "arma")
    origins = np.arange(250, 297)
    np.testing.assert_allclose(loaded.predict(series, origins), model.predict(series, origins))


def test_saved_sarima_holds_its_parameters_not_its_training_data(chicago, tmp_path) -> None:
    series = chicago["ridership"].to_numpy("float32")[:, None]
    model = StateSpaceForecaster((1, 0, 0), (0, 1, 1, 7), horizon=1)
    model.fit(series, None, SplitPositions(0, len(series) - 20, len(series) - 10, len(series)))
    model.save(tmp_path / "sarima")
    saved = sum(path.stat().st_size for path in (tmp_path / "sarima").iterdir())
    assert saved < 10_000  # the specification and three parameters, whatever the series length
    loaded = load_fitted(tmp_path / "sarima")
    assert loaded.describe() == {"order": [1, 0, 0], "seasonal_order": [0, 1, 1, 7], "trend": "n"}


def test_interrupted_training_resumes_from_the_last_finished_epoch(features, tmp_path) -> None:
    import keras

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt("machine went away")

    run = run_of("gru").model_copy(
        update={"training": ONE_STEP.model_copy(update={"epochs": 4, "patience": 10})}
    )
    targets = target_matrix(features[:, 0], HORIZON)
    with pytest.raises(KeyboardInterrupt):
        KerasForecaster("gru", run, WINDOW).fit(
            features, targets, POSITIONS, callbacks=[Interrupt()], backup_dir=tmp_path / "b"
        )
    saved = sorted(path.name for path in (tmp_path / "b").iterdir())
    assert saved == ["epoch-1.weights.h5", "training_metadata.json"]  # epoch 2 never committed
    # A kill while the next epoch was being written leaves truncated files beside the commit.
    (tmp_path / "b" / "epoch-2.weights.h5").write_bytes(b"\x89HDF\r\n")
    (tmp_path / "b" / ".partial-7-epoch-2.weights.h5").write_bytes(b"\x89HDF")
    resumed = KerasForecaster("gru", run, WINDOW).fit(
        features, targets, POSITIONS, backup_dir=tmp_path / "b"
    )
    assert len(resumed["loss"]) == 3  # epochs 2 to 4: epoch 1 was restored
    assert not (tmp_path / "b").exists()  # the backup is removed once training finishes


def boosting_run(horizon: int, max_iter: int = 80) -> ForecastRun:
    architecture = TINY.model_copy(
        update={"lags": 7, "boosting": Boosting(max_iter=max_iter, n_iter_no_change=10)}
    )
    return ForecastRun(
        name="gbm",
        horizon=horizon,
        features="multivariate",
        output="seq2vec",
        architecture=architecture,
        training=ONE_STEP,
    )


def weekly_series_with_closures(days: int = 2000) -> tuple[np.ndarray, SplitPositions]:
    """A weekly pattern whose closure days (flagged one row ahead, like a holiday calendar)
    drop to a third: the seasonal naive forecast misses every closure and the week after."""
    rng = np.random.default_rng(0)
    weekly = np.tile([20.0, 21, 22, 21, 20, 8, 6], days // 7 + 1)[:days]
    closed = rng.random(days) < 0.06
    target = np.where(closed, weekly / 3, weekly) + rng.normal(0, 0.2, days)
    closed_ahead = np.append(closed[1:], False)  # known one day in advance
    weekday_ahead = np.eye(7)[(np.arange(days) + 1) % 7]
    features = np.column_stack([target, closed_ahead, weekday_ahead]).astype("float32")
    return features, SplitPositions(start=0, train_end=1400, validation_end=1700, test_end=days)


def test_gradient_boosting_learns_what_the_seasonal_naive_forecast_misses() -> None:
    features, positions = weekly_series_with_closures()
    forecaster = make_forecaster(boosting_run(horizon=1), WINDOW, seasonal_period=7)
    forecaster.fit(features, target_matrix(features[:, 0], 1), positions)
    origins = positions.origins("test", 1, forecaster.min_history)
    actual = target_matrix(features[:, 0], 1)[origins]
    boosted = np.abs(forecaster.predict(features, origins) - actual).mean()
    naive = np.abs(NaiveSeasonal(7, 1).predict(features, origins) - actual).mean()
    assert boosted < 0.4 * naive


def test_gradient_boosting_fits_one_model_per_step_and_round_trips(features, tmp_path) -> None:
    forecaster = make_forecaster(boosting_run(HORIZON, max_iter=20), WINDOW, seasonal_period=7)
    forecaster.fit(features, target_matrix(features[:, 0], HORIZON), POSITIONS)
    assert len(forecaster.models_) == HORIZON
    origins = POSITIONS.origins("test", HORIZON, WINDOW)
    rows = forecaster.inputs(features, origins)
    np.testing.assert_array_equal(rows[:, :7], features[origins[:, None] - np.arange(7), 0])
    assert rows.shape[1] == 7 + features.shape[1] - 1  # the lags, then every other column
    predicted = forecaster.predict(features, origins)
    assert predicted.shape == (len(origins), HORIZON) and np.isfinite(predicted).all()
    forecaster.save(tmp_path / "gbm")
    np.testing.assert_array_equal(
        load_fitted(tmp_path / "gbm").predict(features, origins), predicted
    )
