"""The forecasting flow under Prefect, end to end on the real data with tiny training."""

from __future__ import annotations

import re
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from components.core.validation import DataValidationError
from tests.families.forecasting.tiny import chicago_document

pytestmark = pytest.mark.slow

CHICAGO = chicago_document()
TINY = {
    "window": 28,
    "parallel_models": 2,
    "dataset": CHICAGO["dataset"],
    "split": {**CHICAGO["split"], "train_start": "2011-01-01"},
    "architecture": {"units": 8, "layers": 1, "filters": 8},
    "training": {"epochs": 2, "patience": 1, "batch_size": 64, "max_train_batches": 8},
    "models": [
        {"name": "naive_seasonal", "features": "univariate"},
        {"name": "sarima", "features": "univariate"},
        {"name": "gru"},
    ],
    "profiles": {"quick": {}},
}


def write_config(directory: Path, **overrides) -> Path:
    path = directory / "forecasting-test.yaml"
    path.write_text(yaml.safe_dump({**TINY, **overrides}, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def trained(prefect_server, tmp_path_factory, workspace_env):
    """A workspace where the flow ran once: (workspace, config, decisions, seconds, patch)."""
    from pipelines.flow import pipeline_flow

    workspace = tmp_path_factory.mktemp("workspace")
    with workspace_env(workspace) as patch:
        config = write_config(workspace)
        started = time.perf_counter()
        decisions = pipeline_flow("forecasting", profile="quick", config_path=str(config))
        yield workspace, config, decisions, time.perf_counter() - started, patch


def model_runs(experiment: str = "forecasting-chicago"):
    client = MlflowClient()
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    return client.search_runs([experiment_id], "tags.`seqpipe.kind` = 'model'")


def test_flow_ends_with_a_champion_that_forecasts_from_raw_history(trained, chicago) -> None:
    _, _, decisions, _, _ = trained
    assert any(decision.promoted for decision in decisions)
    champion = mlflow.pyfunc.load_model("models:/forecasting-chicago@champion")
    recent = chicago[chicago["date"] <= "2016-08-28"].tail(60)
    forecast = champion.predict(recent.drop(columns=["date"]).assign(date=recent["date"]))
    assert list(forecast["date"]) == [pd.Timestamp("2016-08-29")]
    assert 0 < forecast["forecast"].iloc[0] < 30  # riders in thousands, not scaled units


def test_the_flow_run_shows_its_leaderboard_linked_to_mlflow_and_its_data(trained) -> None:
    from prefect import get_client
    from prefect.artifacts import Artifact
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    workspace, *_ = trained
    artifact = Artifact.get("forecasting-chicago-leaderboard")
    assert artifact is not None and artifact.type == "markdown"
    markdown = str(artifact.data)
    champion = MlflowClient().get_model_version_by_alias("forecasting-chicago", "champion")
    # Every model run is ranked and linked, the champion with its registry version.
    # Every link opens MLflow's model-training pages, not its GenAI overview.
    training = "?workflowType=machine_learning)"
    for run in model_runs():
        assert f"/runs/{run.info.run_id}{training}" in markdown, run.info.run_name
    version_link = f"#/models/forecasting-chicago/versions/{champion.version}{training}"
    row = next(line for line in markdown.splitlines() if version_link in line)
    assert f"/runs/{champion.run_id}{training}" in row and "champion" in row
    links = re.findall(r"\]\((http[^)]+)\)", markdown)
    assert links and all("?workflowType=machine_learning" in link for link in links)
    assert "## Gate" in markdown and "test_mae, lower is better" in markdown
    dvc_hash = yaml.safe_load((workspace / "data.dvc").read_text())["outs"][0]["md5"]
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(artifact.flow_run_id)
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
        )
    assert flow_run.name == f"forecasting-chicago-quick-data-{dvc_hash[:8]}"
    # The graph draws validation upstream of the data's acceptance, which training follows.
    (validate,) = [run for run in task_runs if run.name.startswith("validate")]
    (accept,) = [run for run in task_runs if run.name.startswith("accept")]
    (prepare,) = [run for run in task_runs if run.name.startswith("prepare")]
    assert validate.id in {upstream.id for upstream in accept.task_inputs["wait_for"]}
    assert accept.id in {upstream.id for upstream in prepare.task_inputs["data"]}
    trains = [run for run in task_runs if run.name.startswith("train")]
    assert trains and all(
        prepare.id in {upstream.id for upstream in run.task_inputs["prepared"]} for run in trains
    )


def test_the_registered_model_and_its_versions_describe_themselves(trained) -> None:
    client = MlflowClient()
    registered = client.get_registered_model("forecasting-chicago")
    assert registered.tags["seqpipe.family"] == "forecasting"
    assert registered.tags["seqpipe.task"] == "chicago"
    assert registered.tags["gate.metric"] == "test_mae"
    assert registered.tags["gate.direction"] == "lower is better"
    assert registered.tags["gate.baseline"] == "naive_seasonal"
    assert "test_mae (lower is better)" in registered.description
    champion = client.get_model_version_by_alias("forecasting-chicago", "champion")
    full = client.get_run(champion.run_id).data.metrics["test_mae"]
    assert champion.tags["score"] == f"{full:.4g}"  # shown rounded, kept whole in the metric
    assert champion.tags["evaluation_key"].startswith("data ")  # readable, not JSON
    # One baseline, by name, in the description and the gate's reason.
    assert "naive_seasonal" in champion.description
    assert "baseline" not in champion.description.replace("naive_seasonal", "")


def test_the_pipeline_row_names_the_champion_and_every_model_score(trained) -> None:
    client = MlflowClient()
    experiment = client.get_experiment_by_name("forecasting-chicago").experiment_id
    (pipeline,) = client.search_runs([experiment], "tags.`seqpipe.kind` = 'pipeline'")
    champion = client.get_model_version_by_alias("forecasting-chicago", "champion")
    champion_run = client.get_run(champion.run_id)
    assert pipeline.data.tags["champion.forecasting-chicago"] == (
        f"{champion_run.info.run_name} v{champion.version}"
    )
    score = champion_run.data.metrics["test_mae"]
    assert pipeline.data.metrics["champion.forecasting-chicago.test_mae"] == score
    for run in model_runs():
        name = run.info.run_name
        assert pipeline.data.metrics[f"{name}.test_mae"] == run.data.metrics["test_mae"]
        # The runs table finds the champion by its tag, and only the champion.
        is_champion = run.info.run_id == champion.run_id
        assert (run.data.tags.get("seqpipe.champion") == "forecasting-chicago") == is_champion
        # Its logged model is named after it in MLflow's list of logged models.
        logged = mlflow.get_logged_model(run.data.tags["seqpipe.model_uri"].split("/")[-1])
        assert logged.name == name


def test_every_run_records_data_version_commit_config_and_plots(trained) -> None:
    workspace, *_ = trained
    dvc_hash = yaml.safe_load((workspace / "data.dvc").read_text())["outs"][0]["md5"]
    runs = model_runs()
    assert len(runs) == 3
    for run in runs:
        assert run.data.tags["data.dvc_hash"] == dvc_hash
        assert run.data.tags["git.commit"]
        assert run.data.params["frequency"] == "D" and run.data.params["seasonal_period"] == "7"
        assert run.data.params["unit"] == "thousand riders"
        contexts = {
            tag.value
            for item in run.inputs.dataset_inputs
            for tag in item.tags
            if tag.key == "mlflow.data.context"
        }
        assert {"training", "validation", "test"} <= contexts  # the UI's Dataset column
        for metric in (
            "test_mae",
            "test_rmse",
            "test_mae_naive",
            "test_mae_vs_naive",
            "train_seconds",
        ):
            assert metric in run.data.metrics
        artifacts = {item.path for item in MlflowClient().list_artifacts(run.info.run_id)}
        assert "forecast_vs_actual.png" in artifacts and "config.json" in artifacts
    gru = next(run for run in runs if run.data.tags["seqpipe.model"] == "gru")
    assert gru.data.params["window"] == "28" and "training.optimizer.name" in gru.data.params
    history = MlflowClient().get_metric_history(gru.info.run_id, "val_loss")
    assert len(history) >= 1  # per-epoch metrics from the Keras callback
    assert "validation_loss" not in gru.data.metrics  # each metric under one name
    assert not any(name.startswith("opt_") for name in gru.data.params)
    sarima = next(run for run in runs if run.data.tags["seqpipe.model"] == "sarima")
    assert sarima.data.params["seasonal_order"] == "[0, 1, 1, 7]"
    assert sarima.data.params["trend"] == "n"
    assert not any(name.startswith(("architecture.", "window")) for name in sarima.data.params)
    naive = next(run for run in runs if run.data.tags["seqpipe.model"] == "naive_seasonal")
    assert naive.data.metrics["test_mae_vs_naive"] == pytest.approx(1.0)
    assert naive.data.metrics["test_days"] == 606


def test_the_registry_holds_the_flows_pick_with_a_description(trained) -> None:
    (version,) = MlflowClient().search_model_versions("name = 'forecasting-chicago'")
    champion = MlflowClient().get_model_version_by_alias("forecasting-chicago", "champion")
    assert champion.version == version.version
    best = min(model_runs(), key=lambda run: run.data.metrics["test_mae"])
    assert version.run_id == best.info.run_id
    assert "test_mae" in version.description and "gate: promoted" in version.description
    experiment = MlflowClient().get_experiment_by_name("forecasting-chicago")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_the_leaderboard_says_which_unit_the_errors_are_in(trained) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["leaderboard", "forecasting"])
    assert result.exit_code == 0, result.output
    assert "leaderboard (best test_mae first, in thousand riders)" in result.output


