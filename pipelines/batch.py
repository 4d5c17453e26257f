"""Batch prediction: score a CSV or Parquet file with a registered model by alias.

The alias is resolved once, at the start, so every row is scored by the same version even if
the alias moves meanwhile; the output names that version, its run and the data version it
was trained on, beside every prediction. The predictions join the prediction log under the
batch's request id (its flow run's id), which the output carries too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.types import DataType
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from components.core import tracking
from components.core.errors import UserError
from components.core.prediction_log import (
    Prediction,
    PredictionLog,
    default_directory,
    new_request_id,
)
from components.core.serving_checks import short_reason
from pipelines.common import workspace_dir

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet}


@dataclass(frozen=True)
class ResolvedModel:
    """The version an alias pointed at when the batch started."""

    name: str
    alias: str
    version: str
    run_id: str
    data_version: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def output_path_for(input_path: Path) -> Path:
    """``reviews.csv`` -> ``reviews.predictions.csv``, beside the input."""
    return input_path.with_name(f"{input_path.stem}.predictions{input_path.suffix}")


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a table.

    Raises:
        UserError: if the file type is not supported or the file cannot be read.
    """
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UserError(f"{path}: unsupported file type {path.suffix!r}; use {sorted(READERS)}")
    try:
        return reader(path)
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: cannot be read as {path.suffix[1:]}: {error}") from None


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write by suffix, through a temporary file, so a failed write leaves no half file."""
    if path.suffix.lower() not in READERS:
        raise UserError(f"{path}: unsupported output type {path.suffix!r}; use {sorted(READERS)}")
    partial = path.with_name(f".{path.name}.partial")
    if path.suffix.lower() == ".csv":
        frame.to_csv(partial, index=False)
    else:
        frame.to_parquet(partial, index=False)
    os.replace(partial, path)


@task(cache_policy=NO_CACHE)
def resolve(name: str, alias: str) -> ResolvedModel:
    """The version ``name@alias`` points at now, with its run's data version."""
    client = mlflow.MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, alias)
    except mlflow.exceptions.MlflowException:
        raise UserError(f"no version of {name!r} has the alias {alias!r}") from None
    run_id = version.run_id or ""  # a version registered from no run has no data version
    tags = client.get_run(run_id).data.tags if run_id else {}
    return ResolvedModel(name, alias, str(version.version), run_id, tags.get("data.dvc_hash", ""))


@dataclass(frozen=True)
class Scored:
    """What the model read and what it answered."""

    inputs: pd.DataFrame
    predictions: pd.DataFrame

    @property
    def row_wise(self) -> bool:
        """Whether the model answered each input row (texts), not the table as a whole (a
        forecast from a history)."""
        return len(self.predictions) == len(self.inputs)


@task(cache_policy=NO_CACHE)
def score(model: ResolvedModel, table: pd.DataFrame, columns: list[str] | None) -> Scored:
    """The model's predictions for the columns of ``table`` it reads."""
    loaded = mlflow.pyfunc.load_model(model.uri)
    schema = loaded.metadata.get_input_schema()
    inputs = with_schema_dates(select_inputs(table, columns, schema), schema)
    try:
        predictions = pd.DataFrame(loaded.predict(inputs)).reset_index(drop=True)
    except mlflow.exceptions.MlflowException as error:
        reason = short_reason(error.message)
        raise UserError(f"{model.name} v{model.version} rejected the input: {reason}") from None
    return Scored(inputs.reset_index(drop=True), predictions)


def output_table(
    table: pd.DataFrame, scored: Scored, model: ResolvedModel, request_id: str
) -> pd.DataFrame:
    """The predictions, each row tagged with the model that made it and the batch's request id.

    Row-wise models keep the input rows beside their predictions; models that answer a whole
    table with rows of their own return those.
    """
    predictions = scored.predictions
    if scored.row_wise:
        predictions = pd.concat([table.reset_index(drop=True), predictions], axis=1)
    return predictions.assign(
        model_name=model.name,
        model_version=model.version,
        model_run_id=model.run_id,
        data_version=model.data_version,
        request_id=request_id,
    )


