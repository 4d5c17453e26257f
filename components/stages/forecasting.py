"""Forecasting stages: ingest, validate, prepare, train, evaluate; each a plain function."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import mlflow.tensorflow
import numpy as np
import pandas as pd

from components.config import flatten
from components.configs.forecasting import ForecastingConfig, ResolvedRun
from components.evaluation import plot_forecast, plot_learning_curves, regression_metrics
from components.models.forecasting import NaiveSeasonal, make_forecaster
from components.preprocessing.series import (
    SplitPositions,
    build_features,
    covariate_columns,
    feature_spec,
    infer_frequency,
    infer_seasonal_period,
    split_positions,
    target_matrix,
)
from components.registry import Candidate
from components.serving import log_forecaster
from components.sources import load_series_table, read_table_file
from components.stages.common import (
    MODEL_URI_TAG,
    logged_model_uri,
    provenance_tags,
    write_report,
)
from components.validation import validate_series_table
from components.versioning import DataVersion, track_data, write_raw_table

FAMILY = "forecasting"


@dataclass(frozen=True)
class PreparedSeries:
    """A validated series with everything the models share."""

    frame: pd.DataFrame
    covariates: list[str]
    frequency: str
    seasonal_period: int
    positions: SplitPositions
    data: DataVersion


def model_name(config: ForecastingConfig, horizon: int) -> str:
    """Registered model name: forecasting-<dataset>, suffixed by the horizon beyond one step."""
    suffix = "" if horizon == 1 else f"-h{horizon}"
    return f"{FAMILY}-{config.dataset.name}{suffix}"


def ingest(config: ForecastingConfig, workspace: Path) -> DataVersion:
    """Materialise the raw table under ``data/raw`` and version ``data/`` with DVC."""
    frame = load_series_table(config.dataset)
    path = write_raw_table(frame, workspace, f"{FAMILY}-{config.dataset.name}")
    return track_data(workspace, path)


def read_raw(workspace: Path, data: DataVersion, config: ForecastingConfig) -> pd.DataFrame:
    """Read the ingested table back with parsed, sorted dates."""
    frame = read_table_file(workspace / data.path)
    date = config.dataset.date_column
    if date in frame:
        frame[date] = pd.to_datetime(frame[date], errors="coerce")
    return frame


def validate(frame: pd.DataFrame, config: ForecastingConfig, report_dir: Path) -> Path:
    """Run the series suite; write its JSON result; raise ``DataValidationError`` on failure."""
    dataset = config.dataset
    covariates = covariate_columns(frame, dataset)
    try:
        frequency = infer_frequency(frame[dataset.date_column], dataset.frequency)
    except (KeyError, ValueError, TypeError):
        frequency = "D"  # the suite then reports what is wrong with the dates
    return write_report(validate_series_table(frame, dataset, covariates, frequency), report_dir)


def prepare(frame: pd.DataFrame, config: ForecastingConfig, data: DataVersion) -> PreparedSeries:
    """Split positions, covariates, frequency and seasonal period of a validated table."""
    dataset = config.dataset
    frequency = infer_frequency(frame[dataset.date_column], dataset.frequency)
    return PreparedSeries(
        frame=frame,
        covariates=covariate_columns(frame, dataset),
        frequency=frequency,
        seasonal_period=infer_seasonal_period(frequency, dataset.seasonal_period),
        positions=split_positions(frame[dataset.date_column], config.split),
        data=data,
    )


def run_tags(
    config: ForecastingConfig,
    run: ResolvedRun,
    prepared: PreparedSeries,
    project_dir: Path,
    parent_run_id: str | None = None,
) -> dict[str, str]:
    """Tags every model run carries: what data, code and config produced it."""
    identity = {
        "seqpipe.model": run.name,
        "seqpipe.registered_model": model_name(config, run.horizon),
    }
    return provenance_tags(FAMILY, identity, config, prepared.data, project_dir, parent_run_id)


def train(
    prepared: PreparedSeries,
    config: ForecastingConfig,
    run: ResolvedRun,
    experiment_id: str,
    parent_run_id: str | None,
    backup_dir: Path,
    project_dir: Path,
    callbacks: list | None = None,
) -> str:
    """Fit one model, log config, data version and learning curves, and log it as a pyfunc.

    Returns the MLflow run id.
    """
    spec = feature_spec(config.dataset, prepared.covariates, prepared.frequency, run)
    features = build_features(prepared.frame, spec)
    targets = target_matrix(features[:, 0], run.horizon)
    forecaster = make_forecaster(run, config.window, prepared.seasonal_period)
    tags = run_tags(config, run, prepared, project_dir, parent_run_id)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run.key, tags=tags) as active:
        family_config = config.model_dump(mode="json", exclude={"models"})
        family_config.update(run.model_dump(mode="json"))
        mlflow.log_params(flatten(family_config))
        mlflow.log_dict(family_config, "config.json")
        mlflow.log_params(
            {
                "n_features": features.shape[1],
                "n_train_rows": prepared.positions.train_end - prepared.positions.start,
            }
        )
        history = forecaster.fit(
            features,
            targets,
            prepared.positions,
            callbacks=[mlflow.tensorflow.MlflowCallback(), *(callbacks or [])],
            backup_dir=backup_dir,
        )
        if history:
            with tempfile.TemporaryDirectory() as scratch:
                mlflow.log_artifact(
                    str(
                        plot_learning_curves(
                            history,
                            f"{run.key}: learning curves",
                            Path(scratch) / "learning_curves.png",
                        )
                    )
                )
        rows = max(forecaster.min_history, config.window)
        end = prepared.positions.test_end
        example = (
            prepared.frame[[spec.date_column, spec.target_column, *spec.covariates]]
            .iloc[end - rows : end]
            .reset_index(drop=True)
        )
        mlflow.set_tag(MODEL_URI_TAG, log_forecaster(forecaster, spec, example))
        return active.info.run_id


def scored_origins(prepared: PreparedSeries, horizon: int, window: int) -> np.ndarray:
    """Origins scored on the test split: the same for every model of a horizon."""
    return prepared.positions.origins("test", horizon, window)


def evaluate(
    prepared: PreparedSeries, config: ForecastingConfig, run: ResolvedRun, run_id: str
) -> dict[str, float]:
    """Score the logged model on the test split against the naive seasonal baseline.

    The model is loaded back from MLflow, so the numbers describe what will be registered.
    """
    model = mlflow.pyfunc.load_model(logged_model_uri(run_id)).unwrap_python_model()
    origins = scored_origins(prepared, run.horizon, config.window)
    predicted = model.forecast_origins(prepared.frame, origins)
    target = prepared.frame[config.dataset.target_column].to_numpy("float32")
    actual = target_matrix(target, run.horizon)[origins]
    naive = NaiveSeasonal(prepared.seasonal_period, run.horizon).predict(target[:, None], origins)
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
        metrics.update({f"test_mae_step_{step + 1}": float(v) for step, v in enumerate(per_step)})
    dates = prepared.frame[config.dataset.date_column].to_numpy()[origins + 1]
    with mlflow.start_run(run_id=run_id), tempfile.TemporaryDirectory() as scratch:
        mlflow.log_metrics(metrics)
        mlflow.log_dict(
            {
                "origins": [int(o) for o in origins[[0, -1]]],
                "first_day": str(dates[0])[:10],
                "last_day": str(dates[-1])[:10],
            },
            "evaluation/test_span.json",
        )
        mlflow.log_artifact(
            str(
                plot_forecast(
                    dates,
                    actual[:, 0],
                    predicted[:, 0],
                    naive[:, 0],
                    f"{run.key}: test MAE {scores['mae']:.3f} "
                    f"({metrics['test_mae_vs_naive']:.2f} x naive)",
                    Path(scratch) / "forecast_vs_actual.png",
                )
            )
        )
    return metrics


def evaluation_key(prepared: PreparedSeries, config: ForecastingConfig, horizon: int) -> str:
    """Identifies the test days and data a score was computed on."""
    span = scored_origins(prepared, horizon, config.window)
    return json.dumps(
        {
            "data": prepared.data.file_md5,
            "horizon": horizon,
            "origins": [int(span[0]), int(span[-1])],
        },
        sort_keys=True,
    )


def candidate(
    prepared: PreparedSeries,
    config: ForecastingConfig,
    run: ResolvedRun,
    run_id: str,
    metrics: dict[str, float],
) -> Candidate:
    """The registry candidate of an evaluated run."""
    return Candidate(
        run_id=run_id,
        model_uri=logged_model_uri(run_id),
        model_name=model_name(config, run.horizon),
        score=metrics[config.gate.metric],
        baseline_score=metrics["test_mae_naive"],
        evaluation_key=evaluation_key(prepared, config, run.horizon),
    )


def rescore(
    prepared: PreparedSeries, config: ForecastingConfig, horizon: int, model_uri: str
) -> float:
    """A registered model's test MAE on this data (for a champion trained on other data)."""
    model = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
    origins = scored_origins(prepared, horizon, config.window)
    target = prepared.frame[config.dataset.target_column].to_numpy("float32")
    actual = target_matrix(target, horizon)[origins]
    return regression_metrics(actual, model.forecast_origins(prepared.frame, origins))["mae"]