def test_the_champion_reproduces_from_its_data_version_and_config(trained) -> None:
    from pipelines.reproduce import KIND, reproduce

    workspace, *_ = trained
    before = len(model_runs())
    result = reproduce("forecasting-chicago@champion", workspace)
    assert result.metric == "test_mae" and result.relative_difference <= 0.01
    assert result.recorded == model_runs_by_id()[result.original.run_id].data.metrics["test_mae"]
    again = MlflowClient().get_run(result.run_id)
    assert again.data.tags["seqpipe.kind"] == KIND
    assert again.data.tags["data.dvc_hash"] == result.original.data_version
    assert again.data.metrics["relative_difference"] == pytest.approx(result.relative_difference)
    assert len(model_runs()) == before  # a reproduction is no candidate for the leaderboard


def model_runs_by_id() -> dict:
    return {run.info.run_id: run for run in model_runs()}


def test_rerun_with_unchanged_data_and_config_is_cached(trained) -> None:
    from pipelines.flow import pipeline_flow

    workspace, config, *_ = trained
    dvc_file = (workspace / "data.dvc").read_text()
    before = len(model_runs())
    pipeline_flow("forecasting", profile="quick", config_path=str(config))
    assert len(model_runs()) == before  # nothing retrained, nothing re-logged
    assert (workspace / "data.dvc").read_text() == dvc_file  # re-ingest kept the DVC hash
    # The cached validation's report is still on the new pipeline run.
    client = MlflowClient()
    experiment = client.get_experiment_by_name("forecasting-chicago").experiment_id
    (latest,) = client.search_runs(
        [experiment],
        "tags.`seqpipe.kind` = 'pipeline'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    artifacts = [item.path for item in client.list_artifacts(latest.info.run_id, "validation")]
    assert artifacts == ["validation/validation.json", "validation/validation.md"]


def test_failed_validation_trains_nothing_and_keeps_the_champion(trained, chicago) -> None:
    from pipelines.flow import pipeline_flow

    workspace, *_ = trained
    champion = MlflowClient().get_model_version_by_alias("forecasting-chicago", "champion").version
    before = len(model_runs())
    corrupted = chicago.copy()
    corrupted.loc[100, "ridership"] = -1.0
    corrupted = corrupted.drop(index=200)
    path = workspace / "corrupted.csv"
    corrupted.to_csv(path, index=False)
    config = write_config(
        workspace, dataset={**CHICAGO["dataset"], "source": "file", "path": str(path)}
    )
    with pytest.raises(DataValidationError, match=r"ridership.*-1\.0"):
        pipeline_flow("forecasting", profile="quick", config_path=str(config))
    assert len(model_runs()) == before
    after = MlflowClient().get_model_version_by_alias("forecasting-chicago", "champion").version
    assert after == champion
    failed = MlflowClient().search_runs(
        [MlflowClient().get_experiment_by_name("forecasting-chicago").experiment_id],
        "tags.`seqpipe.kind` = 'pipeline' and attributes.status = 'FAILED'",
    )
    assert failed, "the failed pipeline run is kept for the UI"
    artifacts = {
        item.path for item in MlflowClient().list_artifacts(failed[0].info.run_id, "validation")
    }
    assert {"validation/validation.json", "validation/validation.md"} <= artifacts
    table = MlflowClient().download_artifacts(failed[0].info.run_id, "validation/validation.md")
    report = Path(table).read_text()
    assert report.startswith("# Validation of") and "**Failed**" in report
    # Failed expectations come first, each with the values that broke it.
    rows = [line for line in report.splitlines() if line.startswith("| ")][1:]  # no header
    failed_rows = [row for row in rows if row.startswith("| **no**")]
    assert rows[: len(failed_rows)] == failed_rows and len(failed_rows) < len(rows)
    assert any("ridership" in row and "-1.0" in row for row in failed_rows), failed_rows


def test_users_own_weekly_series_from_a_file(prefect_server, workspace, chicago) -> None:
    from pipelines.flow import pipeline_flow

    weekly = (
        chicago.set_index("date")[["ridership", "temp"]]
        .resample("W-SUN")
        .agg({"ridership": "sum", "temp": "mean"})
        .iloc[1:-1]
        .rename(columns={"ridership": "riders", "temp": "mean_temp"})
        .rename_axis("week")
        .reset_index()
    )
    path = workspace / "weekly.csv"
    weekly.to_csv(path, index=False)
    config = write_config(
        workspace,
        window=8,
        dataset={
            "name": "clarklake-weekly",
            "source": "file",
            "path": str(path),
            "date_column": "week",
            "target_column": "riders",
            "frequency": None,
            "seasonal_period": None,
            "target_max": 500.0,
            "start_date": None,
            "end_date": None,
        },
        split={"train_end": "2012-12-31", "validation_end": "2014-06-30", "test_end": None},
        models=[
            {"name": "naive_seasonal", "features": "univariate"},
            {"name": "arima", "features": "univariate"},
            {"name": "linear"},
        ],
    )
    pipeline_flow("forecasting", profile="quick", config_path=str(config))
    runs = model_runs("forecasting-clarklake-weekly")
    assert {run.data.tags["seqpipe.registered_model"] for run in runs} == {
        "forecasting-clarklake-weekly"
    }
    assert all(run.data.params["dataset.target_column"] == "riders" for run in runs)
    assert all(run.data.params["unit"] == "riders" for run in runs)  # none set: the column's
    # The flow registers its pick only; every other run stays tracked, saying why.
    (version,) = MlflowClient().search_model_versions("name = 'forecasting-clarklake-weekly'")
    assert version.run_id in {run.info.run_id for run in runs}
    others = [run for run in runs if run.info.run_id != version.run_id]
    assert {run.data.tags["gate.decision"] for run in others} == {"not registered"}


def test_a_failing_model_does_not_sink_the_others(prefect_server, workspace) -> None:
    from pipelines.flow import ModelsFailed, pipeline_flow

    # The linear model forecasts from the whole window and refuses seq2seq output.
    config = write_config(
        workspace,
        models=[
            {"name": "naive_seasonal", "features": "univariate"},
            {"name": "linear", "output": "seq2seq"},
            {"name": "gru"},
        ],
    )
    with pytest.raises(ModelsFailed) as raised:
        pipeline_flow("forecasting", profile="quick", config_path=str(config))
    assert list(raised.value.failures) == ["chicago linear-multi-h1-seq2seq"]
    assert "use output seq2vec" in raised.value.failures["chicago linear-multi-h1-seq2seq"]
    (decision,) = raised.value.decisions  # the others were registered and gated
    assert decision.promoted
    runs = {run.data.tags["seqpipe.model"]: run for run in model_runs()}
    assert runs["linear"].info.status == "FAILED"
    assert "use output seq2vec" in runs["linear"].data.tags["seqpipe.error"]
    assert {runs["gru"].info.status, runs["naive_seasonal"].info.status} == {"FINISHED"}


def test_stages_run_as_separate_steps_train_once_and_register_last(
    prefect_server, tmp_path, workspace_env
) -> None:
    """What the Kubeflow steps do: validate, then train and evaluate, then register, each a
    flow run of its own; the later steps find the earlier ones' work cached."""
    from pipelines.flow import pipeline_flow

    with workspace_env(tmp_path):
        config = str(write_config(tmp_path, models=TINY["models"][:2]))
        assert pipeline_flow("forecasting", config_path=config, until="validate") == []
        assert MlflowClient().get_experiment_by_name("forecasting-chicago") is not None
        assert model_runs() == []
        assert pipeline_flow("forecasting", config_path=config, until="evaluate") == []
        trained = {run.info.run_id for run in model_runs()}
        assert len(trained) == 2
        assert MlflowClient().search_registered_models() == []  # nothing registered yet
        decisions = pipeline_flow("forecasting", config_path=config, until="register")
        assert {run.info.run_id for run in model_runs()} == trained  # nothing retrained
        assert [decision.promoted for decision in decisions] == [True]
