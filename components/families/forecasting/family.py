"""The forecasting family: a series and its covariates, statistical and recurrent forecasters."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.core.contract import Evaluation, Family, Fitted, LoggedModel, Prepared, Scores, Task
from components.core.drift import DriftStatistic
from components.core.errors import UserError
from components.core.validation import ValidationReport
from components.core.versioning import DataVersion
from components.families.forecasting.config import ForecastingConfig, ForecastRun
from components.families.forecasting.drift import series_drift
from components.families.forecasting.evaluation import plot_forecast, regression_metrics
from components.families.forecasting.features import (
    SplitPositions,
    build_features,
    covariate_columns,
    feature_spec,
    infer_frequency,
    infer_seasonal_period,
    split_positions,
    target_matrix,
)
from components.families.forecasting.models import (
    NaiveSeasonal,
    forecaster_names,
    make_forecaster,
    specification,
)
from components.families.forecasting.serving import ForecastingModel
from components.families.forecasting.sources import load_series_table, read_table_file
from components.families.forecasting.suite import validate_series_table

BASELINE = "naive_seasonal"


@dataclass(frozen=True)
class PreparedSeries(Prepared[ForecastingConfig]):
    """A validated series with everything the models share."""

    frame: pd.DataFrame
    covariates: list[str]
    frequency: str
    seasonal_period: int
    positions: SplitPositions

    def bounds(self) -> dict[str, tuple[int, int]]:
        """Each part's first row and the row after its last."""
        positions = self.positions
        return {
            "train": (positions.start, positions.train_end),
            "validation": (positions.train_end, positions.validation_end),
            "test": (positions.validation_end, positions.test_end),
        }

    def splits(self) -> Mapping[str, pd.DataFrame]:
        return {split: self.frame.iloc[low:high] for split, (low, high) in self.bounds().items()}

    def split_dates(self) -> dict[str, str]:
        """Each part's first and last date, as ``first..last``."""
        dates = pd.to_datetime(self.frame[self.config.dataset.date_column])
        return {
            part: f"{dates.iloc[low].date()}..{dates.iloc[high - 1].date()}"
            for part, (low, high) in self.bounds().items()
        }

    def target(self) -> np.ndarray:
        """The series itself, in its own units."""
        return self.frame[self.config.dataset.target_column].to_numpy("float32")

    def test_origins(self, horizon: int) -> np.ndarray:
        """Origins scored on the test split: the same for every model of a horizon."""
        return self.positions.origins("test", horizon, self.config.window)


@dataclass(frozen=True)
class ForecastOutputs:
    """What a model forecast on the test days, beside the truth and the naive forecast."""

    origins: np.ndarray
    actual: np.ndarray  # (origins, horizon)
    predicted: np.ndarray
    naive: np.ndarray


@lru_cache(maxsize=256)
def _specification(run: ForecastRun, window: int, seasonal_period: int) -> tuple[int, str]:
    """A run's forecaster as configured, untrained: the history it needs and its params
    (JSON), for the checks and params that come before training builds the real one."""
    forecaster = specification(run, window, seasonal_period)
    return forecaster.min_history, json.dumps(forecaster.describe())