def log_predictions(
    log: PredictionLog, model: ResolvedModel, scored: Scored, request_id: str
) -> int:
    """Append the batch to the prediction log; return the records written.

    Row-wise predictions go in slices of the log's row cap, each record saying the input row
    it starts at, so every row stays in the log; a whole-table answer is one record.
    """
    step = log.max_rows if scored.row_wise else max(len(scored.inputs), 1)
    written = 0
    for start in range(0, max(len(scored.inputs), 1), step):
        rows = slice(start, start + step)
        written += log.write(
            Prediction(
                request_id=request_id,
                registered_model=model.name,
                alias=model.alias,
                version=model.version,
                run_id=model.run_id,
                inputs=scored.inputs.iloc[rows],
                outputs=scored.predictions.iloc[rows] if scored.row_wise else scored.predictions,
                source="batch",
                first_row=start,
            )
        )
    return written


def with_schema_dates(inputs: pd.DataFrame, schema) -> pd.DataFrame:
    """Columns the signature declares as datetime, parsed: CSV files hold dates as text."""
    if schema is None or not schema.has_input_names():
        return inputs
    parsed = inputs.copy()
    for spec in schema.inputs:
        if spec.type == DataType.datetime and spec.name in parsed:
            try:
                parsed[spec.name] = pd.to_datetime(parsed[spec.name])
            except (ValueError, TypeError) as error:
                raise UserError(f"column {spec.name!r} does not hold dates: {error}") from None
    return parsed


def select_inputs(table: pd.DataFrame, columns: list[str] | None, schema) -> pd.DataFrame:
    """The columns the model reads: those asked for, else the signature's named inputs, else
    the whole table."""
    if columns:
        missing = [name for name in columns if name not in table.columns]
        if missing:
            raise UserError(f"no column(s) {missing} in the input; it has {list(table.columns)}")
        return table[columns]
    if schema is not None and schema.has_input_names():
        names = schema.input_names()
        missing = [name for name in names if name not in table.columns]
        if missing:
            raise UserError(
                f"the model needs column(s) {missing}; the input has {list(table.columns)}"
            )
        return table[names]
    if table.shape[1] != 1:
        raise UserError(
            f"the model reads one column and the input has {list(table.columns)}: "
            "name it with --column"
        )
    return table


@flow(name="seqpipe-batch-predict", log_prints=False)
def batch_predict_flow(
    model_name: str,
    input_path: str,
    output_path: str | None = None,
    alias: str = "champion",
    columns: list[str] | None = None,
    workspace: str | None = None,
    prediction_log: str | None = None,
) -> str:
    """Score ``input_path`` with ``model_name@alias``; return where the predictions went.

    The predictions are appended to the prediction log at ``prediction_log`` (default: the
    workspace's ``predictions/``).
    """
    root = Path(workspace) if workspace else workspace_dir()
    tracking.configure(root)
    source = Path(input_path)
    target = Path(output_path) if output_path else output_path_for(source)
    model = resolve(model_name, alias)
    table = read_table(source)
    # pandas has no type information, so Prefect's overloads cannot see the task's result.
    scored: Any = score(model, table, columns)
    request_id = str(flow_run.id or new_request_id())
    predictions = output_table(table, scored, model, request_id)
    write_table(predictions, target)
    log = PredictionLog(Path(prediction_log) if prediction_log else default_directory(root))
    records = log_predictions(log, model, scored, request_id)
    get_run_logger().info(
        "%s v%s (@%s, data %s): %d prediction row(s) -> %s; %d record(s) in the prediction "
        "log %s (request id %s)",
        model.name,
        model.version,
        alias,
        model.data_version or "unknown",
        len(predictions),
        target,
        records,
        log.directory,
        request_id,
    )
    return str(target)
