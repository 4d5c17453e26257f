"""``seqpipe monitor``: served predictions joined with later actuals, live error per version."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from typer.testing import CliRunner

from components.core.prediction_log import Prediction, PredictionLog, default_directory
from components.families.forecasting.family import ForecastingFamily
from components.families.forecasting.features import FeatureSpec
from components.families.forecasting.models import NaiveSeasonal
from components.families.forecasting.serving import ForecastingModel
from pipelines.alias_follower import AliasFollower
from pipelines.cli import app
from pipelines.model_server import create_app
from pipelines.monitor import DEGRADED_EXIT_CODE

FORECASTER = "forecasting-chicago"
CLASSIFIER = "textclf-reviews"
DATA_PATH = "data/raw/forecasting-chicago.csv"
SPEC = FeatureSpec("date", "ridership", (), 2, "D", False, None, None, 0.0, 60.0)
HISTORY_DAYS = 14
runner = CliRunner()


def series(days: int, seed: int = 0) -> pd.DataFrame:
    """A weekly series with noise, so the naive seasonal forecast errs by known amounts."""
    rng = np.random.default_rng(seed)
    steps = np.arange(days)
    ridership = 15 + 5 * np.sin(2 * np.pi * steps / 7) + rng.normal(0, 1, days)
    return pd.DataFrame({"date": pd.date_range("2016-01-01", periods=days), "ridership": ridership})


def write_data(workspace: Path, frame: pd.DataFrame) -> None:
    path = workspace / DATA_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)


def register_forecaster(score: float) -> str:
    """A version logged like a pipeline's: nested under a run holding the config, tagged with
    its family, task, data file and gate, its test MAE as its ``score``."""
    config = ForecastingFamily().load_config()
    tags = {
        "seqpipe.family": "forecasting",
        "seqpipe.task": "chicago",
        "data.path": DATA_PATH,
        "seqpipe.gate_metric": "test_mae",
        "seqpipe.gate_direction": "less",
    }
    with mlflow.start_run(run_name="pipeline"):
        mlflow.log_dict(config.model_dump(mode="json"), "config.json")
        with mlflow.start_run(nested=True, tags=tags):
            uri = ForecastingModel(NaiveSeasonal(7, 2), SPEC).log(history(series(30), 29)).uri
    version = mlflow.register_model(uri, FORECASTER, tags={"score": str(score)}).version
    MlflowClient().set_registered_model_alias(FORECASTER, "champion", version)
    return str(version)


def history(frame: pd.DataFrame, last: int) -> pd.DataFrame:
    """The ``HISTORY_DAYS`` days up to row ``last``: what a client sends."""
    rows = frame.iloc[last - HISTORY_DAYS + 1 : last + 1]
    return rows.assign(date=rows["date"].dt.strftime("%Y-%m-%d")).reset_index(drop=True)


def serve_forecasts(log: PredictionLog, frame: pd.DataFrame, last_days: range) -> None:
    follower = AliasFollower(FORECASTER, "champion", poll_seconds=60)
    follower.refresh()
    client = TestClient(create_app(follower, prediction_log=log))
    for last in last_days:
        split = json.loads(history(frame, last).to_json(orient="split", index=False))
        response = client.post("/predict", json={"dataframe_split": split})
        assert response.status_code == 200, response.text


def expected_mae(log_directory: Path, truth: pd.DataFrame, version: str) -> tuple[float, int]:
    """MAE of the version's logged forecasts whose dates the data holds, and their count,
    computed from the raw log lines."""
    actual = dict(zip(truth["date"].dt.strftime("%Y-%m-%d"), truth["ridership"], strict=True))
    errors = []
    for path in (log_directory / FORECASTER).glob("*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            for output in record["outputs"] if record["version"] == version else []:
                day = output["date"][:10]
                if day in actual:
                    errors.append(abs(output["forecast"] - actual[day]))
    return float(np.mean(errors)), len(errors)


def monitor(*args: str):
    return runner.invoke(app, ["monitor", *args], catch_exceptions=False)


def test_forecasts_are_joined_with_the_later_days_of_the_grown_data(mlflow_store, workspace):
    served_data = series(40)
    write_data(workspace, served_data)
    earlier, current = register_forecaster(score=1.2), register_forecaster(score=1.0)
    log_directory = default_directory(workspace)
    log = PredictionLog(log_directory)
    # Two days ago the earlier version answered one request.
    old_model = mlflow.pyfunc.load_model(f"models:/{FORECASTER}/{earlier}")
    old_history = history(served_data, 20)
    two_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    log.write(
        Prediction(
            "old-1",
            FORECASTER,
            "champion",
            earlier,
            "",
            old_history,
            old_model.predict(old_history),
            time=two_days_ago,
        )
    )
    serve_forecasts(log, served_data, range(30, 40))  # the last forecasts reach past the data

    before = monitor(FORECASTER)
    assert before.exit_code == 0, before.output
    assert "pending" in before.output

    grown = series(60)  # later ingests add the days forecast; the earlier days are unchanged
    write_data(workspace, grown)
    result = monitor(FORECASTER, "--max-ratio", "5")
    assert result.exit_code == 0, result.output

    run = MlflowClient().search_runs(
        [MlflowClient().get_experiment_by_name("monitoring").experiment_id],
        order_by=["attributes.start_time DESC"],
    )[0]
    assert run.data.tags["seqpipe.kind"] == "monitoring"
    assert run.data.tags["seqpipe.monitored_version"] == current
    artifacts = {item.path for item in MlflowClient().list_artifacts(run.info.run_id)}
    assert artifacts == {"live_error.csv", "live_error.png"}
    table = pd.read_csv(
        mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="live_error.csv"),
        dtype={"version": str},
    )
    by_version = table.set_index("version")
    for version, periods_ago in ((earlier, 2), (current, 0)):
        mae, joined = expected_mae(log_directory, grown, version)
        row = by_version.loc[version]
        assert row["mae"] == pytest.approx(mae) and row["joined"] == joined
        assert row["pending"] == 0
        assert (
            row["period"]
            == (dt.datetime.now(dt.UTC) - dt.timedelta(days=periods_ago)).date().isoformat()
        )
    assert by_version.loc[current, "ratio"] == pytest.approx(by_version.loc[current, "mae"] / 1.0)
    assert run.data.metrics["live_mae"] == pytest.approx(by_version.loc[current, "mae"])
    assert run.data.metrics["test_mae"] == 1.0


def serve_then_double_the_riders(workspace: Path) -> None:
    """A champion served for a week, after which the series doubled: several times its test
    error."""
    served_data = series(40)
    write_data(workspace, served_data)
    register_forecaster(score=1.0)
    serve_forecasts(PredictionLog(default_directory(workspace)), served_data, range(30, 38))
    shifted = series(60)
    shifted.loc[shifted.index >= 31, "ridership"] *= 2
    write_data(workspace, shifted)


def test_a_served_model_whose_live_error_is_several_times_its_test_error_exits_3(
    mlflow_store, workspace
):
    serve_then_double_the_riders(workspace)
    result = monitor(FORECASTER)
    assert result.exit_code == DEGRADED_EXIT_CODE, result.output
    assert "degraded" in result.output


def test_the_monitor_flow_of_a_degraded_model_emits_the_retrain_event_and_fails(
    mlflow_store, workspace, prefect_server, monkeypatch
):
    from pipelines import monitor as monitoring

    serve_then_double_the_riders(workspace)
    emitted = []
    monkeypatch.setattr(
        monitoring, "emit_event", lambda event, **details: emitted.append((event, details))
    )
    state = monitoring.monitor_flow(FORECASTER, workspace=str(workspace), return_state=True)
    assert state.is_failed() and "x its test error" in state.message
    ((event, details),) = emitted
    assert event == monitoring.DEGRADED_EVENT
    assert details["resource"]["seqpipe.family"] == "forecasting"
    assert details["payload"]["ratio"] > 1.5


def test_a_model_without_a_log_or_a_feedback_file_is_told_what_to_do(mlflow_store, workspace):
    result = runner.invoke(app, ["monitor", "nothing-here"])
    assert result.exit_code == 2 and "no model version 'nothing-here@champion'" in result.output


class Keyword(mlflow.pyfunc.PythonModel):
    """A review classifier shaped like the family's: a label and each label's probability."""

    def predict(self, context, model_input, params=None):
        texts = list(model_input.iloc[:, 0])
        great = np.array([float("good" in text) for text in texts])
        return pd.DataFrame(
            {
                "label": np.where(great == 1, "great", "other"),
                "probability_great": great,
                "probability_other": 1 - great,
            }
        )


def test_a_classifier_s_labels_are_joined_with_a_feedback_file(mlflow_store, workspace):
    example = ["good food"]
    tags = {"seqpipe.gate_metric": "test_macro_f1", "seqpipe.gate_direction": "greater"}
    with mlflow.start_run(tags=tags):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=Keyword(),
            signature=mlflow.models.infer_signature(
                example, Keyword().predict(None, pd.DataFrame(example))
            ),
            pip_requirements=["mlflow"],
        )
    version = mlflow.register_model(info.model_uri, CLASSIFIER, tags={"score": "0.8"}).version
    MlflowClient().set_registered_model_alias(CLASSIFIER, "champion", version)
    follower = AliasFollower(CLASSIFIER, "champion", poll_seconds=60)
    follower.refresh()
    client = TestClient(
        create_app(follower, prediction_log=PredictionLog(default_directory(workspace)))
    )
    requests = {
        "a": ["good soup", "bland soup", "good bread"],
        "b": ["stale crackers"],
        "c": ["good tea"],  # no feedback yet
    }
    for request_id, texts in requests.items():
        response = client.post(
            "/predict", json={"inputs": texts}, headers={"X-Request-ID": request_id}
        )
        assert response.status_code == 200, response.text
    feedback = workspace / "feedback.csv"
    pd.DataFrame(
        {
            "request_id": ["a", "a", "a", "b"],
            "row": [0, 1, 2, 0],
            "label": ["great", "great", "other", "other"],
        }
    ).to_csv(feedback, index=False)

    result = monitor(CLASSIFIER, "--feedback", str(feedback), "--max-ratio", "10")
    assert result.exit_code == 0, result.output

    from sklearn.metrics import f1_score

    predicted = ["great", "other", "great", "other"]
    actual = ["great", "great", "other", "other"]
    run = MlflowClient().search_runs(
        [MlflowClient().get_experiment_by_name("monitoring").experiment_id]
    )[0]
    table = pd.read_csv(
        mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="live_error.csv")
    )
    (row,) = table.to_dict("records")
    assert (row["joined"], row["pending"]) == (4, 1)
    assert row["accuracy"] == pytest.approx(0.5)
    assert row["macro_f1"] == pytest.approx(f1_score(actual, predicted, average="macro"))
    assert row["ratio"] == pytest.approx((1 - row["macro_f1"]) / (1 - 0.8))

    bad = workspace / "bad.csv"
    bad.write_text("id,label\na,great\n")
    result = runner.invoke(app, ["monitor", CLASSIFIER, "--feedback", str(bad)])
    # The console wraps long lines (a temporary folder's path); the words are what matter.
    assert result.exit_code == 2 and "no column(s) ['request_id']" in " ".join(
        result.output.split()
    )


def test_shadow_agreement_compares_answers_to_the_same_requests() -> None:
    from pipelines.monitor import shadow_agreement

    def record(source: str, version: str, request_id: str, label: str, score: float) -> dict:
        return {
            "source": source,
            "version": version,
            "request_id": request_id,
            "outputs": [{"label": label, "probability": score}],
        }

    records = pd.DataFrame(
        [
            record("server", "1", "a", "great", 0.9),
            record("shadow", "2", "a", "great", 0.7),
            record("server", "1", "b", "other", 0.6),
            record("shadow", "2", "b", "great", 0.5),
            record("server", "1", "c", "other", 0.8),  # not shadowed: not compared
        ]
    )
    (row,) = shadow_agreement(records).to_dict(orient="records")
    assert row["shadow_version"] == "2" and row["served_version"] == "1"
    assert row["requests"] == 2 and row["agreement"] == 0.5
    assert row["mean_abs_difference"] == pytest.approx(0.15)
    assert shadow_agreement(records[records["source"] == "server"]).empty
