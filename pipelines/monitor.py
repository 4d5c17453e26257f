"""``seqpipe monitor``: a registered model's live error, from its prediction log and the actuals.

The prediction log says what each version answered; the actuals arrive later. A forecast is
joined with the series' values on its dates, read from the task's current ingested data (the
file its version's run names, ``data.path``, grown by later ingests); a classifier's answers are
joined with a feedback file of labels by request id and row. The live error per version and
period is compared with each version's test error (its ``score`` tag, the gate metric on the
test split); the alias' version is degraded when its live error in the latest period with
actuals exceeds its test error by more than ``max_ratio``. Each report is an MLflow run of its
own in the ``monitoring`` experiment, with the table and a plot.

``monitor_flow`` is the same as a Prefect flow for schedules: a degraded version emits the
event ``seqpipe.model.degraded`` (the resource is the registered model, labelled with its
family), on which the family's retrain deployment is triggered, and the flow run fails.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from prefect import flow, get_run_logger
from prefect.events import emit_event

from components.core import tracking
from components.core.contract import Task
from components.core.errors import UserError
from components.core.lineage import lineage
from components.core.plots import pyplot, save_figure
from components.core.prediction_log import read_records
from components.core.registry import version_score
from components.core.stages import GATE_DIRECTION_TAG, GATE_METRIC_TAG
from components.families import get_family
from pipelines.common import recorded_config, workspace_dir

EXPERIMENT = "monitoring"
KIND = "monitoring"  # seqpipe.kind of a monitoring run
DEGRADED_EXIT_CODE = 3  # the CLI's exit code when the served version's live error is too high
DEGRADED_EVENT = "seqpipe.model.degraded"  # emitted by the monitor flow; retrains listen for it
FAMILY_LABEL = "seqpipe.family"  # the degraded model's family, on the event's resource
Period = Literal["day", "week", "month"]
PERIOD_CODES = {"day": "D", "week": "W", "month": "M"}
FORECAST_COLUMN = "forecast"  # the forecasting pyfunc's output column
LABEL_COLUMN = "label"  # a classifier's output column, and the feedback file's
FEEDBACK_COLUMNS = ("request_id", "label")  # "row" too when a request holds several texts
# Live metrics by the gate metric they stand for, and whether they are errors (less is better)
# or scores (greater is better, their error is 1 - score).
REGRESSION_METRICS = ("mae", "rmse")
CLASSIFICATION_METRICS = ("accuracy", "macro_f1")


@dataclass(frozen=True)
class Monitoring:
    """A registered model's live error per version and period, against its test error."""

    registered_model: str
    alias: str
    version: str  # the alias' version now
    family: str  # "" for a model logged outside a pipeline
    metric: str  # the live metric compared (the gate metric without ``test_``)
    greater_is_better: bool
    test_scores: dict[str, float]  # version -> its gate metric on the test split
    table: pd.DataFrame  # version, period, predictions, pending, live metrics, test, ratio
    max_ratio: float
    records: int
    unreadable_lines: int
    run_id: str = ""
    # Per shadow version and served version: requests both answered and how they differ.
    agreement: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def latest(self) -> pd.Series | None:
        """The alias' version's latest period with actuals, or None when it has none yet."""
        rows = self.table[(self.table["version"] == self.version) & (self.table["joined"] > 0)]
        return None if rows.empty else rows.iloc[-1]

    @property
    def ratio(self) -> float | None:
        """Live error / test error of the alias' version in its latest period with actuals."""
        latest = self.latest
        return None if latest is None else float(latest["ratio"])

    @property
    def degraded(self) -> bool:
        return self.ratio is not None and self.ratio > self.max_ratio


def error_of(value: float, greater_is_better: bool) -> float:
    """A metric as an error, lower is better: scores (accuracy, F1) count as 1 - score."""
    return 1.0 - value if greater_is_better else value


def ratio_of(live_error: float, test_error: float) -> float:
    """How many times the test error the live error is (0/0 is 1: no change)."""
    if test_error > 0:
        return live_error / test_error
    return 1.0 if live_error == 0 else math.inf


