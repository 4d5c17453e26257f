"""The text classification flows under Prefect, end to end on the real texts with tiny training."""

from __future__ import annotations

import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from components.core.config import deep_merge
from components.core.validation import DataValidationError
from components.core.versioning import file_md5
from components.families.textclf.family import TextclfFamily

pytestmark = pytest.mark.slow

SMALL_VECTORIZER = {"vectorizer": {"vocabulary_size": 2000, "sequence_length": 48}}
TINY = {
    "tasks": {
        name: deep_merge(task, SMALL_VECTORIZER)
        for name, task in yaml.safe_load(TextclfFamily.default_config.read_text())["tasks"].items()
    },
    "architecture": {"embedding_dim": 16, "units": 8, "dropout": 0.0},
    "training": {
        "epochs": 1,
        "patience": 1,
        "batch_size": 64,
        "max_train_batches": 20,
        "optimizer": {"name": "adam", "learning_rate": 0.01},
    },
    "pretraining": {"epochs": 1, "batch_size": 64, "max_train_batches": 3},
    "optimizer_study": {"epochs": 2, "max_train_batches": 3},
    "gate_baseline": "majority_class",
    "parallel_models": 2,
    "models": [{"name": "gru"}, {"name": "lstm", "pretrained": True}],
    "profiles": {"quick": {}},
}
REGISTERED = ["textclf-finefoods", "textclf-shakespeare-genre"]


