"""A growing source under the flow: new data is checked against the champion's, failed or
drifted data is set aside and never becomes current, and a real change can be accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from components.core.drift import DataDriftError
from components.core.validation import DataValidationError

pytestmark = pytest.mark.slow

NAME = "forecasting-riders"


def config_for(workspace: Path) -> Path:
    path = workspace / "riders.yaml"
    document = {
        "dataset": {
            "name": "riders",
            "source": "file",
            "path": "riders.csv",
            "date_column": "date",
            "target_column": "ridership",
            "target_min": 0.0,  # riders are never negative: the suite stops such data
            # No upper bound: a level that triples is the drift check's to stop.
        },
        "split": {
            "train_start": "2012-01-01",
            "train_end": "2013-12-31",
            "validation_end": "2014-06-30",
            "test_end": None,
        },
        "models": [{"name": "naive_seasonal", "features": "univariate"}],
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def arrive(
    workspace: Path, chicago: pd.DataFrame, until: str, tripled_from: str | None = None
) -> None:
    """The source as it stands on ``until``: the ridership and its date, a level tripled from
    ``tripled_from`` on."""
    frame = chicago.loc[chicago["date"] <= until, ["date", "ridership"]].copy()
    if tripled_from:
        frame.loc[frame["date"] >= tripled_from, "ridership"] *= 3
    frame.to_csv(workspace / "riders.csv", index=False)


def registry_state() -> tuple[int, dict[str, str]]:
    client = MlflowClient()
    versions = client.search_model_versions(f"name = '{NAME}'")
    return len(versions), dict(client.get_registered_model(NAME).aliases)


def last_pipeline_run():
    client = MlflowClient()
    experiment = client.get_experiment_by_name(NAME)
    return client.search_runs(
        [experiment.experiment_id],
        "tags.`seqpipe.kind` = 'pipeline'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )[0]


def data_dvc(workspace: Path) -> str:
    return yaml.safe_load((workspace / "data.dvc").read_text())["outs"][0]["md5"]


def test_drifted_data_is_set_aside_until_accepted(prefect_server, workspace, chicago) -> None:
    from pipelines.cli import app
    from pipelines.flow import pipeline_flow

    config = str(config_for(workspace))
    arrive(workspace, chicago, "2014-12-31")
    assert any(decision.promoted for decision in pipeline_flow("forecasting", config_path=config))
    assert last_pipeline_run().data.tags["seqpipe.drift"] == "ok"  # no champion to compare yet

    # A normal month arrives: checked against the champion's data, it passes and is current.
    arrive(workspace, chicago, "2015-01-31")
    first = data_dvc(workspace)
    pipeline_flow("forecasting", config_path=config)
    grown = data_dvc(workspace)
    assert grown != first
    run = last_pipeline_run()
    assert run.data.tags["seqpipe.drift"] in {"ok", "warn"}
    assert run.data.tags["seqpipe.data_status"] == "accepted"
    artifacts = {item.path for item in MlflowClient().list_artifacts(run.info.run_id, "drift")}
    assert {"drift/drift.png", "drift/drift.json", "drift/drift_table.json"} <= artifacts

    # A month whose level tripled: blocked, set aside, nothing registered, no alias moved.
    before = registry_state()
    arrive(workspace, chicago, "2015-02-28", tripled_from="2015-02-01")
    with pytest.raises(DataDriftError, match=r"ridership.*level .* reaches drift\.level\.block"):
        pipeline_flow("forecasting", config_path=config)
    assert registry_state() == before
    assert data_dvc(workspace) == grown  # the current data is still January's
    run = last_pipeline_run()
    assert run.info.status == "FAILED" and run.data.tags["seqpipe.data_status"] == "rejected"
    kept = Path(run.data.tags["data.rejected_path"])
    assert (kept / "forecasting-riders.csv").exists()
    assert json.loads((kept / "drift.json").read_text())["verdict"] == "block"

    listed = CliRunner().invoke(app, ["data", "rejected", "forecasting"])
    assert listed.exit_code == 0 and "forecasting-riders" in listed.output

    # The user knows the change is real: accepted, the same data passes and becomes current.
    accepted = CliRunner().invoke(app, ["data", "accept", "forecasting", "--config", config])
    assert accepted.exit_code == 0, accepted.output
    pipeline_flow("forecasting", config_path=config)
    run = last_pipeline_run()
    assert run.data.tags["seqpipe.data_status"] == "accepted"
    assert run.data.tags["data.drift_reference"].startswith("data accepted on")
    assert data_dvc(workspace) != grown


def test_data_failing_validation_never_becomes_current(prefect_server, workspace, chicago) -> None:
    from pipelines.flow import pipeline_flow

    config = str(config_for(workspace))
    arrive(workspace, chicago, "2014-12-31")
    pipeline_flow("forecasting", config_path=config)
    current = data_dvc(workspace)
    before = registry_state()
    broken = chicago.loc[chicago["date"] <= "2015-01-31", ["date", "ridership"]].copy()
    broken.loc[broken.index[-1], "ridership"] = -5.0
    broken.to_csv(workspace / "riders.csv", index=False)
    with pytest.raises(DataValidationError):
        pipeline_flow("forecasting", config_path=config)
    assert data_dvc(workspace) == current and registry_state() == before
    run = last_pipeline_run()
    kept = Path(run.data.tags["data.rejected_path"])
    assert (kept / "validation.json").exists()
    # Broken data is fixed at its source, never accepted as it is.
    from components.core import intake
    from components.core.errors import UserError

    with pytest.raises(UserError, match="only drifted data can be accepted"):
        intake.accept_on_purpose(workspace, "forecasting-riders")


def test_a_rerun_on_unchanged_data_registers_nothing(prefect_server, workspace, chicago) -> None:
    from pipelines.flow import pipeline_flow

    config = str(config_for(workspace))
    arrive(workspace, chicago, "2014-12-31")
    first = pipeline_flow("forecasting", config_path=config)
    state = registry_state()
    description = MlflowClient().get_model_version(NAME, first[0].version).description
    again = pipeline_flow("forecasting", config_path=config)
    assert registry_state() == state
    assert [decision.promoted for decision in again] == [False]
    assert "already registered" in again[0].reason
    assert MlflowClient().get_model_version(NAME, first[0].version).description == description