class ForecastingFamily(Family[ForecastingConfig, PreparedSeries, ForecastRun, ForecastingModel]):
    """Forecasts of one series, 1 or more periods ahead, registered per horizon."""

    name = "forecasting"
    leaderboard_columns = ("test_mae_vs_naive", "test_rmse")
    baselines = (BASELINE,)
    floor_metric = "test_mae_naive"
    unit_param = "unit"

    def tasks(self, config: ForecastingConfig) -> list[str]:
        return [config.dataset.name]

    def model_names(self) -> list[str]:
        return forecaster_names()

    def baseline_runs(
        self, config: ForecastingConfig, runs: list[ForecastRun]
    ) -> list[ForecastRun]:
        horizons = sorted({run.horizon for run in runs})
        return [
            config.resolve({"name": BASELINE, "features": "univariate", "horizon": horizon})
            for horizon in horizons
        ]

    def registered_model(self, task: Task[ForecastingConfig], run: ForecastRun) -> str:
        suffix = "" if run.horizon == 1 else f"-h{run.horizon}"
        return f"{self.name}-{task.name}{suffix}"

    def run_params(self, prepared: PreparedSeries, run: ForecastRun) -> dict[str, Any]:
        config = prepared.config
        _, described = _specification(run, config.window, prepared.seasonal_period)
        return {
            "model": run.name,
            "horizon": run.horizon,
            "features": run.features,
            # Frequency, season and covariates as resolved for this data, not as configured.
            "dataset": config.dataset.model_dump(
                mode="json", exclude={"frequency", "seasonal_period", "covariates", "unit"}
            ),
            "split": config.split.model_dump(mode="json", exclude_none=True),
            # Where the split fell on this data: a relative split moves with each new period.
            "split_dates": prepared.split_dates(),
            "unit": config.dataset.unit or config.dataset.target_column,  # of errors too
            "frequency": prepared.frequency,
            "seasonal_period": prepared.seasonal_period,
            "covariates": len(prepared.covariates) if run.features == "multivariate" else 0,
            "n_train_rows": prepared.positions.train_end - prepared.positions.start,
            **json.loads(described),
        }

    def load_table(self, task: Task[ForecastingConfig]) -> pd.DataFrame:
        return load_series_table(task.config.dataset)

    def read_raw(self, path: Path, task: Task[ForecastingConfig]) -> pd.DataFrame:
        frame = read_table_file(path)  # written by ingest: UTF-8, ISO dates
        date = task.config.dataset.date_column
        if date in frame:
            frame[date] = pd.to_datetime(frame[date], errors="coerce")
        return frame

    def validate(self, frame: pd.DataFrame, task: Task[ForecastingConfig]) -> ValidationReport:
        dataset = task.config.dataset
        covariates = covariate_columns(frame, dataset)
        try:
            frequency = infer_frequency(frame[dataset.date_column], dataset.frequency)
        except (KeyError, ValueError, TypeError):
            frequency = "D"  # the suite then reports what is wrong with the dates
        return validate_series_table(frame, dataset, covariates, frequency)

    def drift_statistics(
        self, reference: pd.DataFrame, current: pd.DataFrame, task: Task[ForecastingConfig]
    ) -> list[DriftStatistic]:
        return series_drift(reference, current, task.config)

    def prepare(
        self, frame: pd.DataFrame, task: Task[ForecastingConfig], data: DataVersion
    ) -> PreparedSeries:
        config = task.config
        dataset = config.dataset
        frequency = infer_frequency(frame[dataset.date_column], dataset.frequency)
        return PreparedSeries(
            task=task,
            data=data,
            frame=frame,
            covariates=covariate_columns(frame, dataset),
            frequency=frequency,
            seasonal_period=infer_seasonal_period(frequency, dataset.seasonal_period),
            positions=split_positions(
                frame[dataset.date_column],
                config.split,
                minimum_periods=max((run.horizon for run in config.runs()), default=1),
            ),
        )

    def unfit_runs(self, prepared: PreparedSeries, runs: list[ForecastRun]) -> dict[str, str]:
        window = prepared.config.window
        problems = {}
        for run in runs:
            minimum, _ = _specification(run, window, prepared.seasonal_period)
            try:
                for part in ("train", "validation", "test"):
                    prepared.positions.origins(part, run.horizon, max(window, minimum))
            except UserError as error:
                problems[run.key] = str(error)
        return problems

    def fit(
        self, prepared: PreparedSeries, run: ForecastRun, backup_dir: Path, callbacks: list[Any]
    ) -> Fitted[ForecastingModel]:
        config = prepared.config
        # Ranges from every split: the model is scored on the test days through the same
        # checks as a request, and a value seen there is not the broken feed they catch.
        spec = feature_spec(
            config.dataset, prepared.covariates, prepared.frequency, run, prepared.frame
        )
        features = build_features(prepared.frame, spec)
        forecaster = make_forecaster(run, config.window, prepared.seasonal_period)
        history = forecaster.fit(
            features,
            target_matrix(features[:, 0], run.horizon),
            prepared.positions,
            callbacks=callbacks,
            backup_dir=backup_dir,
        )
        return Fitted(model=ForecastingModel(forecaster, spec), history=history)

    def log_model(self, prepared: PreparedSeries, fitted: Fitted[ForecastingModel]) -> LoggedModel:
        model: ForecastingModel = fitted.model
        spec = model.spec
        rows = max(model.forecaster.min_history, getattr(model.forecaster, "window", 0))
        end = prepared.positions.test_end
        example = (
            prepared.frame[[spec.date_column, spec.target_column, *spec.covariates]]
            .iloc[end - rows : end]
            .reset_index(drop=True)
        )
        return model.log(example)

    def score(self, prepared: PreparedSeries, run: ForecastRun, model: ForecastingModel) -> Scores:
        origins = prepared.test_origins(run.horizon)
        target = prepared.target()
        actual = target_matrix(target, run.horizon)[origins]
        predicted = model.forecast_origins(prepared.frame, origins)
        naive = NaiveSeasonal(prepared.seasonal_period, run.horizon).predict(
            target[:, None], origins
        )
        scores = regression_metrics(actual, predicted)
        naive_scores = regression_metrics(actual, naive)
        metrics = {
            "test_mae": scores["mae"],
            "test_rmse": scores["rmse"],
            "test_mae_naive": naive_scores["mae"],
            "test_rmse_naive": naive_scores["rmse"],
            "test_mae_vs_naive": scores["mae"] / naive_scores["mae"],
            "test_days": float(len(origins)),
        }
        if run.horizon > 1:
            per_step = np.mean(np.abs(predicted - actual), axis=0)
            # Zero-padded, so that MLflow's charts and columns list them in order of steps.
            digits = max(2, len(str(run.horizon)))
            metrics |= {
                f"test_mae_step_{step + 1:0{digits}d}": float(value)
                for step, value in enumerate(per_step)
            }
        evaluated_on = {"horizon": run.horizon, "origins": [int(origins[0]), int(origins[-1])]}
        outputs = ForecastOutputs(origins, actual, predicted, naive)
        return Scores(metrics, evaluated_on, outputs)

    def report(
        self,
        prepared: PreparedSeries,
        run: ForecastRun,
        model: ForecastingModel,
        scores: Scores,
        reference: dict[str, float] | None,
        out_dir: Path,
    ) -> Evaluation:
        dataset = prepared.config.dataset
        made: ForecastOutputs = scores.outputs
        dates = prepared.frame[dataset.date_column].to_numpy()[made.origins + 1]
        span = out_dir / "test_span.json"
        span.write_text(
            json.dumps(
                {
                    "origins": [int(o) for o in made.origins[[0, -1]]],
                    "first_day": str(dates[0])[:10],
                    "last_day": str(dates[-1])[:10],
                }
            )
        )
        metrics = scores.metrics
        plot = plot_forecast(
            dates,
            made.actual[:, 0],
            made.predicted[:, 0],
            made.naive[:, 0],
            f"{run.key}: test MAE {metrics['test_mae']:.3f} "
            f"({metrics['test_mae_vs_naive']:.2f} x naive)",
            out_dir / "forecast_vs_actual.png",
            unit=dataset.unit or dataset.target_column,
            step=1,
            horizon=run.horizon,
        )
        return Evaluation({}, [plot, span])