def forecast_pairs(
    records: pd.DataFrame, actuals: pd.DataFrame, date: str, target: str
) -> pd.DataFrame:
    """One row per forecast date of every record: the forecast and, once known, the actual.

    Raises:
        UserError: if the records hold no forecasts (the model is not a forecaster).
    """
    rows = records[["time", "request_id", "version", "outputs"]].explode("outputs").dropna()
    if rows.empty:
        return pd.DataFrame(columns=["time", "request_id", "version", "predicted", "actual"])
    outputs = pd.DataFrame(list(rows.pop("outputs")), index=rows.index)
    if date not in outputs or FORECAST_COLUMN not in outputs:
        raise UserError(
            f"the logged outputs have columns {list(outputs.columns)}, not {date!r} and "
            f"{FORECAST_COLUMN!r}: they are no forecasts to join with the series"
        )
    pairs = rows.assign(
        forecast_date=pd.to_datetime(outputs[date]).dt.normalize(),
        predicted=outputs[FORECAST_COLUMN].astype("float64"),
    )
    truth = pd.DataFrame(
        {
            "forecast_date": pd.to_datetime(actuals[date]).dt.normalize(),
            "actual": pd.to_numeric(actuals[target], errors="coerce"),
        }
    ).dropna()
    return pairs.merge(truth, on="forecast_date", how="left", validate="many_to_one")


