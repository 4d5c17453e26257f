"""The forecasting family: a series and its covariates, statistical and recurrent forecasters."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.core.contract import Evaluation, Family, Fitted, LoggedModel, Prepared
from components.core.errors import UserError
from components.core.validation import ValidationReport
from components.core.versioning import DataVersion
from components.families.forecasting.config import ForecastingConfig, ForecastRun, ModelRun
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
from components.families.forecasting.models import NaiveSeasonal, forecaster_names, make_forecaster
from components.families.forecasting.serving import ForecastingModel
from components.families.forecasting.sources import load_series_table, read_table_file
from components.families.forecasting.suite import validate_series_table

BASELINE = "naive_seasonal"


@dataclass(frozen=True)
class PreparedSeries(Prepared):
    """A validated series with everything the models share."""

    frame: pd.DataFrame
    covariates: list[str]
    frequency: str
    seasonal_period: int
    positions: SplitPositions

    def splits(self) -> Mapping[str, pd.DataFrame]:
        positions = self.positions
        bounds = {
            "train": (positions.start, positions.train_end),
            "validation": (positions.train_end, positions.validation_end),
            "test": (positions.validation_end, positions.test_end),
        }
        return {split: self.frame.iloc[low:high] for split, (low, high) in bounds.items()}


class ForecastingFamily(Family[ForecastingConfig, PreparedSeries, ForecastRun]):
    """Forecasts of one series, 1 or more periods ahead, registered per horizon."""

    name = "forecasting"
    config_type = ForecastingConfig
    default_config = Path(__file__).with_name("forecasting.yaml")
    leaderboard_columns = ("test_mae_vs_naive", "test_rmse")
    baselines = (BASELINE,)
    unit_param = "unit"

    def tasks(self, config: ForecastingConfig) -> list[str]:
        return [config.dataset.name]

    def model_names(self) -> list[str]:
        return forecaster_names()

    def runs(self, config: ForecastingConfig, names: list[str] | None) -> list[ForecastRun]:
        return config.select(names)

    def baseline_runs(
        self, config: ForecastingConfig, runs: list[ForecastRun]
    ) -> list[ForecastRun]:
        horizons = sorted({run.horizon for run in runs})
        return [
            config.resolve(ModelRun(name=BASELINE, features="univariate", horizon=horizon))
            for horizon in horizons
        ]

    def registered_model(self, config: ForecastingConfig, task: str, run: ForecastRun) -> str:
        suffix = "" if run.horizon == 1 else f"-h{run.horizon}"
        return f"{self.name}-{task}{suffix}"

    def floor_metric(self, config: ForecastingConfig) -> str:
        return "test_mae_naive"

    def run_params(
        self, config: ForecastingConfig, run: ForecastRun, prepared: PreparedSeries
    ) -> dict[str, Any]:
        forecaster = make_forecaster(run, config.window, prepared.seasonal_period)
        return {
            "model": run.name,
            "horizon": run.horizon,
            "features": run.features,
            # Frequency, season and covariates as resolved for this data, not as configured.
            "dataset": config.dataset.model_dump(
                mode="json", exclude={"frequency", "seasonal_period", "covariates"}
            ),
            "split": config.split.model_dump(mode="json"),
            "unit": config.dataset.unit or config.dataset.target_column,  # of errors too
            "frequency": prepared.frequency,
            "seasonal_period": prepared.seasonal_period,
            "covariates": len(prepared.covariates) if run.features == "multivariate" else 0,
            "n_train_rows": prepared.positions.train_end - prepared.positions.start,
            **forecaster.describe(),
        }

    def load_table(self, config: ForecastingConfig, task: str) -> pd.DataFrame:
        return load_series_table(config.dataset)

    def read_raw(self, path: Path, config: ForecastingConfig, task: str) -> pd.DataFrame:
        frame = read_table_file(path)  # written by ingest: UTF-8, ISO dates
        date = config.dataset.date_column
        if date in frame:
            frame[date] = pd.to_datetime(frame[date], errors="coerce")
        return frame

    def validate(
        self, frame: pd.DataFrame, config: ForecastingConfig, task: str
    ) -> ValidationReport:
        dataset = config.dataset
        covariates = covariate_columns(frame, dataset)
        try:
            frequency = infer_frequency(frame[dataset.date_column], dataset.frequency)
        except (KeyError, ValueError, TypeError):
            frequency = "D"  # the suite then reports what is wrong with the dates
        return validate_series_table(frame, dataset, covariates, frequency)

    def prepare(
        self, frame: pd.DataFrame, config: ForecastingConfig, task: str, data: DataVersion
    ) -> PreparedSeries:
        dataset = config.dataset
        frequency = infer_frequency(frame[dataset.date_column], dataset.frequency)
        return PreparedSeries(
            task=task,
            data=data,
            frame=frame,
            covariates=covariate_columns(frame, dataset),
            frequency=frequency,
            seasonal_period=infer_seasonal_period(frequency, dataset.seasonal_period),
            positions=split_positions(frame[dataset.date_column], config.split),
        )

    def unfit_runs(
        self, prepared: PreparedSeries, config: ForecastingConfig, runs: list[ForecastRun]
    ) -> dict[str, str]:
        problems = {}
        for run in runs:
            minimum = make_forecaster(run, config.window, prepared.seasonal_period).min_history
            try:
                for part in ("train", "validation", "test"):
                    prepared.positions.origins(part, run.horizon, max(config.window, minimum))
            except UserError as error:
                problems[run.key] = str(error)
        return problems

    def fit(
        self,
        prepared: PreparedSeries,
        config: ForecastingConfig,
        run: ForecastRun,
        backup_dir: Path,
        callbacks: list[Any],
    ) -> Fitted:
        spec = feature_spec(config.dataset, prepared.covariates, prepared.frequency, run)
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

    def log_model(self, fitted: Fitted, prepared: PreparedSeries) -> LoggedModel:
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

    def evaluate(
        self,
        prepared: PreparedSeries,
        config: ForecastingConfig,
        run: ForecastRun,
        model: ForecastingModel,
        reference: dict[str, float] | None,
        out_dir: Path,
    ) -> Evaluation:
        origins = self._origins(prepared, config, run)
        predicted = model.forecast_origins(prepared.frame, origins)
        target = prepared.frame[config.dataset.target_column].to_numpy("float32")
        actual = target_matrix(target, run.horizon)[origins]
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
            metrics |= {f"test_mae_step_{step + 1}": float(v) for step, v in enumerate(per_step)}
        dates = prepared.frame[config.dataset.date_column].to_numpy()[origins + 1]
        span = out_dir / "test_span.json"
        span.write_text(
            json.dumps(
                {
                    "origins": [int(o) for o in origins[[0, -1]]],
                    "first_day": str(dates[0])[:10],
                    "last_day": str(dates[-1])[:10],
                }
            )
        )
        plot = plot_forecast(
            dates,
            actual[:, 0],
            predicted[:, 0],
            naive[:, 0],
            f"{run.key}: test MAE {scores['mae']:.3f} ({metrics['test_mae_vs_naive']:.2f} x naive)",
            out_dir / "forecast_vs_actual.png",
            unit=config.dataset.unit or config.dataset.target_column,
        )
        return Evaluation(metrics, [plot, span])

    def rescore(
        self, prepared: PreparedSeries, config: ForecastingConfig, run: ForecastRun, model_uri: str
    ) -> float:
        import mlflow

        model = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
        origins = self._origins(prepared, config, run)
        target = prepared.frame[config.dataset.target_column].to_numpy("float32")
        actual = target_matrix(target, run.horizon)[origins]
        scores = regression_metrics(actual, model.forecast_origins(prepared.frame, origins))
        return scores[config.gate.metric.removeprefix("test_")]

    def evaluation_key(
        self, prepared: PreparedSeries, config: ForecastingConfig, run: ForecastRun
    ) -> str:
        span = self._origins(prepared, config, run)
        return json.dumps(
            {
                "data": prepared.data.file_md5,
                "horizon": run.horizon,
                "origins": [int(span[0]), int(span[-1])],
            },
            sort_keys=True,
        )

    @staticmethod
    def _origins(
        prepared: PreparedSeries, config: ForecastingConfig, run: ForecastRun
    ) -> np.ndarray:
        """Origins scored on the test split: the same for every model of a horizon."""
        return prepared.positions.origins("test", run.horizon, config.window)