def write_config(directory: Path, name: str = "textclf-test.yaml", **overrides) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump({**TINY, **overrides}, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def trained(prefect_server, tmp_path_factory, workspace_env):
    """A workspace where the flow ran once on both tasks; yields (workspace, config, seconds)."""
    from pipelines.flow import pipeline_flow

    workspace = tmp_path_factory.mktemp("textclf-workspace")
    with workspace_env(workspace):
        config = write_config(workspace)
        started = time.perf_counter()
        pipeline_flow("textclf", profile="quick", config_path=str(config))
        yield workspace, config, time.perf_counter() - started


def experiment_ids(task: str | None = None) -> list[str]:
    """One experiment per task: textclf-<task>."""
    client = MlflowClient()
    tasks = [task] if task else ["finefoods", "shakespeare-genre"]
    return [client.get_experiment_by_name(f"textclf-{name}").experiment_id for name in tasks]


def model_runs(task: str | None = None):
    return MlflowClient().search_runs(experiment_ids(task), "tags.`seqpipe.kind` = 'model'")


def test_each_task_ends_with_a_champion_that_classifies_raw_strings(trained) -> None:
    for name, labels in zip(
        REGISTERED,
        [
            ["great", "other"],
            ["comedies", "histories", "problems", "roman", "romances", "tragedies"],
        ],
        strict=True,
    ):
        champion = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        predicted = champion.predict(
            [
                "This tea is wonderful, I buy it every month.",
                "O, what a noble mind is here o'erthrown!",
            ]
        )
        columns = [f"probability_{label}" for label in labels]
        assert list(predicted.columns) == ["label", *columns]
        assert predicted[columns].sum(axis=1).round(5).eq(1).all()
        assert set(predicted["label"]) <= set(labels)


def test_runs_record_metrics_plots_baseline_and_data_version(trained) -> None:
    workspace, *_ = trained
    dvc = yaml.safe_load((workspace / "data.dvc").read_text())["outs"][0]
    assert dvc["nfiles"] == 2  # both tasks' raw tables are versioned under data/
    assert sorted(path.name for path in (workspace / "data" / "raw").iterdir()) == [
        "textclf-finefoods.csv",
        "textclf-shakespeare-genre.csv",
    ]
    client = MlflowClient()
    for task, registered in zip(["finefoods", "shakespeare-genre"], REGISTERED, strict=True):
        runs = {
            run.data.tags["seqpipe.model"]
            + ("-pretrained" if "pretrained" in run.info.run_name else ""): run
            for run in model_runs(task)
        }
        assert set(runs) == {"tfidf_logreg", "gru", "lstm-pretrained"}
        baseline = runs["tfidf_logreg"].data.metrics
        for key in ("gru", "lstm-pretrained"):
            run = runs[key]
            metrics = run.data.metrics
            raw = workspace / run.data.tags["data.path"]
            assert (
                run.data.tags["data.file_md5"] == file_md5(raw) and raw.name == f"{registered}.csv"
            )
            assert run.data.tags["data.dvc_hash"].endswith(".dir")
            assert run.data.tags["seqpipe.registered_model"] == registered
            for name in (
                "test_accuracy",
                "test_macro_f1",
                "test_accuracy_baseline",
                "test_macro_f1_baseline",
            ):
                assert name in metrics, (key, name)
            assert metrics["test_macro_f1_baseline"] == baseline["test_macro_f1"]
            assert any(name.startswith("test_precision_") for name in metrics)
            assert any(name.startswith("test_recall_") for name in metrics)
            artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
            assert {
                "confusion_matrix.png",
                "misclassified.json",
                "learning_curves.png",
                "config.json",
            } <= artifacts
            assert run.data.params["architecture.units"] == "8"
            assert client.get_metric_history(run.info.run_id, "val_loss")
        if task == "shakespeare-genre":  # ingested last: its runs saw the current data/ version
            assert runs["gru"].data.tags["data.dvc_hash"] == dvc["md5"]
        pretrained = runs["lstm-pretrained"]
        assert client.get_metric_history(pretrained.info.run_id, "lm_loss")
        assert "language_model_curves.png" in {
            item.path for item in client.list_artifacts(pretrained.info.run_id)
        }
        assert (
            runs["tfidf_logreg"].data.tags["mlflow.parentRunId"]
            == runs["gru"].data.tags["mlflow.parentRunId"]
        )


def test_leaderboard_shows_one_table_per_task_with_the_baseline(trained) -> None:
    from pipelines.cli import app

    result = CliRunner().invoke(app, ["leaderboard", "textclf"])
    assert result.exit_code == 0, result.output
    for name in REGISTERED:
        assert f"{name} leaderboard" in result.output
    assert result.output.count("tfidf_logreg") == 2 and "champion" in result.output


def test_rerun_with_unchanged_data_and_config_is_cached(trained) -> None:
    from pipelines.flow import pipeline_flow

    workspace, config, first_seconds = trained
    dvc_file = (workspace / "data.dvc").read_text()
    before = len(model_runs())
    started = time.perf_counter()
    pipeline_flow("textclf", profile="quick", config_path=str(config), task="finefoods")
    assert len(model_runs()) == before  # nothing retrained, nothing re-logged
    assert (workspace / "data.dvc").read_text() == dvc_file
    assert time.perf_counter() - started < first_seconds


def test_bad_data_stops_the_flow_naming_the_failures(trained) -> None:
    from pipelines.flow import pipeline_flow

    workspace, *_ = trained
    champion = MlflowClient().get_model_version_by_alias("textclf-finefoods", "champion").version
    before = len(model_runs())
    rows = [
        ("Great coffee, would buy again.", "great", "train"),
        ("", "great", "train"),
        ("Stale and bitter.", "other", "train"),
        ("Lovely tea.", "great", "validation"),
        ("1234 5678", "other", "validation"),
        ("Too sweet for me.", "other", "validation"),
        ("Perfect snack.", "great", "test"),
        ("Arrived broken.", "other", "test"),
    ]
    path = workspace / "bad-reviews.csv"
    pd.DataFrame(rows, columns=["review", "sentiment", "split"]).to_csv(path, index=False)
    task = {
        "source": "imdb_files",
        "path": str(path),
        "labels": ["great", "other"],
        "min_class_share": 0.0,
        "max_class_share": 1.0,
    }
    config = write_config(workspace, "textclf-bad.yaml", tasks={"finefoods": task})
    with pytest.raises(DataValidationError) as raised:
        pipeline_flow("textclf", profile="quick", config_path=str(config))
    message = str(raised.value)
    assert "words_in_text" in message and "at rows [1, 4]" in message  # blank, numbers only
    assert len(model_runs()) == before
    assert (
        MlflowClient().get_model_version_by_alias("textclf-finefoods", "champion").version
        == champion
    )


def test_optimizer_study_compares_five_optimizers_under_one_parent_run(
    trained, monkeypatch
) -> None:
    from prefect.settings import PREFECT_API_URL

    from pipelines.cli import app

    _, config, _ = trained
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())  # the session's server
    # No --model: the config's first model that is not a baseline, gru.
    arguments = ["study", "textclf", "optimizers", "--task", "finefoods", "--config", str(config)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "textclf finefoods: gru, optimizers study" in result.output
    names = ["adagrad", "adam", "momentum", "rmsprop", "sgd"]
    assert all(name in result.output for name in names)
    client = MlflowClient()
    (experiment_id,) = experiment_ids("finefoods")
    (study,) = client.search_runs([experiment_id], "tags.`seqpipe.study` = 'optimizers'")
    assert "optimizer_study.png" in {item.path for item in client.list_artifacts(study.info.run_id)}
    trials = client.search_runs(
        [experiment_id],
        f"tags.`mlflow.parentRunId` = '{study.info.run_id}' "
        "and tags.`seqpipe.kind` = 'optimizer-trial'",
    )
    assert sorted(run.data.tags["seqpipe.optimizer"] for run in trials) == names
    assert {run.data.tags["seqpipe.model"] for run in trials} == {"gru"}
    assert all(len(client.get_metric_history(run.info.run_id, "val_loss")) == 2 for run in trials)