def shadow_agreement(records: pd.DataFrame) -> pd.DataFrame:
    """How a shadow's answers compare with the served ones, per (shadow, served) version pair:
    ``requests`` answered by both, ``agreement`` (share of output rows whose non-numeric
    values, a label or a date, are the same) and ``mean_abs_difference`` of their numeric
    values (a forecast, a probability); NaN where the outputs have no such values."""
    columns = ["shadow_version", "served_version", "requests", "agreement", "mean_abs_difference"]
    if "source" not in records or not (records["source"] == "shadow").any():
        return pd.DataFrame(columns=columns)
    shadow = records.loc[records["source"] == "shadow", ["request_id", "version", "outputs"]]
    served = records.loc[
        records["source"] == "server", ["request_id", "version", "outputs"]
    ].drop_duplicates("request_id")
    pairs = shadow.merge(served, on="request_id", suffixes=("_shadow", "_served"))
    rows = []
    for (shadow_version, served_version), group in pairs.groupby(
        ["version_shadow", "version_served"], sort=True
    ):
        same, differences = [], []
        for ours, theirs in zip(group["outputs_shadow"], group["outputs_served"], strict=True):
            for left, right in zip(ours or [], theirs or [], strict=False):
                left = left if isinstance(left, dict) else {"value": left}
                right = right if isinstance(right, dict) else {"value": right}
                numeric = [
                    key for key in left if _is_number(left[key]) and _is_number(right.get(key))
                ]
                others = [key for key in left if key not in numeric]
                if others:
                    same.append(all(left[key] == right.get(key) for key in others))
                differences += [abs(float(left[key]) - float(right[key])) for key in numeric]
        rows.append(
            {
                "shadow_version": str(shadow_version),
                "served_version": str(served_version),
                "requests": len(group),
                "agreement": sum(same) / len(same) if same else math.nan,
                "mean_abs_difference": sum(differences) / len(differences)
                if differences
                else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_feedback(path: Path) -> pd.DataFrame:
    """A feedback file: request_id, label, and row (the text's position in its request).

    Raises:
        UserError: if the file is not a CSV with those columns.
    """
    try:
        feedback = pd.read_csv(path, dtype={"request_id": str, "label": str})
    except (OSError, ValueError) as error:
        raise UserError(f"--feedback {path}: cannot be read as CSV: {error}") from None
    missing = [name for name in FEEDBACK_COLUMNS if name not in feedback]
    if missing:
        raise UserError(
            f"--feedback {path}: no column(s) {missing}; it needs request_id, label and, for "
            f"requests of several texts, row (0 first); it has {list(feedback.columns)}"
        )
    if "row" not in feedback:
        feedback["row"] = 0
    feedback["row"] = pd.to_numeric(feedback["row"], errors="coerce")
    if feedback["row"].isna().any():
        raise UserError(f"--feedback {path}: column 'row' must hold whole numbers")
    feedback = feedback.astype({"row": "int64"}).drop_duplicates(["request_id", "row"], keep="last")
    return feedback[["request_id", "row", "label"]].rename(columns={"label": "actual"})


def label_pairs(records: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """One row per classified text of every record: its label and, once known, the true one.

    Raises:
        UserError: if the records hold no labels (the model is not a classifier).
    """
    rows = records[["time", "request_id", "version", "first_row", "outputs"]]
    rows = rows.assign(
        row=[
            range(first, first + len(outputs or []))
            for first, outputs in zip(rows["first_row"], rows["outputs"], strict=True)
        ]
    )
    rows = rows.explode(["outputs", "row"]).dropna(subset=["outputs"])
    if rows.empty:
        return pd.DataFrame(columns=["time", "request_id", "version", "predicted", "actual"])
    outputs = pd.DataFrame(list(rows.pop("outputs")), index=rows.index)
    if LABEL_COLUMN not in outputs:
        raise UserError(
            f"the logged outputs have columns {list(outputs.columns)}, no {LABEL_COLUMN!r}: "
            "a feedback file of labels does not apply to this model"
        )
    pairs = rows.assign(predicted=outputs[LABEL_COLUMN].astype(str), row=rows["row"].astype(int))
    return pairs.merge(feedback, on=["request_id", "row"], how="left", validate="many_to_one")


def live_metrics(pairs: pd.DataFrame, metric_names: tuple[str, ...]) -> dict[str, float]:
    """The live metrics of predictions joined with their actuals."""
    if metric_names == REGRESSION_METRICS:
        errors = pairs["predicted"].to_numpy("float64") - pairs["actual"].to_numpy("float64")
        return {"mae": float(np.mean(np.abs(errors))), "rmse": float(np.sqrt(np.mean(errors**2)))}
    from sklearn.metrics import accuracy_score, f1_score

    actual, predicted = pairs["actual"].astype(str), pairs["predicted"].astype(str)
    return {
        "accuracy": float(accuracy_score(actual, predicted)),
        "macro_f1": float(f1_score(actual, predicted, average="macro", zero_division=0)),
    }


def period_table(
    pairs: pd.DataFrame,
    metric_names: tuple[str, ...],
    metric: str,
    greater_is_better: bool,
    test_scores: dict[str, float],
    period: Period,
) -> pd.DataFrame:
    """Per version and period (of the prediction's UTC time): predictions joined, pending,
    the live metrics, the version's test score and live error / test error."""
    times = pd.to_datetime(pairs["time"], utc=True).dt.tz_localize(None)
    grouped = pairs.assign(period=times.dt.to_period(PERIOD_CODES[period]).astype(str))
    rows = []
    for (version, when), group in grouped.groupby(["version", "period"], sort=True):
        joined = group.dropna(subset=["actual"])
        values = live_metrics(joined, metric_names) if len(joined) else {}
        test = test_scores.get(str(version), math.nan)
        live = values.get(metric, math.nan)
        rows.append(
            {
                "version": str(version),
                "period": when,
                "joined": len(joined),
                "pending": len(group) - len(joined),
                **{name: values.get(name, math.nan) for name in metric_names},
                f"test_{metric}": test,
                "ratio": ratio_of(
                    error_of(live, greater_is_better), error_of(test, greater_is_better)
                )
                if len(joined) and math.isfinite(test)
                else math.nan,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    order = (
        table["version"].astype(int) if table["version"].str.isdigit().all() else table["version"]
    )
    return table.assign(_order=order).sort_values(["period", "_order"]).drop(columns="_order")


def test_scores_of(
    client: MlflowClient, name: str, versions: list[str], metric: str
) -> dict[str, float]:
    """Each version's gate metric on its test split (``registry.version_score``)."""
    scores = {}
    for number in versions:
        try:
            version = client.get_model_version(name, number)
        except mlflow.exceptions.MlflowException:
            continue  # a version deleted since it served: its predictions stay, unscored
        score = version_score(client, version, version.tags.get("gate.metric") or metric)
        if score is not None:
            scores[number] = score
    return scores


def monitor(
    name: str,
    workspace: Path,
    log_directory: Path,
    alias: str = "champion",
    feedback: Path | None = None,
    period: Period = "day",
    max_ratio: float = 1.5,
    since: str | None = None,
) -> Monitoring:
    """Join ``name``'s prediction log with its actuals, report and log the live error.

    Raises:
        UserError: if the model, its log, its data or the feedback cannot be read, or the
            model's actuals need a feedback file that was not given.
    """
    if not max_ratio > 0:
        raise UserError(f"--max-ratio must be above 0, not {max_ratio}")
    if period not in PERIOD_CODES:
        raise UserError(f"--period must be one of {sorted(PERIOD_CODES)}, not {period!r}")
    served = lineage(f"{name}@{alias}")
    client = MlflowClient()
    run = client.get_run(served.run_id)
    gate_metric = run.data.tags.get(GATE_METRIC_TAG, "")
    greater_is_better = run.data.tags.get(GATE_DIRECTION_TAG) == "greater"
    metric = gate_metric.removeprefix("test_")
    metric_names = REGRESSION_METRICS if metric in REGRESSION_METRICS else CLASSIFICATION_METRICS
    if metric not in metric_names:
        raise UserError(
            f"{name} is gated on {gate_metric or 'no recorded metric'!r}; the monitor computes "
            f"live {[f'test_{item}' for item in REGRESSION_METRICS + CLASSIFICATION_METRICS]}"
        )
    reading = read_records(log_directory, name, since)
    if not reading.records:
        raise UserError(
            f"no predictions of {name} logged under {log_directory / name}"
            f"{f' since {since}' if since else ''}: serve it with `seqpipe serve {name}` or "
            "score a file with `seqpipe predict`, or point --prediction-log at the log"
        )
    records = pd.DataFrame(reading.records).astype({"version": str})
    if feedback is not None:
        pairs = label_pairs(records, read_feedback(feedback))
    else:
        pairs = forecast_pairs(records, *series_actuals(served.tags, run, workspace, name))
    scores = test_scores_of(client, name, sorted(set(records["version"])), gate_metric)
    table = period_table(pairs, metric_names, metric, greater_is_better, scores, period)
    report = Monitoring(
        registered_model=name,
        alias=alias,
        version=served.version,
        family=served.tags.get("seqpipe.family", ""),
        metric=metric,
        greater_is_better=greater_is_better,
        test_scores=scores,
        table=table,
        max_ratio=max_ratio,
        records=len(reading.records),
        unreadable_lines=reading.unreadable_lines,
        agreement=shadow_agreement(records),
    )
    return log_monitoring(report, workspace)


def series_actuals(
    tags: dict[str, str], run: Any, workspace: Path, name: str
) -> tuple[pd.DataFrame, str, str]:
    """The task's current ingested series, its date and target columns.

    Raises:
        UserError: if the model is not a forecaster (its actuals are a feedback file) or its
            data file is gone.
    """
    family = get_family(tags.get("seqpipe.family", ""))
    config = recorded_config(family, run)
    # A family whose config names one series (its date and target columns) has actuals in its
    # own data; the others' come from their users.
    dataset = getattr(config, "dataset", None)
    if dataset is None or not hasattr(dataset, "target_column"):
        raise UserError(
            f"{name} is a {family.name} model: its actuals come from a feedback file; pass "
            "--feedback FILE (CSV: request_id, row, label)"
        )
    path = workspace / tags["data.path"]
    if not path.is_file():
        raise UserError(
            f"{path}: the data of {name} is not in this workspace; run `seqpipe run "
            f"{family.name}` (its ingest) or set SEQPIPE_WORKSPACE to the workspace serving it"
        )
    frame = family.read_raw(path, Task(config, tags["seqpipe.task"]))
    return frame, dataset.date_column, dataset.target_column


def log_monitoring(report: Monitoring, workspace: Path) -> Monitoring:
    """Log the report as a run of the ``monitoring`` experiment: the table, a plot, and the
    alias' version's latest live error, test error and their ratio as metrics."""
    experiment_id = tracking.ensure_experiment(EXPERIMENT, workspace, {"seqpipe.kind": KIND})
    tags = {
        "seqpipe.kind": KIND,
        "seqpipe.registered_model": report.registered_model,
        "seqpipe.alias": report.alias,
        "seqpipe.monitored_version": report.version,
        "seqpipe.monitor_verdict": "degraded" if report.degraded else "ok",
    }
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=f"{report.registered_model}@{report.alias}-monitor",
        tags=tags,
    ) as run:
        mlflow.log_params(
            {"max_ratio": report.max_ratio, "metric": report.metric, "records": report.records}
        )
        latest = report.latest
        metrics = {f"test_{report.metric}": report.test_scores.get(report.version, math.nan)}
        if latest is not None:
            metrics |= {
                f"live_{report.metric}": float(latest[report.metric]),
                "ratio": float(latest["ratio"]),
            }
        mlflow.log_metrics({key: value for key, value in metrics.items() if math.isfinite(value)})
        with tempfile.TemporaryDirectory() as scratch:
            table_path = Path(scratch) / "live_error.csv"
            report.table.to_csv(table_path, index=False)
            mlflow.log_artifact(str(table_path))
            mlflow.log_artifact(str(plot_live_error(report, Path(scratch) / "live_error.png")))
    return replace(report, run_id=run.info.run_id)


def plot_live_error(report: Monitoring, path: Path) -> Path:
    """The live metric per version over the periods, the alias' version's test score as a
    line, and the level beyond which it counts as degraded."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(10, 4))
    table = report.table[report.table["joined"] > 0] if not report.table.empty else report.table
    for version, rows in table.groupby("version", sort=False):
        # A period's start on a time axis: days without predictions keep their place.
        starts = pd.to_datetime(rows["period"].str.split("/").str[0])
        axis.plot(starts, rows[report.metric], marker="o", label=f"v{version} live")
    test = report.test_scores.get(report.version)
    if test is not None:
        allowed = report.max_ratio * error_of(test, report.greater_is_better)
        limit = 1.0 - allowed if report.greater_is_better else allowed
        axis.axhline(
            test, color="black", linewidth=1, label=f"v{report.version} ({report.alias}) test"
        )
        axis.axhline(
            limit,
            color="tab:red",
            linestyle="--",
            linewidth=1,
            label=f"{report.max_ratio}x test error",
        )
    axis.set_xlabel("period of the prediction (UTC)")
    axis.set_ylabel(report.metric)
    axis.legend()
    title = f"{report.registered_model}@{report.alias}: live {report.metric} per version"
    return save_figure(figure, path, title)


class ModelDegraded(Exception):
    """The monitored version's live error exceeds its test error by more than allowed."""


def model_resource(name: str, family: str) -> dict[str, str]:
    """The Prefect event resource of a registered model (retrain triggers match its family)."""
    return {
        "prefect.resource.id": f"seqpipe.registered-model.{name}",
        "prefect.resource.name": name,
        FAMILY_LABEL: family,
    }


@flow(name="seqpipe-monitor", log_prints=False)
def monitor_flow(
    model_name: str,
    alias: str = "champion",
    feedback: str | None = None,
    period: Period = "day",
    max_ratio: float = 1.5,
    workspace: str | None = None,
    prediction_log: str | None = None,
) -> dict[str, Any]:
    """Monitor ``model_name@alias`` (see ``monitor``); a degraded version emits
    ``DEGRADED_EVENT`` and fails the flow run.

    Raises:
        ModelDegraded: when the alias' version's live error is over ``max_ratio`` times its
            test error.
    """
    from components.core.prediction_log import default_directory

    root = Path(workspace) if workspace else workspace_dir()
    tracking.configure(root)
    report = monitor(
        model_name,
        root,
        Path(prediction_log) if prediction_log else default_directory(root),
        alias=alias,
        feedback=Path(feedback) if feedback else None,
        period=period,
        max_ratio=max_ratio,
    )
    summary = {
        "registered_model": model_name,
        "version": report.version,
        "metric": report.metric,
        "ratio": report.ratio,
        "max_ratio": max_ratio,
        "monitoring_run": report.run_id,
    }
    logger = get_run_logger()
    if not report.degraded:
        logger.info(
            "%s v%s: live error %s x its test error", model_name, report.version, report.ratio
        )
        return summary
    emit_event(DEGRADED_EVENT, resource=model_resource(model_name, report.family), payload=summary)
    raise ModelDegraded(
        f"{model_name} v{report.version}: live {report.metric} error is {report.ratio:.2f}x its "
        f"test error (limit {max_ratio}x); monitoring run {report.run_id}"
    )
